#!/usr/bin/env bash
# The slow lane of real trainer runs on CPU, a few minutes each; .ci/run calls it after the main test command. Run
# from the repository root in the test environment.
# Two tests run side by side (pytest-xdist; LANE_WORKERS=1 for one at a time): a run spends most of its start-up
# waiting while Ray's actors start and import verl one after another: on an idle 2-core machine two 2-step smokes side
# by side took 110 s, one alone 81-93 s; the CPU-bound learning runs gain less. Tests that share a run are one
# xdist_group, on one worker. (The trainer runs marked trainer_lane: the learning study of recipe and control, a run
# killed and resumed through a stage list, QuestA's stages, the ablations, two Ray nodes, the validation length.)
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m pytest -m trainer_lane -n "${LANE_WORKERS:-2}" "$@"
