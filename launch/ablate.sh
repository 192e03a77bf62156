#!/usr/bin/env bash
# An ablation of recipe/ablation/NAME.yaml on top of the recipe: MODEL=deepseek|nemotron bash launch/ablate.sh NAME
# shellcheck source=launch/common.sh
source "$(dirname "$0")/common.sh"
name=${1:-}
if [[ -z "$name" || ! -f "$JUSTRL_ROOT/recipe/ablation/$name.yaml" ]]; then
  echo "usage: MODEL=deepseek|nemotron bash launch/ablate.sh NAME [overrides...]" >&2
  echo "unknown ablation '$name'; known: $(justrl_ablations)" >&2
  exit 2
fi
shift
justrl_train "${MODEL:-deepseek}" "$name" "$@"
