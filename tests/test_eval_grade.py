"""eval.grade, the command: grades carry their protocol, a rerun under another protocol is refused, and no process
outlives the command, whether it ends normally or by SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from conftest import REPO

from eval.grade import main as grade
from eval.store import read_records


def write_generations(out, count: int = 40, unreduced: bool = False) -> None:
    """Answers i/2 written as \\frac{i}{2}, or, unreduced, as \\frac{2i}{4} (which only math-verify accepts)."""
    (out / "generations").mkdir(parents=True)
    records = [
        {"benchmark": "AIME24", "index": i, "sample": 0, "seed": 0, "problem": f"{i}/2?", "ground_truth": f"{i}/2",
         "response": f"so \\boxed{{\\frac{{{2 * i if unreduced else i}}}{{{4 if unreduced else 2}}}}}",
         "response_tokens": 9, "finish_reason": "stop"}
        for i in range(1, count + 1)
    ]  # fmt: skip
    (out / "generations" / "AIME24.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_grades_record_protocol_and_verifier(tmp_path):
    write_generations(tmp_path)
    assert grade(["--input-dir", str(tmp_path)]) == 0
    grades = list(read_records(tmp_path / "grades" / "AIME24.jsonl"))
    assert len(grades) == 40 and all(g["correct"] for g in grades)
    assert {(g["protocol"], g["verifier"], g["by"]) for g in grades} == {("published", None, "rule")}


def test_a_rerun_under_another_protocol_is_refused_unless_overwritten(tmp_path, capsys):
    write_generations(tmp_path)
    assert grade(["--input-dir", str(tmp_path)]) == 0
    assert grade(["--input-dir", str(tmp_path), "--protocol", "lenient"]) == 2
    err = capsys.readouterr().err
    assert "protocol='published'" in err and "protocol='lenient'" in err and "--overwrite" in err
    (tmp_path / "report.md").write_text("a report of the published grades")
    rules_only = ["--model-verifier", "none"]  # launch/eval.sh's VERIFIER=none
    assert grade(["--input-dir", str(tmp_path), "--protocol", "lenient", "--overwrite", *rules_only]) == 0
    assert {g["protocol"] for g in read_records(tmp_path / "grades" / "AIME24.jsonl")} == {"lenient"}
    aside = next(tmp_path.glob("replaced-*"))  # the grades replaced, and the report that described them, are kept
    assert {g["protocol"] for g in read_records(aside / "grades" / "AIME24.jsonl")} == {"published"}
    assert (aside / "report.md").is_file() and not (tmp_path / "report.md").exists()


def test_overwrite_with_a_verifier_that_cannot_start_loses_nothing(tmp_path, capsys):
    write_generations(tmp_path)
    assert grade(["--input-dir", str(tmp_path)]) == 0
    before = (tmp_path / "grades" / "AIME24.jsonl").read_bytes()
    capsys.readouterr()
    assert grade(["--input-dir", str(tmp_path), "--overwrite", "--model-verifier", "no/such-verifier"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot start the model verifier 'no/such-verifier'")
    assert "--model-verifier none" in err
    assert (tmp_path / "grades" / "AIME24.jsonl").read_bytes() == before and not list(tmp_path.glob("replaced-*"))


def descendants_while_running(proc: subprocess.Popen, seconds: float) -> set[int]:
    seen, deadline = set(), time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            seen |= {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    return seen


def alive(pids: set[int], within: float = 20.0) -> set[int]:
    """The processes of `pids` still running after `within` seconds (the host stops its pool on end-of-file)."""
    deadline = time.monotonic() + within
    while True:
        left = {p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


@pytest.mark.parametrize("ending", ["normal exit", "SIGTERM"])
def test_no_process_outlives_the_command(tmp_path, ending):
    write_generations(tmp_path, count=2000 if ending == "SIGTERM" else 40, unreduced=True)
    command = [sys.executable, "-m", "eval.grade", "--input-dir", str(tmp_path), "--protocol", "lenient"]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ)
    if ending == "SIGTERM":
        seen = descendants_while_running(proc, seconds=8)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    else:
        seen = descendants_while_running(proc, seconds=120)
        assert proc.wait(timeout=120) == 0
    assert seen, "the checker started no process"
    assert alive(seen) == set()
