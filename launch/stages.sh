#!/usr/bin/env bash
# A stage list of recipe/stages/ on the recipe, each stage from the last one's checkpoint (recipe/tools/stages.py):
#   MODEL=deepseek|nemotron bash launch/stages.sh recipe/stages/FILE.yaml [overrides...]
# Rerun the same command after a kill: finished stages are skipped and the current one resumes.
# shellcheck source=launch/common.sh
source "$(dirname "$0")/common.sh"
file=${1:-}
if [[ ! -f "$file" ]]; then
  echo "usage: MODEL=deepseek|nemotron bash launch/stages.sh recipe/stages/FILE.yaml [overrides...]" >&2
  echo "no stage list '$file'; known: $(justrl_names stages | sed 's/\([^ ]*\)/\1.yaml/g')" >&2
  exit 2
fi
shift
model=${MODEL:-deepseek}
if [[ ! -f "$JUSTRL_ROOT/recipe/base_model/$model.yaml" ]]; then
  echo "unknown MODEL '$model'; known: $(justrl_names base_model)" >&2
  exit 2
fi
exec python -m recipe.tools.stages "$file" \
  --checkpoint-dir "${CKPT_DIR:-$JUSTRL_ROOT/checkpoints}/justrl/stages-$(basename "$file" .yaml)-$model" \
  -- bash "$JUSTRL_ROOT/launch/$model.sh" "$@"
