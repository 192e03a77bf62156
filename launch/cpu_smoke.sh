#!/usr/bin/env bash
# The recipe through verl's real trainer on a tiny model, without a GPU: 2 GRPO steps, then one line
# `smoke: <steps> steps, score_mean=<x>, grad_norm=<y>, world_size=<ranks>`. See recipe/smoke/run.py.
#   --gpu           the same on one GPU
#   --rollout vllm  verl's own vLLM rollout and weight sync instead of the transformers one (on CPU: the vLLM lane's
#                   environment, tests/vllm_lane.sh)
#   --stages FILE   a stage list (recipe/stages/), one step a stage
#   --ablation NAME an ablation of recipe/ablation/
#   --ray-nodes N   a local Ray cluster of N nodes (ray start --head / --address), verl joining it, one rank a node
#   WORKDIR         keep the tiny model, data, checkpoints and logs here; a rerun resumes (default: a temporary
#                   directory, removed afterwards)
set -euo pipefail
args=()
while [[ "${1:-}" == --* ]]; do
  case "$1" in
    --gpu) args+=(--gpu); shift ;;
    --rollout) args+=(--rollout "$2"); shift 2 ;;
    --stages) args+=(--stages "$(realpath "$2")"); shift 2 ;;
    --ablation) args+=(--ablation "$2"); shift 2 ;;
    --ray-nodes) args+=(--ray-nodes "$2"); shift 2 ;;
    *) break ;;
  esac
done
cd "$(dirname "$0")/.."
if [[ -n "${WORKDIR:-}" ]]; then args+=(--workdir "$WORKDIR"); fi
exec python -m recipe.smoke.run "${args[@]}" "$@"
