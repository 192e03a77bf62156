#!/usr/bin/env bash
# The GPU environment for training (launch/*.sh) and vLLM evaluation, in the order that works on a fresh machine:
#   bash launch/install_gpu.sh            install into the active Python environment (Python 3.10-3.12, CUDA GPUs)
#   bash launch/install_gpu.sh --dry-run  resolve the whole GPU set (pip's resolver, nothing installed) and check the pins
# Why the order: verl[fsdp] pins flash-attn==2.8.3, on PyPI only as a source archive whose setup script imports torch;
# under pip's build isolation there is no torch and `pip install -r requirements.txt` alone stops with
# "No module named 'torch'". So: (1) torch, (2) flash-attn without build isolation, which lets its setup find torch
# and fetch the prebuilt wheel for that torch, CUDA and Python (or compile, see README "GPU install"), (3) the rest.
#   TORCH_INDEX_URL  where torch comes from (default: PyPI), e.g. https://download.pytorch.org/whl/cu130
#   MAX_JOBS         parallel compile jobs if flash-attn has to be built from source (its own setting)
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH=(torch==2.11.0 torchvision==0.26.0 torchaudio==2.11.0)  # what verl 0.9.1's vllm and fsdp extras pin
FLASH_ATTN=flash-attn==2.8.3                                   # verl 0.9.1's flash-attn-cu130torch211 extra
index=()
if [[ -n "${TORCH_INDEX_URL:-}" ]]; then index=(--extra-index-url "$TORCH_INDEX_URL"); fi

if [[ "${1:-}" == "--dry-run" ]]; then
  exec python -m recipe.tools.gpu_install_check "${TORCH[@]}" "$FLASH_ATTN" -r requirements.txt -- "${index[@]}"
fi
set -x
pip install "${index[@]}" "${TORCH[@]}"
pip install packaging ninja wheel setuptools psutil einops  # what flash-attn's setup script imports
pip install --no-build-isolation "$FLASH_ATTN"
pip install "${index[@]}" -r requirements.txt
python -c "import flash_attn, torch, vllm, verl; print('GPU install ok:', torch.__version__, flash_attn.__version__)"
