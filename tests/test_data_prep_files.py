"""data_prep.files: outputs appear whole or not at all, with the user's umask."""

from __future__ import annotations

import os
import stat

import pytest

from data_prep.files import atomic_output, write_rows_atomic


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_keep_the_users_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_rows_atomic(tmp_path / "rows.parquet", [{"a": 1}])
        with atomic_output(tmp_path / "report.md") as tmp:
            open(tmp, "w").write("x")
    finally:
        os.umask(old)
    for name in ("rows.parquet", "report.md"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        open(tmp, "w").write("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_an_output_path_that_cannot_be_written_is_said_before_any_work(tmp_path, capsys):
    """data_prep's and eval's commands name an unusable output path in one line, exit 2, before reading anything."""
    from data_prep.benchmarks import main as benchmarks
    from data_prep.dapo_math import main as dapo_math
    from data_prep.files import output_problem
    from eval.generate import main as generate

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert output_problem(tmp_path / "new" / "x.parquet") is None and output_problem(tmp_path, folder=True) is None
    assert output_problem(tmp_path) == (
        f"{tmp_path} is a folder; give a file path in it (for example {tmp_path}/out.parquet)"
    )
    assert output_problem(blocker / "x.parquet") == f"{blocker}/x.parquet: {blocker} is a file, not a folder"
    assert output_problem(blocker, folder=True) == f"{blocker} is a file, not a folder"
    for command, argv, said in [
        (dapo_math, ["--input", "no/such-hub-id", "--output", str(blocker / "x.parquet")], "error: --output "),
        (dapo_math, ["--input", "no/such-hub-id", "--output", str(tmp_path)], "error: --output "),
        (benchmarks, ["--output-dir", str(blocker)], "error: --output-dir "),
        (generate, ["--model", "no/such-model", "--output-dir", str(blocker / "out")], "error: --output-dir "),
    ]:
        assert command(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(said) and err.count("\n") == 1, err
