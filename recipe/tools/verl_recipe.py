"""The recipe as a folder for verl-recipe (verl-project/verl-recipe): `python -m recipe.tools.verl_recipe OUT`.

verl-recipe is verl's `recipe/` submodule: a recipe there is the folder `<name>/`, imported as the package
`recipe.<name>`, with its own README.md and REQUIRED_VERL.txt, and with everything it runs inside it (its reward
function too). This repository keeps its own layout (`recipe/` and `reward/` at the top level, imported as `recipe`
and `reward`), so its YAML names `recipe.policy_loss` and `pkg://reward.score`. The export writes `OUT/<name>/`:

- the YAML verl composes (`justrl.yaml`, `base_model/`, `ablation/`);
- the Python modules that YAML names, the modules of this repository they import (followed through their imports),
  and the whole reward package as `<name>/reward/` (the strict verifier and its ablations, with the checker host that
  bounds math-verify);
- in all of them, every dotted name of an exported module moved under `recipe.<name>`: `recipe.policy_loss` becomes
  `recipe.<name>.policy_loss`, `pkg://reward.score` becomes `pkg://recipe.<name>.reward.score`;
- REQUIRED_VERL.txt as it is, and a README in verl-recipe's form.

Nothing else is exported (the launch scripts, data preparation, evaluation, the CPU layer and the smoke stay here),
and nothing exported imports it: tests/test_recipe_tools_verl_recipe.py composes and loads the export with this
repository out of reach. The folder is written beside OUT/<name> and moved into place, so a failed export leaves
nothing half-written; `--force` replaces an existing one.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Iterable
from pathlib import Path

from recipe.protocol import RECIPE_DIR, base_models
from recipe.tools.compose import ablations as ablation_names

REPO = RECIPE_DIR.parent
PACKAGES = ("recipe", "reward", "eval")  # this repository's packages that exported code may import
YAML_DIRS = (".", "base_model", "ablation")
NAME = "justrl"
DOTTED = re.compile(rf"\b(?:{'|'.join(PACKAGES)})(?:\.[A-Za-z_]\w*)+")


def module_file(module: str) -> Path | None:
    """The file of one of this repository's modules (a package's `__init__.py`), or None if there is none."""
    path = REPO.joinpath(*module.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def yaml_files() -> list[Path]:
    return [p for d in YAML_DIRS for p in sorted((RECIPE_DIR / d).glob("*.yaml"))]


def imported_modules(path: Path) -> set[str]:
    """This repository's modules that a Python file imports (at any depth: imports inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return {n for n in names if n.split(".")[0] in PACKAGES and module_file(n)}


def named_module(dotted: str) -> tuple[str, str] | None:
    """(module, rest): the longest prefix of `dotted` that is one of this repository's modules, and what follows."""
    parts = dotted.split(".")
    for k in range(len(parts), 1, -1):
        if module_file(module := ".".join(parts[:k])):
            return module, dotted[len(module) :]
    return None


def yaml_strings(node) -> Iterable[str]:
    """Every string value in a parsed YAML file (not its comments)."""
    if isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            yield from yaml_strings(item)
    elif isinstance(node, str):
        yield node


def exported_modules() -> list[str]:
    """The modules the YAML's values name, the reward package whole, what they import, and the packages above each."""
    import yaml

    values = [v for p in yaml_files() for v in yaml_strings(yaml.safe_load(p.read_text()))]
    todo = {found[0] for m in values for match in DOTTED.finditer(m) if (found := named_module(match.group()))}
    todo |= {"reward", *(f"reward.{p.stem}" for p in (REPO / "reward").glob("*.py") if p.stem != "__init__")}
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        # the packages above it, but for `recipe` itself: the export writes its own `recipe.<name>/__init__.py`
        todo |= {".".join(parts[:k]) for k in range(1, len(parts))} - {"recipe"}
        todo |= imported_modules(module_file(module))
    return sorted(seen)


def moved(module: str, name: str) -> str:
    """Where an exported module lives in verl-recipe: `recipe.X` -> `recipe.<name>.X`, `reward.X` ->
    `recipe.<name>.reward.X`."""
    top, _, rest = module.partition(".")
    return f"recipe.{name}.{rest}" if top == "recipe" else f"recipe.{name}.{module}"


