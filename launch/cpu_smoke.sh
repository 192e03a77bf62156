#!/usr/bin/env bash
# The recipe through verl's real trainer on a tiny model, without a GPU: 2 GRPO steps, then one closing line
# (recipe/smoke/README.md says what it holds). See recipe/smoke/run.py.
#   --learn         the run that shows the recipe learning (recipe/smoke/learn.yaml sets its steps): held-out accuracy
#                   before and after, ending with `learn: steps=N val_acc=A0->A1 pass@8=P0->P1 score=S0->S1 wall=Ts`
#   --task NAME     the toy task: carry (default: RL must learn correctness) or format (recipe/smoke/toy_task.py)
#   --seed S        with --learn: another seed for the data order, mini-batches and rollout
#   --control NAME  with --learn: constant or random, a reward that must not learn (recipe/smoke/controls.py)
#   --model DIR     a local Hugging Face model instead of the tiny one
#   --gpu           the same on one GPU
#   --rollout vllm  verl's own vLLM rollout and weight sync instead of the transformers one (on CPU: the vLLM lane's
#                   environment, tests/vllm_lane.sh)
#   --stages FILE   a stage list (recipe/stages/), one step a stage (--stage-steps N: N steps a stage)
#   --ablation NAME an ablation of recipe/ablation/ (NAME+NAME: several), run as its own run, cpu-smoke-NAME
#   --ray-nodes N   a local Ray cluster of N nodes (ray start --head / --address), verl joining it, one rank a node
#   WORKDIR         keep the tiny model, data, checkpoints and logs here; a rerun resumes, and a finished run says
#                   `already complete` (default: a temporary directory, removed afterwards)
#   JUSTRL_FORKSERVER=0  start each Ray worker as Ray does, not forked from one that imported torch and verl once
#                   (on CPU with the hf rollout, the default: recipe/cpu/forkserver.py)
set -euo pipefail
args=()
while [[ "${1:-}" == --* ]]; do
  case "$1" in
    --gpu|--learn) args+=("$1"); shift ;;
    --rollout|--ablation|--ray-nodes|--seed|--control|--stage-steps|--task) args+=("$1" "$2"); shift 2 ;;
    --stages|--model) args+=("$1" "$(realpath "$2")"); shift 2 ;;
    *) break ;;
  esac
done
if [[ -n "${WORKDIR:-}" ]]; then args+=(--workdir "$(realpath -m "$WORKDIR")"); fi
cd "$(dirname "$0")/.."
exec python -m recipe.smoke.run "${args[@]}" "$@"
