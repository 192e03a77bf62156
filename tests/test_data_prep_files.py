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
