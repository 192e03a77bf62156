"""eval.report: pass@k, solve-none/all, the published comparison (only when graded as published), its files."""

from __future__ import annotations

import json

import pytest

from data_prep.protocol import BENCHMARK_SIZES
from eval.protocol import EVAL_SAMPLES
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


PROTOCOL = {"temperature": 0.7, "top_p": 0.9, "max_new_tokens": 31744}  # as eval.generate records the protocol's


def write_run(tmp_path, rows: list[dict], generated: list[dict] | None = None, sampling: dict = PROTOCOL) -> None:
    """Grades `rows`, and a generation record for each (or for `generated`'s (benchmark, index, sample) keys), sampled
    as `sampling` says."""
    (tmp_path / "grades").mkdir()
    (tmp_path / "generations").mkdir()
    for name in {r["benchmark"] for r in rows}:
        (tmp_path / "grades" / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows if r["benchmark"] == name)
        )
    for r in rows if generated is None else generated:
        record = {"benchmark": r["benchmark"], "index": r["index"], "sample": r["sample"], "model": MODEL, **sampling}
        with (tmp_path / "generations" / f"{r['benchmark']}.jsonl").open("a") as out:
            out.write(json.dumps(record) + "\n")


MODEL = "hbx/JustRL-DeepSeek-1.5B"


def as_published(benchmark: str, solved_share: float) -> list[dict]:
    """The published protocol's shape: every problem of the benchmark, N samples each; `solved_share` of them right."""
    problems, n = BENCHMARK_SIZES[benchmark], EVAL_SAMPLES[benchmark]
    cut = round(solved_share * n)
    return grades(benchmark, [[k < cut for k in range(n)] for _ in range(problems)])


def test_report_writes_markdown_and_png_beside_the_published_numbers(tmp_path, capsys):
    write_run(tmp_path, as_published("AIME24", 0.5) + as_published("AMC23", 1.0))
    assert main(["--input-dir", str(tmp_path)]) == 0
    table = (tmp_path / "report.md").read_text()
    assert "(published protocol, opencompass/CompassVerifier-3B)" in table.splitlines()[0]
    assert "published (JustRL-DeepSeek-1.5B, %)" in table
    assert "| AIME24 | 30 | 960/960 | 32 | 50.00 | 52.60 | -2.60 |" in table
    assert "| AMC23 | 40 | 1280/1280 | 32 | 100.00 | 91.02 | 8.98 |" in table
    assert "**average of 2**" in table and "**75.00**" in table
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert table in capsys.readouterr().out


@pytest.mark.parametrize(
    ("protocol", "verifier", "title"),
    [("published", None, "published protocol, rule only"), ("lenient", "opencompass/CompassVerifier-3B",
     "lenient protocol, opencompass/CompassVerifier-3B")],
)  # fmt: skip
def test_grades_not_made_as_published_show_no_delta(tmp_path, protocol, verifier, title):
    rows = [dict(g, protocol=protocol, verifier=verifier) for g in as_published("AIME24", 0.5)]
    write_run(tmp_path, rows)
    assert main(["--input-dir", str(tmp_path)]) == 0
    table = (tmp_path / "report.md").read_text()
    assert f"({title})" in table.splitlines()[0]
    assert "| AIME24 | 30 | 960/960 | 32 | 50.00 | 52.60 | n/c |" in table and "not comparable" in table


def test_fewer_problems_or_samples_than_the_protocol_are_not_compared(tmp_path):
    write_run(tmp_path, grades("AIME24", [[True, False]] * 5))
    assert main(["--input-dir", str(tmp_path)]) == 0  # complete as generated, just not the published benchmark
    table = (tmp_path / "report.md").read_text()
    assert "| AIME24 | 5 | 10/10 | 2 | 50.00 | 52.60 | n/c |" in table
    assert "n/c for AIME24: fewer problems or samples than the published protocol" in table


def test_a_partly_graded_and_an_ungraded_benchmark_are_marked_and_the_exit_says_so(tmp_path, capsys):
    generated = grades("AIME24", [[False] * 16]) + grades("AMC23", [[False] * 16])  # 16 samples each
    write_run(tmp_path, grades("AIME24", [[True] * 5]), generated=generated)  # AIME24: 5 of 16 graded, AMC23 none
    assert main(["--input-dir", str(tmp_path)]) == 1
    table = (tmp_path / "report.md").read_text()
    assert "| AIME24 (PARTIAL) | 1 | 5/16 | 5 | 100.00 | 52.60 | n/c |" in table
    assert "| AMC23 (UNGRADED) | 1 | 0/16 |" in table
    assert "- AIME24: partial: 5 of 16 generated samples graded (run eval.grade)" in table
    assert "- AMC23: ungraded: 16 samples generated, none graded (run eval.grade)" in table
    assert "not finished; exit 1" in capsys.readouterr().err


def test_off_protocol_sampling_is_stated_and_never_compared_in_the_table_or_the_chart(tmp_path):
    write_run(tmp_path, as_published("AIME24", 0.5), sampling={"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 64})
    assert main(["--input-dir", str(tmp_path)]) == 0
    table = (tmp_path / "report.md").read_text()
    assert "Sampled with temperature 0.0, top-p 1.0, up to 64 new tokens." in table
    assert "| AIME24 | 30 | 960/960 | 32 | 50.00 | 52.60 | n/c |" in table  # a full benchmark, but sampled otherwise
    assert "n/c for AIME24: OFF-PROTOCOL SAMPLING (temperature 0.0, top-p 1.0, up to 64 new tokens; the protocol: " in (
        table
    )
    assert "avg@N (%)" in table and "delta (points)" in table  # units


def test_the_chart_names_model_grading_sampling_and_marks_partial_bars(tmp_path, monkeypatch):
    from eval import report

    titles = []
    monkeypatch.setattr(report, "save_png", lambda fig, path, dpi=None: titles.append(fig.axes[0].get_title()))
    generated = grades("AIME24", [[False] * 16])
    write_run(tmp_path, grades("AIME24", [[True] * 5]), generated=generated)
    assert main(["--input-dir", str(tmp_path)]) == 1
    assert titles == [
        f"{MODEL}: published protocol, opencompass/CompassVerifier-3B\n"
        "temperature 0.7, top-p 0.9, up to 31,744 new tokens - NOT FINISHED (PARTIAL bars)"
    ]
