"""eval.curves: pass@k curves from grades, one PNG per benchmark, several evaluations overlaid."""

from __future__ import annotations

import json
from itertools import combinations

import pytest

from eval.curves import curve, main, pass_at_k


@pytest.mark.parametrize(("n", "c", "k"), [(4, 0, 1), (4, 1, 1), (4, 2, 2), (5, 3, 4), (6, 1, 6), (8, 7, 3)])
def test_pass_at_k_equals_brute_force_over_all_k_subsets(n, c, k):
    outcomes = [True] * c + [False] * (n - c)
    subsets = list(combinations(range(n), k))
    assert pass_at_k(n, c, k) == pytest.approx(sum(any(outcomes[i] for i in s) for s in subsets) / len(subsets))


def grades(correct: list[list[bool]]) -> list[dict]:
    return [{"benchmark": "AIME24", "index": i, "sample": k, "correct": ok}
            for i, row in enumerate(correct) for k, ok in enumerate(row)]  # fmt: skip


def test_curve_rises_from_mean_accuracy_to_the_share_ever_solved():
    # problem 0 always solved, problem 1 once in 8, problem 2 never
    points = curve(grades([[True] * 8, [True] + [False] * 7, [False] * 8]))
    assert list(points) == [1, 2, 4, 8]
    assert points[1] == pytest.approx(100 * (1 + 1 / 8) / 3)
    assert points[8] == pytest.approx(100 * 2 / 3)
    assert list(points.values()) == sorted(points.values())


def test_two_evaluations_on_one_png_per_benchmark(tmp_path, capsys):
    for name, rows in (("base", [[True] + [False] * 3] * 4), ("rl", [[True] * 2 + [False] * 2] * 4)):
        (tmp_path / name / "grades").mkdir(parents=True)
        (tmp_path / name / "grades" / "AIME24.jsonl").write_text("".join(json.dumps(g) + "\n" for g in grades(rows)))
    out = tmp_path / "curves"
    args = ["--input-dir", str(tmp_path / "base"), "--input-dir", str(tmp_path / "rl"), "--output-dir", str(out)]
    assert main(args) == 0
    assert (out / "passk_AIME24.png").read_bytes()[:4] == b"\x89PNG"
    printed = capsys.readouterr().out
    assert "AIME24 base: pass@1=25.0, pass@2=50.0, pass@4=100.0" in printed
    assert "AIME24 rl: pass@1=50.0" in printed
