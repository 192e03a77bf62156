#!/usr/bin/env bash
# Arms x seeds in one command, then the study's report (recipe/tools/study.py, eval/study.py):
#   bash launch/study.sh --cpu --seeds 1,2,3 --output DIR recipe w_reinforce    # the CPU task, on this machine
#   MODEL=deepseek bash launch/study.sh --seeds 1,2,3 --output DIR recipe kl_loss [--slurm]
# An arm: recipe, NAME or NAME+NAME of recipe/ablation/, or on the CPU task control-random / control-constant; the
# first is the baseline. A rerun skips finished runs and resumes a killed one. The environment of launch/common.sh
# (DATA_DIR, NNODES, GPUS_PER_NODE, RAY_ADDRESS, WANDB_API_KEY) applies to each GPU run.
set -euo pipefail
args=()
output_next=
for arg in "$@"; do  # --output DIR or --output=DIR, read from where the command is run
  if [[ -n "$output_next" ]]; then arg=$(realpath -m "$arg"); fi
  if [[ "$arg" == --output=* ]]; then arg="--output=$(realpath -m "${arg#--output=}")"; fi
  output_next=
  if [[ "$arg" == --output ]]; then output_next=1; fi
  args+=("$arg")
done
cd "$(dirname "$0")/.."
exec python -m recipe.tools.study "${args[@]}"
