"""eval.study on study folders written as the runs write them: TensorBoard events as verl's logger writes them, and
validation generations as verl's `trainer.validation_data_dir` dumps them (one JSON line a held-out sample)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from eval.study import Run, difference_intervals, main, power, seed_interval, seeds_needed, separation_step, val_bands
from recipe.tools.study import plan, write_manifest

STEPS, VALIDATIONS, PROBLEMS, SAMPLES = 20, (0, 10, 20), 20, 16


def write_run(study: Path, name: str, accuracy, seed: int) -> None:
    """A finished run: its curves every step and its held-out verdicts at each validation, each problem's chance of a
    right sample `accuracy(step)` plus the problem's own offset (the same in every run: the arms share the held-out
    problems). Validation is seeded by the run's seed, so runs of one seed that reach the same accuracy (all of them
    at step 0, the base model) draw the same verdicts."""
    from torch.utils.tensorboard import SummaryWriter

    difficulty = random.Random(0)
    offsets = [difficulty.gauss(0, 0.15) for _ in range(PROBLEMS)]
    writer = SummaryWriter(str(study / "tensorboard_log" / "justrl" / name))
    for step in range(STEPS + 1):
        if step:
            writer.add_scalar("critic/score/mean", 2 * accuracy(step) - 1, step)
            writer.add_scalar("actor/entropy", 0.5 - accuracy(step) / 4, step)
            writer.add_scalar("response_length/mean", 4.0, step)
        if step in VALIDATIONS:
            folder = study / "validation" / name
            folder.mkdir(parents=True, exist_ok=True)
            rows, total = [], 0.0
            draw = random.Random(seed * 1000 + step)
            for problem in range(PROBLEMS):
                p = min(1.0, max(0.0, accuracy(step) + offsets[problem]))
                for _ in range(SAMPLES):
                    right = draw.random() < p
                    total += right
                    rows.append(
                        {
                            "input": f"What is {problem}?",
                            "output": "\\boxed{1}",
                            "gts": "1",
                            "score": 1.0 if right else -1.0,
                            "step": step,
                            "acc": right,
                        }
                    )
            (folder / f"{step}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
            writer.add_scalar("val-core/math_dapo/acc/mean@16", total / len(rows), step)
    writer.close()


def make_study(study: Path, arms: dict[str, list], seeds: list[int]) -> dict:
    """A CPU study's manifest (recipe/tools/study.py's own) with `arms` {name: [accuracy function a seed]}."""
    names = list(arms)
    manifest = plan(["recipe", *(["control-random"] if len(names) > 1 else [])], seeds, True, "carry", "")
    manifest["steps"] = STEPS
    for arm, curves in zip(names, arms.values(), strict=True):
        for seed, curve in zip(seeds, curves, strict=False):
            write_run(study, manifest["runs"][arm][seed], curve, seed)
    write_manifest(study, manifest)
    return manifest


def learning(rise: float, offset: float = 0.0):
    """A run's accuracy by step: the base's 0.3 at step 0, `rise` by the last step, and the seed's own `offset`."""
    return lambda step: 0.3 + (rise + offset) * step / STEPS


def test_a_clear_difference_has_an_interval_excluding_0_a_separation_step_and_few_seeds_needed(tmp_path, capsys):
    make_study(
        tmp_path,
        {
            "recipe": [learning(0.5, o) for o in (0, 0.02, -0.02)],
            "control-random": [learning(0.0, o) for o in (0, 0.03, -0.01)],
        },
        [1, 2, 3],
    )
    assert main(["--input-dir", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "study.json").read_text())
    assert set(result["arms"]["recipe"]["seeds"]) == {"1", "2", "3"}
    seed1 = result["arms"]["recipe"]["seeds"]["1"]
    assert seed1["run"] == "cpu-learn-seed1" and seed1["val_acc_before"] < 0.45 < 0.65 < seed1["val_acc_after"]
    (c,) = result["comparisons"]
    assert (c["a"], c["b"]) == ("recipe", "control-random")
    assert -0.6 < c["diff"] < -0.4 and c["ci95"][0] < c["diff"] < c["ci95"][1] < 0 and c["excludes_zero"]
    assert c["separation_step"] in (10, 20) and c["seeds_needed"] == 2
    assert list(c["by_step"]) == [str(s) for s in VALIDATIONS] and c["by_step"][str(STEPS)][1:] == c["ci95"]
    low, high = c["by_step"]["0"][1:]  # both arms start from the same base: not separated at step 0
    assert low < 0 < high and c["by_step"][str(c["separation_step"])][2] < 0
    for name in ("reward", "entropy", "response_length", "val_acc", "val_acc_diff"):
        assert (tmp_path / f"study_{name}.png").read_bytes()[:4] == b"\x89PNG"
    md = (tmp_path / "study.md").read_text()
    assert "| control-random vs recipe | " in md and "excludes 0" in md and "Student t over seeds" in md
    assert "control-random vs recipe: diff=" in capsys.readouterr().out


