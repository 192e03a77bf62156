# shellcheck shell=bash
# Sourced by launch/*.sh. Paths and cluster shape come from the environment; every hyperparameter is in recipe/.
#   DATA_DIR        prepared parquets (data_prep/)         default: <repo>/data
#   CKPT_DIR        checkpoints                             default: <repo>/checkpoints
#   KEEP_CKPTS      newest checkpoints kept, 0 = all        default: 3 (recipe/justrl.yaml)
#   MODEL_PATH      local model dir or hub id               default: the overlay's hub id (recipe/base_model/)
#   NNODES          nodes in the Ray cluster                default: 1  (JustRL: 4)
#   GPUS_PER_NODE   GPUs per node                           default: 8
#   RAY_ADDRESS     join this Ray cluster instead of starting one (see launch/slurm.sbatch)
#   WANDB_API_KEY   also log to Weights & Biases when set
# Extra arguments are passed to verl as Hydra overrides; `--cfg job` (before or after them) prints the resolved config
# and exits. Rerunning a command resumes its run from the newest checkpoint, and says so when it is already complete;
# `trainer.resume_mode=disable` starts afresh and moves the old checkpoints aside (recipe/tools/train.py).
set -euo pipefail
JUSTRL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Paths given relative are read from where the command is run, before the scripts change to the repository.
for var in DATA_DIR CKPT_DIR; do
  if [[ -n "${!var:-}" ]]; then printf -v "$var" '%s' "$(realpath -m "${!var}")"; fi
done
if [[ -e "${MODEL_PATH:-}" || "${MODEL_PATH:-}" == [/.~]* ]]; then MODEL_PATH=$(realpath -m "$MODEL_PATH"); fi

# justrl_train BASE_MODEL ABLATION_OR_EMPTY [HYDRA OVERRIDES...]
justrl_train() {
  local base_model=$1 ablation=$2
  shift 2
  local args=(--config-path "$JUSTRL_ROOT/recipe" --config-name justrl "base_model=$base_model"
    "justrl.data_dir=${DATA_DIR:-$JUSTRL_ROOT/data}" "justrl.checkpoint_dir=${CKPT_DIR:-$JUSTRL_ROOT/checkpoints}"
    "trainer.nnodes=${NNODES:-1}" "trainer.n_gpus_per_node=${GPUS_PER_NODE:-8}")
  if [[ -n "$ablation" ]]; then
    args+=("+ablation@_global_=$ablation" "trainer.experiment_name=justrl-$base_model-1.5b-$ablation")
  fi
  if [[ -n "${KEEP_CKPTS:-}" ]]; then args+=("trainer.max_actor_ckpt_to_keep=$KEEP_CKPTS"); fi
  if [[ -n "${MODEL_PATH:-}" ]]; then args+=("actor_rollout_ref.model.path=$MODEL_PATH"); fi
  if [[ -n "${WANDB_API_KEY:-}" ]]; then args+=("trainer.logger=[console,tensorboard,wandb]"); fi
  cd "$JUSTRL_ROOT"
  exec python -m recipe.tools.train "${args[@]}" "$@"  # the preflight, then verl.trainer.main_ppo
}

justrl_ablations() {
  local f
  for f in "$JUSTRL_ROOT"/recipe/ablation/*.yaml; do basename "$f" .yaml; done | xargs
}
