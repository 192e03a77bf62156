"""The README's commands: CI runs its install and test commands, and every command it names exists; no file of the
project sends a reader to a path outside the repository."""

from __future__ import annotations

import importlib.util
import re
import subprocess

import pytest
from conftest import REPO

DOCS = [
    "README.md",
    "recipe/README.md",
    "recipe/cpu/README.md",
    "recipe/upstream/README.md",
    "recipe/smoke/README.md",
    "launch/README.md",
    "data_prep/README.md",
    "reward/README.md",
    "eval/README.md",
    "tests/README.md",
]


def ci_commands() -> list[str]:
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    return [line for line in lines if line.startswith(("pip install", "python -m pytest"))]


def test_ci_runs_exactly_the_readme_install_and_test_commands():
    readme = (REPO / "README.md").read_text()
    commands = ci_commands()
    assert len(commands) == 2
    for command in commands:
        assert f"\n{command}\n" in readme, command


def tracked_files() -> list[str]:
    return subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.parametrize("doc", DOCS)
def test_every_command_a_doc_names_exists(doc):
    text = (REPO / doc).read_text()
    modules = set(re.findall(r"python -m ([\w.]+)", text)) - {"pytest"}
    for module in modules:
        assert importlib.util.find_spec(module) is not None, f"{doc}: python -m {module}"
    for script in re.findall(r"(?:bash|python) ((?:launch|tests)/[\w/.]+\.(?:sh|py))", text):
        assert (REPO / script).is_file(), f"{doc}: {script}"
    for link in re.findall(r"\]\(([\w/.]+)\)", text):
        assert ((REPO / doc).parent / link).exists(), f"{doc}: link {link}"


def test_no_file_outside_tests_points_outside_the_repository():
    # Tests may read ../shared/benchmarks as optional data; nothing else may send a reader there.
    outside = re.compile(r"\.\./shared|VERL_CPU\.md|RECIPE\.md")
    offenders = [
        path
        for path in tracked_files()
        if not path.startswith("tests/") and (REPO / path).is_file() and outside.search((REPO / path).read_text())
    ]
    assert offenders == []


def test_every_folder_has_its_readme_and_the_readme_lists_them_all():
    readme = (REPO / "README.md").read_text()
    for doc in DOCS[1:]:
        assert f"]({doc})" in readme, doc
    assert len(readme.splitlines()) <= 200


@pytest.mark.parametrize("doc", DOCS)
def test_no_guide_carries_a_commit_hash_or_a_before_and_after(doc):
    text = (REPO / doc).read_text()
    assert not re.search(r"\b(landed main|this checkout beside|[Mm]easured at [0-9a-f]{7})\b", text), doc


ROOMS = ("reward", "data_prep", "eval", "recipe")  # lowest first: a room imports only the rooms before it
TEST_MODULES = {p.stem for p in (REPO / "tests").rglob("*.py")}


def imported_top_levels(path) -> set[str]:
    """The top-level names a Python file imports, at any depth (imports inside functions too)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("room", ROOMS[:-1])
def test_no_room_imports_a_room_above_it(room):
    """reward < data_prep < eval < recipe (README's tree says why): the published facts live in the room that owns
    them, and recipe/ composes everything on top."""
    above = set(ROOMS[ROOMS.index(room) + 1 :])
    offenders = {
        str(path.relative_to(REPO)): sorted(imported_top_levels(path) & above)
        for path in (REPO / room).rglob("*.py")
        if imported_top_levels(path) & above
    }
    assert offenders == {}


def test_what_verl_loads_in_a_worker_never_imports_a_test_module():
    """The modules the recipe's YAML names (losses, rewards, sampler, callbacks: loaded in Ray workers) and all they
    import (recipe/tools/verl_recipe.py follows them, as its export does)."""
    from recipe.tools.verl_recipe import exported_modules, module_file

    for module in exported_modules():
        assert not imported_top_levels(module_file(module)) & TEST_MODULES, module
