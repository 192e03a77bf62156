#!/usr/bin/env bash
# The recipe through verl's real trainer on a tiny model, without a GPU: 2 GRPO steps, then one line
# `smoke: <steps> steps, score_mean=<x>, grad_norm=<y>`. `--gpu` runs the same on one GPU. See recipe/smoke/run.py.
#   WORKDIR  keep the tiny model, data and logs here (default: a temporary directory, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
if [[ "${1:-}" == "--gpu" ]]; then args+=(--gpu); shift; fi
if [[ -n "${WORKDIR:-}" ]]; then args+=(--workdir "$WORKDIR"); fi
exec python -m recipe.smoke.run "${args[@]}" "$@"
