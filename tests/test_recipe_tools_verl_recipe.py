"""The recipe as verl-recipe would host it (`python -m recipe.tools.verl_recipe OUT`): a folder that composes into the
same config, loads every extension its YAML names and scores with its own reward, with this repository out of reach.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO
from omegaconf import OmegaConf

from recipe.tools.compose import compose_recipe, recipe_overrides
from recipe.tools.verl_recipe import exported_modules, main, moved, rewrite

# Run in a fresh interpreter whose only way to this recipe is the export: verl-recipe's root on the path (its
# `recipe` a namespace package there, as verl's `recipe/` submodule is), the working directory that root, verl's
# external plugins off (this repository's entry point is not there in verl-recipe's environment).
CHILD = r"""
import json, sys
from pathlib import Path

repo, root, cases = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

configs = []
with initialize_config_dir(config_dir=str(root / "recipe" / "justrl"), version_base=None):
    for overrides in cases:
        configs.append(compose(config_name="justrl", overrides=overrides))
from verl.utils.import_utils import import_external_libs, load_class_from_fqn, load_extern_object

scores = []
for cfg in configs:
    import_external_libs(list(cfg.actor_rollout_ref.model.external_lib))
    load_class_from_fqn(cfg.actor_rollout_ref.rollout.agent.agent_loop_manager_class)
    load_class_from_fqn(cfg.trainer.checkpoint_callback_class)
    spec = cfg.reward.custom_reward_function
    fn = load_extern_object(spec.path, spec.name)
    kwargs = dict(spec.reward_kwargs)
    calls = [("math_dapo", "so \\boxed{7}", "7"), ("math_dapo", "so \\boxed{8}", "7"),
             ("math_dapo", "so \\boxed{\\dfrac{1}{2}}", "\\frac{1}{2}"), ("AIME24", "The answer is 204.", "204")]
    scores.append([fn(*call, **kwargs)["score"] for call in calls])
loaded = [(name, str(getattr(m, "__file__", None) or "")) for name, m in list(sys.modules.items())]
print(json.dumps({
    "configs": [OmegaConf.to_container(c, resolve=True) for c in configs],
    "scores": scores,
    "reward": sys.modules[fn.__module__].__file__,
    "from_repo": sorted(name for name, path in loaded  # this checkout's packages (its .venv may sit inside it too)
                        if any(path.startswith(f"{repo / top}/") for top in ("recipe", "reward", "eval", "data_prep"))),
}))
"""
CASES = [("deepseek", None), ("nemotron", "lenient_verifier")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("verl-recipe")
    assert main([str(root / "recipe")]) == 0
    cases = [recipe_overrides(model, ablation) for model, ablation in CASES]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"VERL_USE_EXTERNAL_PLUGINS": "none"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(REPO), str(root), json.dumps(cases)],
        cwd=root, env={**env, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-5000:]
    return root, cases, json.loads(out.stdout.strip().splitlines()[-1])


def test_it_composes_into_the_recipes_config_with_its_modules_moved(exported):
    _, cases, result = exported
    modules = exported_modules()
    for overrides, theirs in zip(cases, result["configs"], strict=True):
        ours = OmegaConf.to_container(compose_recipe(overrides), resolve=True)
        assert json.loads(rewrite(json.dumps(ours), modules, "justrl")) == theirs, overrides


def test_it_loads_every_extension_and_scores_with_its_own_reward_without_this_repository(exported):
    root, _, result = exported
    assert result["from_repo"] == []  # nothing imported from this checkout
    assert result["reward"] == str(root / "recipe" / "justrl" / "reward" / "score.py")
    # strict: right +1, wrong -1, `\dfrac` for `\frac` wrong; lenient accepts that; validation: math-verify, 1/0, over
    # the whole response (its checker host started from the export's own package)
    assert result["scores"] == [[1.0, -1.0, -1.0, 1.0], [1.0, -1.0, 1.0, 1.0]]


def test_it_has_verl_recipes_files_and_moves_only_what_it_exports(exported):
    root, _, _ = exported
    folder = root / "recipe" / "justrl"
    assert {"README.md", "REQUIRED_VERL.txt", "justrl.yaml", "__init__.py"} <= {p.name for p in folder.iterdir()}
    assert "pkg://recipe.justrl.reward.score" in (folder / "justrl.yaml").read_text()
    assert moved("reward.score", "justrl") == "recipe.justrl.reward.score"
    assert rewrite("python -m recipe.tools.fidelity; reward.reward_kwargs", exported_modules(), "justrl") == (
        "python -m recipe.tools.fidelity; reward.reward_kwargs"  # not exported, and a config key, stay
    )
    assert main([str(root / "recipe")]) == 1  # an existing export is kept unless --force


def test_required_verl_is_in_verl_recipes_form_and_pins_the_verl_of_the_requirements():
    import importlib.metadata
    import re

    fields = dict(
        line.split("=", 1) for line in (REPO / "recipe" / "REQUIRED_VERL.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )  # fmt: skip
    assert fields["MODE"] == "pinned_tag" and fields["UPSTREAM"] == "https://github.com/verl-project/verl.git"
    version = importlib.metadata.version("verl")
    assert fields["TAG"] == f"v{version}" and fields["PIP_INSTALL"] == f"pip install verl=={version}"
    for requirements in ("requirements.txt", "requirements-cpu.txt"):
        assert re.search(rf"^verl\[[\w,-]+\]=={re.escape(version)}$", (REPO / requirements).read_text(), re.M)
