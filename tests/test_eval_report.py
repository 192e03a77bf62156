"""eval.report: pass@k, solve-none/all, the published comparison (only when graded as published), its files."""

from __future__ import annotations

import json

import pytest

from eval.report import main, summarize


def grades(
    benchmark: str,
    correct_by_problem: list[list[bool]],
    tokens: int = 100,
    protocol: str = "published",
    verifier: str | None = "opencompass/CompassVerifier-3B",
) -> list[dict]:
    return [
        {
            "benchmark": benchmark,
            "index": i,
            "sample": k,
            "correct": ok,
            "format_error": False,
            "response_tokens": tokens,
            "protocol": protocol,
            "verifier": verifier,
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


def write_run(tmp_path, rows: list[dict]) -> None:
    (tmp_path / "grades").mkdir()
    (tmp_path / "generations").mkdir()
    for name in {r["benchmark"] for r in rows}:
        (tmp_path / "grades" / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows if r["benchmark"] == name)
        )
    (tmp_path / "generations" / "AIME24.jsonl").write_text(json.dumps({"model": "hbx/JustRL-DeepSeek-1.5B"}) + "\n")


def test_report_writes_markdown_and_png_beside_the_published_numbers(tmp_path, capsys):
    write_run(tmp_path, grades("AIME24", [[True, False]] * 5) + grades("AMC23", [[True, True]] * 5))
    assert main(["--input-dir", str(tmp_path)]) == 0
    table = (tmp_path / "report.md").read_text()
    assert "(published protocol, opencompass/CompassVerifier-3B)" in table.splitlines()[0]
    assert "published (JustRL-DeepSeek-1.5B)" in table
    assert "| AIME24 | 2 | 50.00 | 52.60 | -2.60 |" in table
    assert "| AMC23 | 2 | 100.00 | 91.02 | 8.98 |" in table
    assert "**75.00**" in table
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert table in capsys.readouterr().out


@pytest.mark.parametrize(
    ("protocol", "verifier", "title"),
    [("published", None, "published protocol, rule only"), ("lenient", "opencompass/CompassVerifier-3B",
     "lenient protocol, opencompass/CompassVerifier-3B")],
)  # fmt: skip
def test_grades_not_made_as_published_show_no_delta(tmp_path, protocol, verifier, title):
    write_run(tmp_path, grades("AIME24", [[True, False]] * 5, protocol=protocol, verifier=verifier))
    assert main(["--input-dir", str(tmp_path)]) == 0
    table = (tmp_path / "report.md").read_text()
    assert f"({title})" in table.splitlines()[0]
    assert "| AIME24 | 2 | 50.00 | 52.60 | n/c |" in table and "not comparable" in table
