#!/usr/bin/env bash
# An ablation of recipe/ablation/NAME.yaml on top of the recipe: MODEL=deepseek|nemotron bash launch/ablate.sh NAME
# (or NAME+NAME: several, applied in that order). Its run is named after them: justrl-<model>-1.5b-NAME.
# shellcheck source=launch/common.sh
source "$(dirname "$0")/common.sh"
name=${1:-}
for one in ${name//+/ }; do
  if [[ ! -f "$JUSTRL_ROOT/recipe/ablation/$one.yaml" ]]; then name=; fi
done
if [[ -z "$name" ]]; then
  echo "usage: MODEL=deepseek|nemotron bash launch/ablate.sh NAME[+NAME...] [overrides...]" >&2
  echo "unknown ablation '${1:-}'; known: $(justrl_names ablation)" >&2
  exit 2
fi
shift
justrl_train "${MODEL:-deepseek}" "$name" "$@"
