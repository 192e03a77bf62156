#!/usr/bin/env bash
# The slow lane of real trainer runs on CPU (marked trainer_lane: a run killed and resumed, stage lists), a few
# minutes each; .ci/run calls it after the main test command. Run from the repository root in the test environment.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m pytest -m trainer_lane "$@"
