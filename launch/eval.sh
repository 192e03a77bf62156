#!/usr/bin/env bash
# Evaluate a model on the nine benchmarks with the published protocol: generate, grade, report (eval/).
#   MODEL      hub id, Hugging Face directory or verl checkpoint directory (required; a checkpoint is unpickled
#              to convert it, so evaluate only checkpoints you trust)
#   OUT        results directory                   default: eval_out/<model slug> (run, step and a hash of the path)
#   DATA_DIR   prepared data (data_prep/)          default: data   (benchmarks are prepared there if missing)
#   BACKEND    vllm (all visible GPUs) or hf       default: vllm
#   PROTOCOL   grading protocol, published or lenient (reward/grading.py)             default: published
#   VERIFIER   model verifier for rule-rejected answers, or none                  default: opencompass/CompassVerifier-3B
# Extra arguments go to eval.generate (e.g. --benchmarks AIME24,AIME25). Rerunning resumes where it stopped.
# Relative MODEL, OUT and DATA_DIR are read from where the command is run; the defaults live in the repository.
set -euo pipefail
MODEL=${MODEL:?set MODEL to a hub id, a model directory or a verl checkpoint}
if [[ -e "$MODEL" || "$MODEL" == [/.~]* ]]; then MODEL=$(realpath -m "$MODEL"); fi
if [[ -n "${OUT:-}" ]]; then OUT=$(realpath -m "$OUT"); fi
if [[ -n "${DATA_DIR:-}" ]]; then DATA_DIR=$(realpath -m "$DATA_DIR"); fi
cd "$(dirname "$0")/.."
OUT=${OUT:-$(python -m eval.run_layout "$MODEL")}
DATA_DIR=${DATA_DIR:-data}
VERIFIER=${VERIFIER:-opencompass/CompassVerifier-3B}
verifier=()
if [[ "$VERIFIER" != none ]]; then verifier=(--model-verifier "$VERIFIER"); fi
if [[ ! -f "$DATA_DIR/benchmarks/AIME24.parquet" ]]; then
  python -m data_prep.benchmarks --output-dir "$DATA_DIR/benchmarks"
fi
python -m eval.generate --model "$MODEL" --output-dir "$OUT" --data-dir "$DATA_DIR/benchmarks" \
  --backend "${BACKEND:-vllm}" "$@"
python -m eval.grade --input-dir "$OUT" --protocol "${PROTOCOL:-published}" "${verifier[@]}"
python -m eval.report --input-dir "$OUT"
