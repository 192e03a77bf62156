"""The README's quickstart commands are the ones CI runs."""

from __future__ import annotations

from conftest import REPO


def ci_commands() -> list[str]:
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    return [line for line in lines if line.startswith(("pip install", "python -m pytest"))]


def test_ci_runs_exactly_the_readme_install_and_test_commands():
    readme = (REPO / "README.md").read_text()
    commands = ci_commands()
    assert len(commands) == 2
    for command in commands:
        assert f"\n{command}\n" in readme, command
