"""eval.run_layout: one folder per model and protocol, named from the full checkpoint path."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

from eval.run_layout import RunLayout, default_output_dir, model_slug


def test_two_runs_checkpoints_of_the_same_step_get_different_folders(tmp_path):
    first, second = tmp_path / "run1" / "global_step_100", tmp_path / "run2" / "global_step_100"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    assert default_output_dir(str(first)) != default_output_dir(str(second))
    assert model_slug(str(first)).startswith("run1-global_step_100-")
    layout = RunLayout(tmp_path / "out")
    assert layout.merged_model(first) != layout.merged_model(second)


def test_a_hub_id_is_named_after_itself():
    assert str(default_output_dir("hbx/JustRL-DeepSeek-1.5B")) == "eval_out/hbx__JustRL-DeepSeek-1.5B"


def test_the_launch_script_asks_this_module_for_the_folder(tmp_path):
    out = subprocess.run([sys.executable, "-m", "eval.run_layout", str(tmp_path)], capture_output=True, text=True,
                         cwd=REPO, check=True)  # fmt: skip
    assert out.stdout.strip() == str(default_output_dir(str(tmp_path)))
    assert "python -m eval.run_layout" in (REPO / "launch" / "eval.sh").read_text()
