"""eval.generate with the transformers backend on a tiny local model: protocol, seeds, kill-and-resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eval import protocol
from eval.generate import main as generate
from eval.store import Appender, read_records


def args(model, bench: Path, out: Path, *extra: str, backend: str = "hf") -> list[str]:
    """eval.generate's arguments for the two small benchmarks (also used by tests/test_vllm_generate.py)."""
    return ["--model", str(model), "--output-dir", str(out), "--data-dir", str(bench), "--backend", backend,
            "--benchmarks", "AIME24,MATH-500", "--max-new-tokens", "8", *extra]  # fmt: skip


def keys(path: Path) -> list[tuple[int, int]]:
    return [(r["index"], r["sample"]) for r in read_records(path)]


def test_protocol_defaults_match_the_published_ones():
    assert protocol.eval_prompt("P") == "P Please reason step by step, and put your final answer within \\boxed{}."
    assert (protocol.EVAL_TEMPERATURE, protocol.EVAL_TOP_P, protocol.EVAL_MAX_NEW_TOKENS) == (0.7, 0.9, 31_744)
    assert protocol.EVAL_SAMPLES["AIME24"] == 32 and protocol.EVAL_SAMPLES["MATH-500"] == 4
    assert protocol.EVAL_SAMPLES["HMMT25"] == 32


def test_records_carry_seed_settings_and_length(tiny_model_dir, bench_dir, tmp_path):
    assert generate(args(tiny_model_dir, bench_dir, tmp_path, "--n", "3", "--limit", "2", "--seed", "100")) == 0
    records = list(read_records(tmp_path / "generations" / "AIME24.jsonl"))
    assert sorted((r["index"], r["sample"]) for r in records) == [(i, k) for i in range(2) for k in range(3)]
    assert {r["seed"] for r in records} == {100, 101, 102}
    first = records[0]
    assert (first["temperature"], first["top_p"], first["max_new_tokens"]) == (0.7, 0.9, 8)
    assert first["problem"] == "What is 0 + 1?" and first["ground_truth"] == "1"
    assert 1 <= first["response_tokens"] <= 8 and first["finish_reason"] in ("stop", "length")


def test_rerun_generates_nothing_new(tiny_model_dir, bench_dir, tmp_path, capsys):
    assert generate(args(tiny_model_dir, bench_dir, tmp_path, "--n", "2", "--limit", "2")) == 0
    before = (tmp_path / "generations" / "AIME24.jsonl").read_bytes()
    assert generate(args(tiny_model_dir, bench_dir, tmp_path, "--n", "2", "--limit", "2")) == 0
    assert (tmp_path / "generations" / "AIME24.jsonl").read_bytes() == before
    assert "AIME24: 4 samples already generated" in capsys.readouterr().out


def responses(run: Path, name: str) -> dict[tuple[int, int], str]:
    return {(r["index"], r["sample"]): r["response"] for r in read_records(run / "generations" / f"{name}.jsonl")}


def test_sigkill_then_resume_loses_and_duplicates_nothing(tiny_model_dir, bench_dir, tmp_path):
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    assert generate(args(tiny_model_dir, bench_dir, reference, "--n", "8")) == 0

    command = [sys.executable, "-m", "eval.generate", *args(tiny_model_dir, bench_dir, resumed, "--n", "8")]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = resumed / "generations" / "AIME24.jsonl"
    # until 10 records are written (however slowly a busy machine writes them), or the run ends first
    while proc.poll() is None and (not target.exists() or len(target.read_bytes().splitlines()) < 10):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    interrupted = len(keys(target))
    assert 10 <= interrupted < 96, "the kill should land mid-run"

    assert generate(args(tiny_model_dir, bench_dir, resumed, "--n", "8")) == 0
    for name in ("AIME24", "MATH-500"):
        got, want = keys(resumed / "generations" / f"{name}.jsonl"), keys(reference / "generations" / f"{name}.jsonl")
        assert len(got) == len(set(got)) == 96
        assert set(got) == set(want)
        assert responses(resumed, name) == responses(reference, name)  # a sample depends only on prompt and seed


