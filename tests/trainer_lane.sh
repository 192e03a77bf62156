#!/usr/bin/env bash
# The slow lane of real trainer runs on CPU (marked trainer_lane: a run killed and resumed, stage lists), a few
# minutes each; .ci/run calls it after the main test command. Run from the repository root in the test environment.
# Two tests run side by side (pytest-xdist; LANE_WORKERS=1 for one at a time): a run spends most of its start-up
# waiting while Ray's actors start and import verl one after another, so two smokes side by side took 110 s on an idle
# 2-core machine where one alone took 93 s. Tests that share a run are one xdist_group, on one worker.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m pytest -m trainer_lane -n "${LANE_WORKERS:-2}" --dist loadgroup "$@"
