# shellcheck shell=bash
# Sourced by launch/*.sh. Paths and cluster shape come from the environment; every hyperparameter is in recipe/.
#   DATA_DIR        prepared parquets (data_prep/)         default: <repo>/data
#   CKPT_DIR        checkpoints                             default: <repo>/checkpoints
#   KEEP_CKPTS      newest checkpoints kept, 0 = all        default: 3 (recipe/justrl.yaml)
#   MODEL_PATH      local model dir or hub id               default: the overlay's hub id (recipe/base_model/)
#   NNODES          nodes in the Ray cluster                default: 1  (JustRL: 4)
#   GPUS_PER_NODE   GPUs per node                           default: 8
#   RAY_ADDRESS     join this Ray cluster instead of starting one (see launch/slurm.sbatch)
#   SEED            reseed the data order, mini-batches and rollout (justrl.seed; the run is then named -seedS)
#   WANDB_API_KEY   also log to Weights & Biases when set
# Extra arguments are passed to verl as Hydra overrides; `--cfg job` (before or after them) prints the resolved config
# and exits. A run's name, and so its checkpoint folder, follows from the model, the ablations and SEED
# (recipe/tools/identity.py). Rerunning a command resumes its run from the newest checkpoint, and says so when it is
# already complete; resuming with other settings is refused, naming them; `trainer.resume_mode=disable` starts afresh
# and moves the old checkpoints aside (recipe/tools/train.py).
set -euo pipefail
JUSTRL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Paths given relative are read from where the command is run, before the scripts change to the repository.
for var in DATA_DIR CKPT_DIR; do
  if [[ -n "${!var:-}" ]]; then printf -v "$var" '%s' "$(realpath -m "${!var}")"; fi
done
if [[ -e "${MODEL_PATH:-}" || "${MODEL_PATH:-}" == [/.~]* ]]; then MODEL_PATH=$(realpath -m "$MODEL_PATH"); fi

# justrl_train BASE_MODEL ABLATIONS_OR_EMPTY [HYDRA OVERRIDES...]; ABLATIONS: NAME or NAME+NAME...
justrl_train() {
  local base_model=$1 ablation=$2
  shift 2
  if [[ ! -f "$JUSTRL_ROOT/recipe/base_model/$base_model.yaml" ]]; then
    echo "unknown MODEL '$base_model'; known: $(justrl_names base_model)" >&2
    exit 2
  fi
  local args=(--config-path "$JUSTRL_ROOT/recipe" --config-name justrl "base_model=$base_model"
    "justrl.data_dir=${DATA_DIR:-$JUSTRL_ROOT/data}" "justrl.checkpoint_dir=${CKPT_DIR:-$JUSTRL_ROOT/checkpoints}"
    "trainer.nnodes=${NNODES:-1}" "trainer.n_gpus_per_node=${GPUS_PER_NODE:-8}")
  if [[ -n "$ablation" ]]; then args+=("+ablation@_global_=[${ablation//+/,}]"); fi
  if [[ -n "${SEED:-}" ]]; then args+=("justrl.seed=$SEED"); fi
  if [[ -n "${KEEP_CKPTS:-}" ]]; then args+=("trainer.max_actor_ckpt_to_keep=$KEEP_CKPTS"); fi
  if [[ -n "${MODEL_PATH:-}" ]]; then args+=("actor_rollout_ref.model.path=$MODEL_PATH"); fi
  if [[ -n "${WANDB_API_KEY:-}" ]]; then args+=("trainer.logger=[console,tensorboard,wandb]"); fi
  cd "$JUSTRL_ROOT"
  exec python -m recipe.tools.train "${args[@]}" "$@"  # the preflight, then verl.trainer.main_ppo
}

justrl_names() {  # justrl_names FOLDER: the overlays in recipe/FOLDER/, e.g. justrl_names ablation
  local f
  for f in "$JUSTRL_ROOT/recipe/$1"/*.yaml; do basename "$f" .yaml; done | xargs
}
