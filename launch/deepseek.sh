#!/usr/bin/env bash
# JustRL-DeepSeek-1.5B: GRPO on DeepSeek-R1-Distill-Qwen-1.5B, 4,380 steps (recipe/base_model/deepseek.yaml).
# shellcheck source=launch/common.sh
source "$(dirname "$0")/common.sh"
justrl_train deepseek "" "$@"