def test_arms_that_differ_only_by_seed_noise_are_not_separated(tmp_path):
    make_study(
        tmp_path,
        {
            "recipe": [learning(0.3, o) for o in (0, 0.04, -0.03)],
            "control-random": [learning(0.3, o) for o in (0.02, -0.04, 0.01)],
        },
        [1, 2, 3],
    )
    assert main(["--input-dir", str(tmp_path)]) == 0
    (c,) = json.loads((tmp_path / "study.json").read_text())["comparisons"]
    assert c["ci95"][0] < 0 < c["ci95"][1] and not c["excludes_zero"] and c["separation_step"] is None
    assert "not separated in 20 steps" in (tmp_path / "study.md").read_text()


def test_one_seed_an_arm_draws_no_interval_and_says_why(tmp_path, capsys):
    make_study(tmp_path, {"recipe": [learning(0.5)], "control-random": [learning(0.0)]}, [1])
    assert main(["--input-dir", str(tmp_path)]) == 0
    (c,) = json.loads((tmp_path / "study.json").read_text())["comparisons"]
    assert c["ci95"] is None and c["excludes_zero"] is None and c["seeds_needed"] is None
    assert "no interval can be drawn" in c["note"] and "ci95=" not in capsys.readouterr().out
    assert c["separation_step"] is None and "not separated" not in (tmp_path / "study.md").read_text()
    assert "by_step" not in c and not (tmp_path / "study_val_acc_diff.png").exists()  # no interval to draw


def test_a_partial_study_names_the_runs_not_finished(tmp_path, capsys):
    manifest = make_study(tmp_path, {"recipe": [learning(0.5)] * 2, "control-random": [learning(0.0)]}, [1, 2])
    assert main(["--input-dir", str(tmp_path)]) == 0
    missing = manifest["runs"]["control-random"][2]
    assert json.loads((tmp_path / "study.json").read_text())["missing"] == [missing]
    assert f"not finished, left out: {missing}" in capsys.readouterr().out


def test_nothing_is_compared_before_the_first_arm_has_a_finished_run(tmp_path, capsys):
    manifest = make_study(tmp_path, {"recipe": [], "control-random": [learning(0.0)] * 2}, [1, 2])
    assert main(["--input-dir", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "study.json").read_text())
    assert result["comparisons"] == [] and "the first arm, recipe, has no finished run yet" in result["note"]
    assert set(result["missing"]) == set(manifest["runs"]["recipe"].values())


