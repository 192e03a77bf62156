"""eval/checkpoints.py and the launch preflight's checkpoint lines: resume point, retention, disk, fresh start.

The checkpoint folders here have verl's layout (`global_step_N/actor/model_world_size_1_rank_0.pt`, the tracker file);
tests/test_recipe_smoke_run.py writes and resumes real ones through verl's trainer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from eval import checkpoints
from recipe.tools.compose import compose_recipe
from recipe.tools.preflight import prepare_checkpoints


def fake_run(run_dir: Path, steps: list[int], latest: int | None = None) -> Path:
    for step in steps:
        actor = run_dir / f"global_step_{step}" / "actor"
        actor.mkdir(parents=True)
        (actor / "model_world_size_1_rank_0.pt").write_bytes(b"")
    if steps or latest is not None:
        (run_dir / "latest_checkpointed_iteration.txt").write_text(str(latest if latest is not None else steps[-1]))
    return run_dir


def recipe_cfg(run_dir: Path, model: str, *overrides: str):
    return compose_recipe(
        ["base_model=deepseek", f"trainer.default_local_dir={run_dir}", f"actor_rollout_ref.model.path={model}",
         "trainer.save_freq=50", *overrides]
    )  # fmt: skip


def test_steps_and_the_resume_point_are_read_as_verl_writes_them(tmp_path):
    run = fake_run(tmp_path / "run", [100, 50, 150])
    (run / "global_step_200").mkdir()  # actor removed by verl's rotation: data.pt only
    assert checkpoints.saved_steps(run) == [50, 100, 150]
    assert checkpoints.latest_step(run) == 150
    assert checkpoints.latest_step(tmp_path / "none") is None
    (run / "latest_checkpointed_iteration.txt").write_text("oops")
    with pytest.raises(ValueError, match="latest_checkpointed_iteration.txt: expected a step number"):
        checkpoints.latest_step(run)


def test_after_a_save_the_newest_are_kept_whichever_process_saved_them(tmp_path):
    """recipe/checkpoint_retention.py, built by verl's own `build_checkpoint_callback` from the recipe's config."""
    from verl.trainer.ppo.checkpoint_callback import build_checkpoint_callback

    run = fake_run(tmp_path / "run", [50, 100, 150, 200, 250, 300], latest=250)
    (run / "global_step_25").mkdir()  # what verl's own rotation leaves: data.pt only
    (run / "global_step_25" / "data.pt").write_bytes(b"")
    callback = build_checkpoint_callback(recipe_cfg(run, "x/y"))
    callback.on_save(trainer=None, global_step=250, checkpoint_dir=str(run / "global_step_250"))
    assert checkpoints.saved_steps(run) == [150, 200, 250, 300]  # 300: above the saved step, left alone
    assert not (run / "global_step_25").exists()
    hf_only = tmp_path / "hf_only"  # checkpoint.save_contents without the model: no shards, a Hugging Face copy
    for step in (1, 2, 3, 4, 5):
        (hf_only / f"global_step_{step}" / "actor" / "huggingface").mkdir(parents=True)
        (hf_only / f"global_step_{step}" / "actor" / "huggingface" / "config.json").write_text("{}")
        (hf_only / f"global_step_{step}" / "actor" / "huggingface" / "model.safetensors").write_bytes(b"w")
    callback.on_save(trainer=None, global_step=5, checkpoint_dir=str(hf_only / "global_step_5"))
    assert sorted(p.name for p in hf_only.iterdir()) == [f"global_step_{step}" for step in (1, 2, 3, 4, 5)]
    assert [p.name for p in (hf_only / "global_step_1").iterdir()] == ["huggingface"]  # the weights, linked, alone
    saved = hf_only / "global_step_5"  # linked beside actor/ at its save, actor/ left as verl's merger reads it
    assert (saved / "huggingface" / "model.safetensors").stat().st_ino == (
        saved / "actor" / "huggingface" / "model.safetensors"
    ).stat().st_ino
    assert not (hf_only / "global_step_4" / "huggingface").exists()  # kept whole: its own save links it
    assert checkpoints.evaluable_steps(hf_only) == [1, 2, 3, 4, 5]
    unlimited = build_checkpoint_callback(recipe_cfg(run, "x/y", "trainer.max_actor_ckpt_to_keep=0"))
    unlimited.on_save(trainer=None, global_step=300, checkpoint_dir=str(run / "global_step_300"))
    assert checkpoints.saved_steps(run) == [150, 200, 250, 300]


def test_parameter_count_and_size_from_the_model_files(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    count = checkpoints.parameter_count(Path(tiny_model_dir))
    assert count == AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).num_parameters()
    assert checkpoints.checkpoint_bytes(count, ["model", "optimizer", "extra"]) == 12 * count
    assert checkpoints.parameter_count(Path("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")) is None


def test_human_sizes():
    assert checkpoints.human(21.3e9) == "21.3 GB"
    assert checkpoints.human(1.777e9, ("", "k", "M", "B")) == "1.78B"
    assert checkpoints.human(999) == "999 B"


def test_preflight_says_where_it_resumes_and_the_room_the_kept_checkpoints_need(tmp_path, tiny_model_dir):
    run = fake_run(tmp_path / "run", [50, 100, 150, 200, 250])
    lines = prepare_checkpoints(recipe_cfg(run, tiny_model_dir))
    assert lines[0] == f"resuming from {run}/global_step_250 (step 250 of 4380)"
    assert checkpoints.saved_steps(run) == [50, 100, 150, 200, 250]  # rotated after the next save, not before
    # 5 on disk: the next save adds one, then the newest 3 stay whole, and every save keeps its Hugging Face weights
    params = checkpoints.parameter_count(Path(tiny_model_dir))
    whole, hf = params * (4 + 8 + 2), params * 2  # model, optimizer, Hugging Face weights
    saves = -(-(4380 - 250) // 50)
    assert lines[1].startswith(f"checkpoints: {checkpoints.human(whole)} each (")
    kept = f"keeping the newest 3 and the Hugging Face weights of every save ({checkpoints.human(hf)} each): "
    assert kept in lines[1]
    assert f": 5 on disk, {saves} more saves need {checkpoints.human((whole - hf) + saves * hf)}, " in lines[1]
    assert lines[1].endswith(": room")
    fresh = prepare_checkpoints(recipe_cfg(tmp_path / "new", tiny_model_dir))
    # 3 kept whole + 1 being written
    assert f": 0 on disk, 88 more saves need {checkpoints.human(4 * (whole - hf) + 88 * hf)}, " in fresh[1]


def test_preflight_starts_fresh_only_when_told_and_never_deletes(tmp_path, tiny_model_dir):
    assert prepare_checkpoints(recipe_cfg(tmp_path / "new", tiny_model_dir))[0] == (
        f"starting at step 0: no checkpoint in {tmp_path}/new"
    )
    run = fake_run(tmp_path / "run", [50, 100])
    line = prepare_checkpoints(recipe_cfg(run, tiny_model_dir, "trainer.resume_mode=disable"))[0]
    assert line.startswith(f"fresh start (trainer.resume_mode=disable): moved {run} -> {run}.replaced-")
    (moved,) = tmp_path.glob("run.replaced-*")
    assert checkpoints.saved_steps(moved) == [50, 100] and not run.exists()


def test_preflight_disk_line_for_the_published_model_size_and_no_checkpoints(tmp_path):
    cfg = recipe_cfg(tmp_path / "run", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")
    assert prepare_checkpoints(cfg)[-1] == "checkpoint size unknown until the model is local"
    cfg = recipe_cfg(tmp_path / "run", "x/y", "trainer.save_freq=-1")
    assert prepare_checkpoints(cfg) == ["no checkpoints (trainer.save_freq=-1): a killed run starts over"]
    size = checkpoints.checkpoint_bytes(1_777_088_000, ["model", "optimizer", "extra"])  # 1.5B: ~21 GB, as verl writes
    assert size / 1e9 == pytest.approx(21.3, 0.01)


def test_the_tracker_file_is_verls_own_name(tmp_path):
    from verl.utils.checkpoint.checkpoint_manager import get_checkpoint_tracker_filename

    assert Path(get_checkpoint_tracker_filename(str(tmp_path))) == tmp_path / checkpoints.TRACKER


def test_a_run_whose_checkpoints_reach_its_last_step_is_complete_and_says_so(tmp_path, capsys):
    from recipe.tools.preflight import COMPLETE, READY, check, completed_step

    run = fake_run(tmp_path / "run", [4370, 4380])
    assert completed_step(recipe_cfg(run, "x/y")) == 4380
    assert completed_step(recipe_cfg(run, "x/y", "trainer.total_training_steps=4390")) is None
    assert completed_step(recipe_cfg(run, "x/y", "trainer.resume_mode=disable")) is None  # a fresh start is wanted
    args = [
        "--config-path",
        "recipe",
        "--config-name",
        "justrl",
        "base_model=deepseek",
        f"trainer.default_local_dir={run}",
    ]
    assert check(args) == COMPLETE  # before any other check: data, model and GPUs need not be here
    run_line, complete = capsys.readouterr().out.splitlines()
    assert run_line.startswith(f"run: justrl-deepseek-1.5b -> {run}; reward pkg://reward.score:compute_score(")
    assert complete.startswith(f"already complete: step 4380 of 4380 ({run})")
    assert check([*args, "trainer.total_training_steps=4390"]) != READY  # no data or GPU here: problems


def test_a_missing_local_model_is_a_directory_not_a_hub_id():
    assert checkpoints.local_model_path("/no/such/dir") and checkpoints.local_model_path("./rel")
    assert checkpoints.local_model_path("a/b/c") and checkpoints.local_model_path("name")
    assert not checkpoints.local_model_path("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")


def test_a_resumed_run_goes_without_the_start_validation_a_first_start_keeps(tmp_path, tiny_model_dir, capsys):
    """verl's trainer validates at every start (`trainer.val_before_train`); the preflight tells a resumed run not to,
    so that a restart neither pays for the validation again nor logs a second point at its step."""
    from recipe.tools.preflight import READY, RESUMING, SKIP_START_VALIDATION, check, prepare

    data = tmp_path / "data"
    for name in ("dapo_math_17k", *(f"benchmarks/validation/{b}" for b in ("AIME24", "AIME25", "AMC23"))):
        (data / f"{name}.parquet").parent.mkdir(parents=True, exist_ok=True)
        (data / f"{name}.parquet").write_bytes(b"")
    args = ["--config-path", "recipe", "--config-name", "justrl", "base_model=deepseek", f"justrl.data_dir={data}",
            f"justrl.checkpoint_dir={tmp_path / 'ckpt'}", f"actor_rollout_ref.model.path={tiny_model_dir}",
            "trainer.device=cpu", "trainer.n_gpus_per_node=1", "trainer.nnodes=1",
            "actor_rollout_ref.rollout.name=hf"]  # fmt: skip
    status, cfg = prepare(args)
    assert status == READY, capsys.readouterr()
    assert "no start validation" not in capsys.readouterr().out
    # what verl's trainer is handed (recipe/tools/train.py `run_verl`): main_ppo's composition, unresolved
    assert cfg == compose_recipe(args[4:], resolve=False) and cfg.trainer.val_before_train
    assert OmegaConf.is_interpolation(cfg.trainer, "experiment_name")  # resolved by verl, in its TaskRunner
    fake_run(tmp_path / "ckpt" / "justrl" / "justrl-deepseek-1.5b", [50])
    status, cfg = prepare(args)
    assert status == RESUMING and cfg.trainer.val_before_train is False
    out = capsys.readouterr().out
    assert f"preflight: no start validation ({SKIP_START_VALIDATION}): the run resumes at step 50" in out
    assert check([*args, "trainer.val_before_train=false"]) == READY  # nothing to skip
