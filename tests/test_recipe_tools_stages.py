"""recipe/tools/stages.py: stage lists, where each stage trains, restarts; the repo's lists compose with verl.

Two stages of each kind run through verl's real trainer in tests/test_recipe_smoke_run.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

from recipe.protocol import base_models
from recipe.tools.compose import compose_recipe, validate_with_verl
from recipe.tools.stages import Stage, load_stages, plan, run_stages, stage_overrides

STAGE_LISTS = sorted((REPO / "recipe" / "stages").glob("*.yaml"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "list.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stages: []", "expected a non-empty list under 'stages'"),
        ("stages:\n  - {name: a, steps: 0}", "stage 0 (a): 'steps' must be a positive integer, got 0"),
        ("stages:\n  - {name: a, steps: 1}\n  - {name: a, steps: 1}", "stage 1: 'name' must be a unique word"),
        ("stages:\n  - {name: a, steps: 1, start: restart}", "stage 0 (a): 'start' must be one of resume, reset"),
        ("stages:\n  - {name: a, steps: 1, overide: [x=1]}", "stage 0: unknown key(s) ['overide']"),
        ("stages:\n  - {name: a, steps: 1, overrides: x=1}", "'overrides' must be a list of Hydra override strings"),
    ],
)
def test_malformed_lists_are_refused_naming_file_stage_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as err:
        load_stages(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_resume_continues_the_run_and_reset_begins_a_new_one_from_it(tmp_path):
    stages = [Stage("a", 10), Stage("b", 5, "resume", ["data.max_response_length=16384"]), Stage("c", 3, "reset")]
    a, b, c = plan(stages, tmp_path)
    assert (a.run_dir, a.last_step, a.reset_from) == (tmp_path / "0-a", 10, None)
    assert (b.run_dir, b.last_step, b.reset_from) == (tmp_path / "0-a", 15, None)
    assert (c.run_dir, c.last_step, c.reset_from) == (tmp_path / "2-c", 3, tmp_path / "0-a")
    assert stage_overrides(b) == [
        "data.max_response_length=16384", f"trainer.default_local_dir={tmp_path}/0-a",
        "trainer.total_training_steps=15", "trainer.resume_mode=auto",
        "justrl.resume_check=false",  # the stage changes the run it resumes by design
    ]  # fmt: skip
    assert "justrl.resume_check=false" not in stage_overrides(a) + stage_overrides(c)
    assert stage_overrides(c)[-1] == f"actor_rollout_ref.model.path={tmp_path}/2-c/init_model"


def test_a_reference_reset_keeps_the_run_and_later_resumes_keep_its_reference(tmp_path):
    """ProRL v2's reset: the run goes on (its folder, its step count, its optimizer through verl's resume) with the
    model path, which verl builds the reference from, set to the merged current actor; a later resume keeps it, and
    a reset's init_model likewise stays the reference of the resumes after it."""
    stages = [Stage("a", 2), Stage("b", 2, "reference"), Stage("c", 1), Stage("d", 1, "reset"), Stage("e", 1)]
    a, b, c, d, e = plan(stages, tmp_path)
    assert (b.run_dir, b.last_step, b.reset_from, b.continues) == (tmp_path / "0-a", 4, None, True)
    assert b.model_path == c.model_path == tmp_path / "0-a" / "reference-1-b" and a.model_path is None
    assert stage_overrides(b)[-2:] == [f"actor_rollout_ref.model.path={b.model_path}", "justrl.resume_check=false"]
    assert "trainer.resume_mode=auto" in stage_overrides(b) and c.last_step == 5
    assert d.model_path == e.model_path == tmp_path / "3-d" / "init_model" and e.run_dir == tmp_path / "3-d"


def test_finished_stages_are_skipped_and_a_failure_stops_the_list(tmp_path, capsys):
    launched = []

    def launch(overrides: list[str]) -> int:  # stands in for verl: records the run's last step as verl's tracker
        launched.append(overrides)
        values = dict(o.split("=", 1) for o in overrides)
        run_dir = Path(values["trainer.default_local_dir"])
        run_dir.mkdir(parents=True, exist_ok=True)
        if "data.max_response_length" in values:
            return 1
        (run_dir / "latest_checkpointed_iteration.txt").write_text(values["trainer.total_training_steps"])
        return 0

    stages = [Stage("a", 2), Stage("b", 2, "resume", ["data.max_response_length=8"])]
    assert run_stages(stages, tmp_path, launch) == 1
    assert "stage 2/2 b failed (exit 1); rerun the same command to resume it" in capsys.readouterr().out
    assert run_stages(stages[:1], tmp_path, launch) == 0
    assert "stage 1/1 a: done (step 2 in" in capsys.readouterr().out
    assert len(launched) == 2


def test_a_launch_that_ends_well_short_of_its_last_step_stops_the_list(tmp_path, capsys):
    """exit 0 is not enough: a stage is done when its run's checkpoint reaches the stage's last step."""
    assert run_stages([Stage("a", 1), Stage("b", 1, "reset")], tmp_path, lambda overrides: 0) == 1
    out = capsys.readouterr().out
    assert "stage 1/2 a: the launch ended at step 0, not 1; rerun to resume it" in out and "done" not in out


def test_a_reset_without_an_actor_to_start_from_is_an_error(tmp_path):
    def launch(overrides: list[str]) -> int:  # a tracker file but no actor shards (verl's rotation removed them)
        run_dir = Path(dict(o.split("=", 1) for o in overrides)["trainer.default_local_dir"])
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "latest_checkpointed_iteration.txt").write_text("1")
        return 0

    with pytest.raises(RuntimeError, match="stage b: no actor checkpoint in .*0-a to start from"):
        run_stages([Stage("a", 1), Stage("b", 1, "reset")], tmp_path, launch)


def test_a_preview_runs_each_stages_launch_and_claims_nothing(tmp_path, capsys):
    launched = []
    stages = [Stage("a", 1), Stage("b", 1, "reset")]
    assert run_stages(stages, tmp_path, lambda overrides: launched.append(overrides) or 0, preview=True) == 0
    assert len(launched) == 2 and "stages: preview of 2 stages, nothing trained" in capsys.readouterr().out


@pytest.mark.parametrize("base_model", base_models())
@pytest.mark.parametrize("path", STAGE_LISTS, ids=lambda p: p.stem)
def test_every_stage_of_the_repos_lists_composes_and_passes_verl_validation(path, base_model, tmp_path):
    first = Path(path).read_text().splitlines()[0]
    assert first.startswith("# ") and len(first) > 40  # what the list does, then its source
    for step in plan(load_stages(path), tmp_path):
        cfg = compose_recipe([f"base_model={base_model}", *stage_overrides(step)])
        validate_with_verl(cfg)
        assert cfg.trainer.total_training_steps == step.last_step
