#!/usr/bin/env bash
# JustRL-Nemotron-1.5B: GRPO on OpenMath-Nemotron-1.5B, 3,440 steps (recipe/base_model/nemotron.yaml).
# shellcheck source=launch/common.sh
source "$(dirname "$0")/common.sh"
justrl_train nemotron "" "$@"