def rewrite(text: str, modules: Iterable[str], name: str) -> str:
    """`text` with each dotted name of an exported module (or of something in one) moved under `recipe.<name>`; the
    names of what is not exported (`recipe.tools.fidelity` in a comment) stay as they are."""
    modules = set(modules)

    def one(match: re.Match) -> str:
        found = named_module(match.group())
        return moved(found[0], name) + found[1] if found and found[0] in modules else match.group()

    return DOTTED.sub(one, text)


def readme(name: str, modules: list[str]) -> str:
    ablations = textwrap.fill(
        f"- An ablation: `+ablation@_global_=NAME`, NAME one of {', '.join(f'`{a}`' for a in ablation_names())}.",
        118, subsequent_indent="  ", break_on_hyphens=False,
    )  # fmt: skip
    models = ", ".join(f"`{m}`" for m in base_models())
    files = "\n".join(f"- `{moved(m, name)}`" for m in modules)
    return f"""# JustRL

JustRL (THUNLP, arXiv 2512.16649) trains 1.5B math models with plain GRPO: one stage, fixed hyperparameters, no KL,
no entropy bonus, no length penalty, no curriculum, no dynamic sampling, and a strict boxed-answer reward (+1 / -1).
The published run used a fork of verl 0.4.0; this recipe is the same run as Hydra overlays on verl's `ppo_trainer`.
Every value in `justrl.yaml` has its source in a comment beside it.

## Run

From verl's root, with verl-recipe as its `recipe/` submodule:

```bash
python -m verl.trainer.main_ppo --config-path="$PWD/recipe/{name}" --config-name=justrl \\
    base_model=deepseek justrl.data_dir=DATA justrl.checkpoint_dir=CKPTS trainer.nnodes=4 trainer.n_gpus_per_node=8
```

- `base_model=`: {models} (the model and the length of its run).
{ablations}
- Data: `DATA/dapo_math_17k.parquet` (DAPO-Math-17k) and `DATA/benchmarks/validation/{{AIME24,AIME25,AMC23}}.parquet`,
  in verl's RL schema with `data_source` `math_dapo` for training and the benchmark's name for validation.

## What is in it

The extensions the YAML loads, and the reward (`recipe.{name}.reward.score.compute_score`: the strict verifier in
training, math-verify in validation, as the published run scored them):

{files}

## Required `verl` version

See [`REQUIRED_VERL.txt`](REQUIRED_VERL.txt).
"""


def export(out: Path, name: str = NAME, force: bool = False) -> Path:
    """Write the recipe as verl-recipe's folder `out/name`; returns it."""
    dest = out / name
    if dest.exists() and not force:
        raise FileExistsError(f"{dest} exists; --force replaces it")
    modules = exported_modules()
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out))
    try:
        for module in modules:
            src = module_file(module)
            target = scratch.joinpath(*moved(module, name).split(".")[2:])
            target = target / "__init__.py" if src.name == "__init__.py" else target.with_suffix(".py")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rewrite(src.read_text(), modules, name))
        for path in yaml_files():
            target = scratch / path.relative_to(RECIPE_DIR)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rewrite(path.read_text(), modules, name))
        (scratch / "__init__.py").write_text('"""JustRL: single-stage GRPO, fixed hyperparameters (README.md)."""\n')
        shutil.copyfile(RECIPE_DIR / "REQUIRED_VERL.txt", scratch / "REQUIRED_VERL.txt")
        (scratch / "README.md").write_text(readme(name, modules))
        if dest.exists():
            shutil.rmtree(dest)
        scratch.rename(dest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recipe.tools.verl_recipe", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the folder to write <name>/ into (verl-recipe's root)")
    parser.add_argument("--name", default=NAME, help=f"the recipe's folder and package name (default {NAME})")
    parser.add_argument("--force", action="store_true", help="replace an existing OUT/<name>")
    args = parser.parse_args(argv)
    try:
        dest = export(args.out, args.name, args.force)
    except FileExistsError as error:
        print(f"verl_recipe: {error}", file=sys.stderr)
        return 1
    print(f"verl_recipe: wrote {dest} ({sum(1 for p in dest.rglob('*') if p.is_file())} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
