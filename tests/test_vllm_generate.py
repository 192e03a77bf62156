"""eval.generate --backend vllm on CPU (the vLLM lane, tests/vllm_lane.sh): one engine on a tiny local model, records
shaped as the hf backend's, seeds honoured, one BOS in what the engine receives, kill-and-resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from smoke_runs import SILENCE_S
from test_eval_generate import args

from eval.generate import main as generate
from eval.generate import prompt_ids
from eval.store import read_records

pytest.importorskip("vllm", reason="the vLLM lane's environment (tests/vllm_lane.sh)")
pytestmark = pytest.mark.vllm_lane


@pytest.fixture(scope="module")
def deepseek_style_model(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model with a DeepSeek-R1-Distill-style tokenizer: a BOS that the tokenizer adds to any text *and*
    that the chat template writes, so a prompt sent as text would reach the engine with two."""
    import shutil

    from tokenizers import processors
    from transformers import AutoTokenizer

    out = tmp_path_factory.mktemp("deepseek_style")
    shutil.copytree(tiny_model_dir, out, dirs_exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(out)
    tokenizer.bos_token = "<|endoftext|>"
    bos = tokenizer.bos_token_id
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A", pair="<|endoftext|> $A $B", special_tokens=[("<|endoftext|>", bos)]
    )
    tokenizer.chat_template = "{{ bos_token }}" + tokenizer.chat_template
    tokenizer.save_pretrained(out)
    return out


def records(run: Path, name: str = "AIME24") -> dict[tuple[int, int], dict]:
    return {(r["index"], r["sample"]): r for r in read_records(run / "generations" / f"{name}.jsonl")}


def test_vllm_records_match_the_hf_records_in_shape_with_one_bos_and_seeds_honoured(
    deepseek_style_model, bench_dir, tmp_path
):
    from transformers import AutoTokenizer

    runs = {name: tmp_path / name for name in ("hf", "vllm", "vllm_again")}
    extra = ("--n", "3", "--limit", "4", "--seed", "7")
    assert generate(args(deepseek_style_model, bench_dir, runs["hf"], *extra, backend="hf")) == 0
    assert generate(args(deepseek_style_model, bench_dir, runs["vllm"], *extra, backend="vllm")) == 0
    hf, vllm = records(runs["hf"]), records(runs["vllm"])

    assert vllm.keys() == hf.keys() == {(i, k) for i in range(4) for k in range(3)}
    for key, record in vllm.items():
        assert record.keys() == hf[key].keys()
        assert {k: type(v) for k, v in record.items()} == {k: type(v) for k, v in hf[key].items()}
        same = ("problem", "ground_truth", "seed", "temperature", "top_p", "max_new_tokens", "prompt_tokens")
        assert {k: record[k] for k in same} == {k: hf[key][k] for k in same}
        assert record["backend"] == "vllm" and 1 <= record["response_tokens"] <= 8

    tokenizer = AutoTokenizer.from_pretrained(deepseek_style_model)
    problem = vllm[(0, 0)]["problem"]
    ids = prompt_ids(tokenizer, problem)
    assert ids.count(tokenizer.bos_token_id) == 1 and ids[0] == tokenizer.bos_token_id
    text = tokenizer.apply_chat_template([{"role": "user", "content": problem}], tokenize=False,
                                         add_generation_prompt=True)  # fmt: skip
    assert tokenizer(text)["input_ids"].count(tokenizer.bos_token_id) == 2  # what a text prompt would have sent
    assert vllm[(0, 0)]["prompt_tokens"] == len(ids)  # the engine received the ids, BOS once

    # same seed, same text, whatever else the engine is batching: a second run with more samples per problem
    more = ("--n", "5", "--limit", "4", "--seed", "7")
    assert generate(args(deepseek_style_model, bench_dir, runs["vllm_again"], *more, backend="vllm")) == 0
    again = records(runs["vllm_again"])
    assert {key: again[key]["response"] for key in vllm} == {key: r["response"] for key, r in vllm.items()}
    for index in range(4):  # other seeds, other samples
        assert len({again[(index, k)]["response"] for k in range(5)}) >= 3


def test_sigkill_then_resume_loses_duplicates_and_leaves_nothing(tiny_model_dir, bench_dir, tmp_path):
    run = tmp_path / "run"
    extra = ("--n", "16", "--max-new-tokens", "64")
    command = [sys.executable, "-m", "eval.generate", *args(tiny_model_dir, bench_dir, run, *extra, backend="vllm")]
    log = tmp_path / "generate.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    target = run / "generations" / "AIME24.jsonl"
    # until 10 records are written, however slowly a busy machine starts the engine: the limit is silence (neither
    # the log nor the records growing for SILENCE_S), not a number of seconds
    while proc.poll() is None and (not target.exists() or len(target.read_bytes().splitlines()) < 10):
        last = max(p.stat().st_mtime for p in (log, target) if p.exists())
        assert time.time() - last < SILENCE_S, f"no progress for {SILENCE_S} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.05)
    family = psutil.Process(proc.pid).children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)  # the parent only, as `kill -9 <pid>` does: its engines must notice
    proc.wait()
    interrupted = len(records(run))
    assert 10 <= interrupted < 192, "the kill should land mid-run"
    _, alive = psutil.wait_procs(family, timeout=SILENCE_S)  # the engines notice their parent is gone
    assert not alive, f"left running after the kill: {[p.pid for p in alive]}"

    assert generate(args(tiny_model_dir, bench_dir, run, *extra, backend="vllm")) == 0
    for name in ("AIME24", "MATH-500"):
        # eval.store's reader: lines end at "\n" only (a response may hold U+2028, which str.splitlines() splits on)
        got = [(r["index"], r["sample"]) for r in read_records(run / "generations" / f"{name}.jsonl")]
        assert len(got) == len(set(got)) == 192
        assert set(got) == {(i, k) for i in range(12) for k in range(16)}
