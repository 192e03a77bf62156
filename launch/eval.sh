#!/usr/bin/env bash
# Evaluate a model on the nine benchmarks with the published protocol: generate, grade, report (eval/).
#   MODEL      hub id, Hugging Face directory or verl checkpoint directory (required)
#   OUT        results directory                   default: eval_out/<last part of MODEL>
#   DATA_DIR   prepared data (data_prep/)          default: data   (benchmarks are prepared there if missing)
#   BACKEND    vllm (all visible GPUs) or hf       default: vllm
#   VERIFIER   model verifier for rule-rejected answers, e.g. opencompass/CompassVerifier-3B (optional)
# Extra arguments go to eval.generate (e.g. --benchmarks AIME24,AIME25). Rerunning resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:?set MODEL to a hub id, a model directory or a verl checkpoint}
OUT=${OUT:-eval_out/$(basename "$MODEL")}
DATA_DIR=${DATA_DIR:-data}
if [[ ! -f "$DATA_DIR/benchmarks/AIME24.parquet" ]]; then
  python -m data_prep.benchmarks --output-dir "$DATA_DIR/benchmarks"
fi
python -m eval.generate --model "$MODEL" --output-dir "$OUT" --data-dir "$DATA_DIR/benchmarks" \
  --backend "${BACKEND:-vllm}" "$@"
python -m eval.grade --input-dir "$OUT" ${VERIFIER:+--model-verifier "$VERIFIER"}
python -m eval.report --input-dir "$OUT"
