"""eval.compare: a paired bootstrap that contains the true difference and excludes 0 only when it should."""

from __future__ import annotations

import json
import random

from eval.compare import compare, main


def write(folder, benchmark: str, rates: list[float], n: int = 32, seed: int = 0) -> None:
    """Grades of problems whose samples are correct with the given rates (seeded)."""
    rng = random.Random(seed)
    (folder / "grades").mkdir(parents=True, exist_ok=True)
    rows = [{"benchmark": benchmark, "index": i, "sample": k, "correct": rng.random() < rate}
            for i, rate in enumerate(rates) for k in range(n)]  # fmt: skip
    (folder / "grades" / f"{benchmark}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_a_clear_improvement_excludes_zero_and_contains_the_true_difference(tmp_path):
    rng = random.Random(1)
    base = [rng.random() * 0.6 for _ in range(60)]
    write(tmp_path / "a", "AIME24", base, seed=2)
    write(tmp_path / "b", "AIME24", [r + 0.3 for r in base], seed=3)  # every problem 30 points easier
    rows, average = compare(tmp_path / "a", tmp_path / "b", resamples=2000)
    (row,) = rows
    assert row["low"] > 0 and row["low"] <= 30 <= row["high"]
    assert average["diff"] == row["diff"]


def test_no_change_gives_an_interval_around_zero(tmp_path):
    rates = [i / 40 for i in range(40)]
    write(tmp_path / "a", "AMC23", rates, seed=4)
    write(tmp_path / "b", "AMC23", rates, seed=5)  # same model, other samples
    (row,), _ = compare(tmp_path / "a", tmp_path / "b", resamples=2000)
    assert row["low"] < 0 < row["high"]


def test_problems_solved_by_only_one_are_listed_and_the_table_is_written(tmp_path, capsys):
    write(tmp_path / "a", "AIME24", [1.0, 0.0, 0.5])
    write(tmp_path / "b", "AIME24", [1.0, 1.0, 0.0])
    (row,), _ = compare(tmp_path / "a", tmp_path / "b", resamples=200)
    assert (row["only_a"], row["only_b"]) == ([2], [1])
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "--output", str(tmp_path / "c.md")]) == 0
    assert "| AIME24 | 3 |" in (tmp_path / "c.md").read_text() and "| average |" in capsys.readouterr().out


def test_evaluations_with_nothing_in_common_are_an_error(tmp_path, capsys):
    write(tmp_path / "a", "AIME24", [1.0])
    write(tmp_path / "b", "AMC23", [1.0])
    assert main([str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "no completely graded benchmark in common" in capsys.readouterr().err
