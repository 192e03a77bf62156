"""eval.report: unbiased pass@k, solve-none/all, the published comparison, the files it writes."""

from __future__ import annotations

import json
from itertools import combinations

import pytest

from eval.report import main, pass_at_k, summarize


@pytest.mark.parametrize(("n", "c", "k"), [(4, 0, 1), (4, 1, 1), (4, 2, 2), (5, 3, 4), (6, 1, 6), (8, 7, 3)])
def test_pass_at_k_equals_brute_force_over_all_k_subsets(n, c, k):
    outcomes = [True] * c + [False] * (n - c)
    subsets = list(combinations(range(n), k))
    expected = sum(any(outcomes[i] for i in s) for s in subsets) / len(subsets)
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def grades(benchmark: str, correct_by_problem: list[list[bool]], tokens: int = 100) -> list[dict]:
    return [
        {
            "benchmark": benchmark,
            "index": i,
            "sample": k,
            "correct": ok,
            "format_error": False,
            "response_tokens": tokens,
        }
        for i, samples in enumerate(correct_by_problem)
        for k, ok in enumerate(samples)
    ]


def test_summary_figures():
    s = summarize(grades("AIME24", [[True] * 4, [False] * 4, [True, False, False, False]]))
    assert s["n"] == 4 and s["problems"] == 3
    assert s["avg"] == pytest.approx(100 * 5 / 12)
    assert s["solve_none"] == pytest.approx(100 / 3) and s["solve_all"] == pytest.approx(100 / 3)
    assert s["pass"][1] == pytest.approx(s["avg"])  # pass@1 is the mean accuracy
    assert s["pass"][4] == pytest.approx(100 * 2 / 3)
    assert s["mean_tokens"] == 100


def test_report_writes_markdown_and_png_beside_the_published_numbers(tmp_path, capsys):
    (tmp_path / "grades").mkdir()
    (tmp_path / "generations").mkdir()
    rows = grades("AIME24", [[True, False]] * 5) + grades("AMC23", [[True, True]] * 5)
    for name in ("AIME24", "AMC23"):
        (tmp_path / "grades" / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows if r["benchmark"] == name)
        )
    (tmp_path / "generations" / "AIME24.jsonl").write_text(json.dumps({"model": "hbx/JustRL-DeepSeek-1.5B"}) + "\n")
    assert main(["--input-dir", str(tmp_path)]) == 0
    table = (tmp_path / "report.md").read_text()
    assert "published (JustRL-DeepSeek-1.5B)" in table
    assert "| AIME24 | 2 | 50.00 | 52.60 | -2.60 |" in table
    assert "| AMC23 | 2 | 100.00 | 91.02 | 8.98 |" in table
    assert "**75.00**" in table
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert table in capsys.readouterr().out