def as_at_a_terminal() -> None:
    """The child's Ctrl-C as a terminal delivers it, whatever this process inherited: a script started in the
    background (`cmd &` without job control, as CI may be) ignores SIGINT, and so would every process it starts."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_ctrl_c_during_generation_is_one_line_and_keeps_what_was_written(tiny_model_dir, bench_dir, tmp_path):
    command = [sys.executable, "-m", "eval.generate", *args(tiny_model_dir, bench_dir, tmp_path, "--n", "8")]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=as_at_a_terminal
    )
    target = tmp_path / "generations" / "AIME24.jsonl"
    while proc.poll() is None and (not target.exists() or len(target.read_bytes().splitlines()) < 5):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate()
    assert proc.returncode == 130 and "Traceback" not in err, err[-3000:]
    assert err.rstrip().splitlines()[-1] == (
        "interrupted: every record written so far is kept; rerun the same command to go on"
    )
    assert len(keys(target)) >= 5


def test_a_torn_last_line_is_dropped_on_resume(tmp_path, capsys):
    path = tmp_path / "g.jsonl"
    path.write_text(json.dumps({"index": 0, "sample": 0}) + "\n" + '{"index": 0, "sam')
    assert keys(path) == [(0, 0)]
    assert f"note: {path}:2: an incomplete last line (a write cut short) is skipped" in capsys.readouterr().err
    with Appender(path) as out:
        out.write([{"index": 0, "sample": 1}])
    assert keys(path) == [(0, 0), (0, 1)]


def test_a_damaged_line_inside_a_file_is_one_line_naming_file_and_line(tiny_model_dir, bench_dir, tmp_path, capsys):
    from eval.grade import main as grade

    assert generate(args(tiny_model_dir, bench_dir, tmp_path, "--n", "2", "--limit", "2")) == 0
    path = tmp_path / "generations" / "AIME24.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + '{"index": 1, "sam\n' + "".join(lines[2:]))  # a torn line that is not the last
    before = path.read_bytes()
    capsys.readouterr()
    for command in (lambda: generate(args(tiny_model_dir, bench_dir, tmp_path, "--n", "2", "--limit", "2")),
                    lambda: grade(["--input-dir", str(tmp_path)])):  # fmt: skip
        assert command() == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}:2: not a JSON record (") and err.count("\n") == 1, err
    assert path.read_bytes() == before


def test_a_response_with_unicode_line_separators_stays_one_record(tmp_path):
    """A random model writes anything: U+2028, U+0085 and form feeds stay inside their record (JSON keeps them raw
    with ensure_ascii=False; str.splitlines() would cut the line there, eval.store's reader does not)."""
    path = tmp_path / "g.jsonl"
    with Appender(path) as out:
        out.write([{"index": 0, "sample": 0, "response": "a\u2028b\x85c\x0cd"}, {"index": 0, "sample": 1}])
    assert keys(path) == [(0, 0), (0, 1)]
    assert next(read_records(path))["response"] == "a\u2028b\x85c\x0cd"
    with Appender(path) as out:  # reopening for a resume keeps both
        out.write([])
    assert keys(path) == [(0, 0), (0, 1)]


def test_missing_benchmark_file_names_the_command_to_make_it(tiny_model_dir, tmp_path, capsys):
    assert (
        generate(
            ["--model", tiny_model_dir, "--output-dir", str(tmp_path), "--data-dir", str(tmp_path), "--backend", "hf"]
        )
        == 2
    )
    assert "python -m data_prep.benchmarks --output-dir" in capsys.readouterr().err


@pytest.mark.parametrize("change", [["--seed", "99"], ["--temperature", "0"], ["--top-p", "0.5"]])
def test_a_rerun_with_other_settings_stops_and_names_both(tiny_model_dir, bench_dir, tmp_path, capsys, change):
    assert generate(args(tiny_model_dir, bench_dir, tmp_path, "--n", "1", "--limit", "2")) == 0
    before = (tmp_path / "generations" / "AIME24.jsonl").read_bytes()
    capsys.readouterr()
    assert generate(args(tiny_model_dir, bench_dir, tmp_path, "--n", "1", "--limit", "2", *change)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--overwrite" in err and "fresh --output-dir" in err
    assert (tmp_path / "generations" / "AIME24.jsonl").read_bytes() == before  # nothing lost
    assert generate(args(tiny_model_dir, bench_dir, tmp_path, "--n", "1", "--limit", "2", *change, "--overwrite")) == 0
    aside = next(tmp_path.glob("replaced-*"))  # what was replaced is kept
    assert (aside / "generations" / "AIME24.jsonl").read_bytes() == before


def test_overwrite_with_a_model_that_does_not_load_loses_nothing(tiny_model_dir, bench_dir, tmp_path, capsys):
    """--overwrite replaces results only once the model loads; the report, which describes them, goes with them."""
    assert generate(args(tiny_model_dir, bench_dir, tmp_path, "--n", "1", "--limit", "2")) == 0
    (tmp_path / "grades").mkdir()
    (tmp_path / "grades" / "AIME24.jsonl").write_text("{}\n")
    (tmp_path / "report.md").write_text("old report")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert generate(["--model", str(tmp_path / "no_such_model"), *args(tiny_model_dir, bench_dir, tmp_path)[2:],
                     "--overwrite"]) == 2  # fmt: skip
    assert "cannot load the model" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_another_model_into_the_same_folder_is_refused(tiny_model_dir, bench_dir, tmp_path, capsys):
    import shutil

    other = tmp_path / "other_model"
    shutil.copytree(tiny_model_dir, other)
    out = tmp_path / "out"
    assert generate(args(tiny_model_dir, bench_dir, out, "--n", "1", "--limit", "1")) == 0
    assert generate(args(str(other), bench_dir, out, "--n", "1", "--limit", "1")) == 2
    err = capsys.readouterr().err
    assert str(Path(tiny_model_dir).resolve()) in err and str(other.resolve()) in err


def test_records_name_the_model_by_its_full_path(tiny_model_dir, bench_dir, tmp_path):
    assert generate(args(tiny_model_dir, bench_dir, tmp_path, "--n", "1", "--limit", "1")) == 0
    (record, *_) = read_records(tmp_path / "generations" / "AIME24.jsonl")
    assert record["model"] == str(Path(tiny_model_dir).resolve()) and record["base_seed"] == 0


def test_a_model_that_does_not_load_is_a_one_line_error(bench_dir, tmp_path, capsys):
    assert generate(args(str(tmp_path / "no_such_model"), bench_dir, tmp_path / "out", "--n", "1")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot load the model") and len(err.strip().splitlines()) == 1


def test_prompts_reach_the_backend_as_token_ids_with_one_bos(tmp_path):
    """A DeepSeek-R1-Distill-style tokenizer (BOS added by the tokenizer *and* written by the chat template):
    the ids sent to vLLM hold the BOS once."""
    from recipe.smoke.tiny_model import build_tokenizer

    tokenizer = build_tokenizer(tmp_path)
    tokenizer.add_special_tokens({"bos_token": "<|begin▁of▁sentence|>"})
    tokenizer.chat_template = (
        "{{ bos_token }}{% for m in messages %}<|User|>{{ m['content'] }}{% endfor %}<|Assistant|>"
    )
    from eval.generate import pending_requests, prompt_ids

    ids = prompt_ids(tokenizer, "What is 1 + 1?")
    assert ids.count(tokenizer.bos_token_id) == 1 and ids[0] == tokenizer.bos_token_id
    (request,) = pending_requests("AIME24", [{"index": 0, "problem": "What is 1 + 1?"}], 1, 0, set(), tokenizer)
    assert request.prompt_ids == ids  # what either backend is handed, untouched


def test_the_vllm_backend_without_vllm_says_where_to_get_it(tiny_model_dir, bench_dir, tmp_path, capsys):
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here (the vLLM lane runs the backend itself)")
    assert generate(args(tiny_model_dir, bench_dir, tmp_path, "--n", "1", "--limit", "1", backend="vllm")) == 2
    err = capsys.readouterr().err
    assert "cannot start the vllm backend: vLLM is not installed" in err and "tests/vllm_lane.sh" in err
    assert not (tmp_path / "generations" / "AIME24.jsonl").exists() or not keys(
        tmp_path / "generations" / "AIME24.jsonl"
    )


def test_on_a_busy_cpu_the_hf_backend_takes_only_the_idle_cores(tiny_model_dir, capsys):
    import torch

    from eval.backends import HFBackend, cpu_threads

    assert [cpu_threads(2, busy) for busy in (0.0, 0.9, 1.6, 2.0, 7.5)] == [2, 1, 1, 1, 1]
    assert cpu_threads(16, 3.2) == 13
    threads = torch.get_num_threads()
    try:
        HFBackend(tiny_model_dir)
        line = capsys.readouterr().out.strip().splitlines()[-1]
        assert line.startswith(f"hf backend on CPU: {torch.get_num_threads()} thread(s), ")
    finally:
        torch.set_num_threads(threads)