def test_a_folder_without_a_study_is_one_line(tmp_path, capsys):
    assert main(["--input-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_the_interval_is_the_pooled_two_sample_t_interval_over_seeds():
    """Each run counts once, by its mean over the held-out problems; the problems are shared by the arms and not
    resampled: two seeds an arm give 2 degrees of freedom, t_0.975 = 4.3027 (any t table)."""

    def run(accuracies) -> Run:
        return Run("r", verdicts={5: {f"p{i}": [a] for i, a in enumerate(accuracies)}})

    a = [run([0.2, 0.4]), run([0.3, 0.5])]  # run means 0.30, 0.40
    b = [run([0.5, 0.7]), run([0.7, 0.7])]  # run means 0.60, 0.70
    pooled = ((0.05**2 * 2 + 0.05**2 * 2) / 2) ** 0.5  # the squared deviations of both arms over 4 - 2
    half = 4.302652729911275 * pooled * (1 / 2 + 1 / 2) ** 0.5
    np.testing.assert_allclose(difference_intervals(a, b)[5], (0.3, 0.3 - half, 0.3 + half))
    problems_apart = [run([0.0, 1.0] * 5)] * 2  # problem noise alone, the same in both arms: no difference, no width
    assert difference_intervals(problems_apart, problems_apart)[5] == (0.0, 0.0, 0.0)
    diff, low, high = seed_interval([[0.3, 0.4], [0.5, 0.5]], [[0.6, 0.7], [0.5, 0.5]])  # studies side by side
    np.testing.assert_allclose([diff, low, high], [[0.3, 0.0], [0.3 - half, 0.0], [0.3 + half, 0.0]])


def test_separation_is_the_first_step_the_difference_stays_apart_from_0_to_the_end():
    up = {0: (-0.1, 0.1), 10: (0.05, 0.2), 20: (-0.02, 0.15), 30: (0.1, 0.3), 40: (0.05, 0.25)}
    assert separation_step(up) == 30  # apart at 10, not at 20: from 30 on
    down = {step: (-high, -low) for step, (low, high) in up.items()}
    assert separation_step(down) == 30
    assert separation_step({**up, 50: (-0.1, 0.1)}) is None  # the last step decides
    assert separation_step({**up, 50: (-0.3, -0.1)}) == 50  # a change of side starts again
    assert separation_step({}) is None


def test_a_difference_beyond_noise_is_separated_where_the_arms_own_bands_overlap():
    """Two arms' 95% bands can overlap while their difference's 95% interval excludes 0 (the trainer lane's CI run met
    it); separation reads the difference, as ci95 does, so the two never disagree at the last step."""
    ladder = np.linspace(0.2, 0.7, 40)

    def arm(shift: float) -> list[Run]:
        return [
            Run("r", verdicts={5: {f"p{i:02d}": [a] for i, a in enumerate(np.clip(ladder + shift + o, 0, 1))}})
            for o in (-0.02, 0.0, 0.02)
        ]

    a, b = arm(0.0), arm(0.07)
    (mean_a, _, high_a), (mean_b, low_b, _) = val_bands(a)[5], val_bands(b)[5]
    assert mean_a < low_b < high_a < mean_b  # the bands overlap
    diff, low, high = interval = difference_intervals(a, b)[5]
    assert 0 < low < diff < high and abs(diff - 0.07) < 1e-9 and separation_step({5: interval}) == 5


@pytest.mark.parametrize(("spread", "diff", "want"), [(0.05, 0.1, 9), (0.01, 0.5, 2)])
def test_seeds_needed_is_where_the_same_t_test_reaches_80_percent_power(spread, diff, want):
    a, b = [0.5 - spread, 0.5 + spread], [0.5 + diff - spread, 0.5 + diff + spread]
    sd = spread * 2**0.5  # each arm's seed-to-seed sd (ddof 1)
    assert seeds_needed(a, b, diff) == want and power(want, sd, diff) >= 0.8
    assert want == 2 or power(want - 1, sd, diff) < 0.8
    assert seeds_needed([0.5], b, diff) is None and seeds_needed(a, b, 0.0) is None
    # the noncentral t agrees with the interval itself on simulated studies of that sd (no binomial noise: sd only)
    rng = np.random.default_rng(0)
    runs = rng.normal(0.5, sd, size=(2, 4000, want)) + np.array([0, diff])[:, None, None]
    _, low, high = seed_interval(*runs)
    assert abs(np.mean((low > 0) | (high < 0)) - power(want, sd, diff)) < 0.03


def test_a_gpu_runs_evaluation_of_its_last_checkpoint_gives_its_final_verdicts(tmp_path):
    """Where launch/eval.sh evaluated a run's last checkpoint into <study>/eval/<run> (eval.grade's grades), those are
    the run's final held-out verdicts, problem by problem (benchmark/index), in place of its last validation."""
    from eval.grade import grade_record
    from eval.store import Appender
    from reward.grading import Grade

    manifest = make_study(tmp_path, {"recipe": [learning(0.5)] * 2, "control-random": [learning(0.0)] * 2}, [1, 2])
    for arm, right in (("recipe", 3), ("control-random", 1)):
        for seed in (1, 2):
            grades = tmp_path / "eval" / manifest["runs"][arm][seed] / "grades" / "AIME24.jsonl"
            grades.parent.mkdir(parents=True)
            with Appender(grades) as out:
                for index in range(10):
                    for sample in range(4):
                        record = {"benchmark": "AIME24", "index": index, "sample": sample}
                        rule = Grade(answer="1", correct=sample < right, how="here")
                        out.write([grade_record(record, rule, False, "published", None)])
    assert main(["--input-dir", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "study.json").read_text())
    assert result["arms"]["recipe"]["seeds"]["1"]["val_acc_after"] == 0.75  # 3 of 4 samples right, every problem
    (c,) = result["comparisons"]
    assert c["diff"] == -0.5 and c["ci95"] == [-0.5, -0.5]  # no seed or problem noise in these grades
