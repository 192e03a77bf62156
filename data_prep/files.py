"""Atomic file output: a file appears at its path complete, or not at all (parquets, reports, plots)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def output_problem(path: str | os.PathLike, folder: bool = False) -> str | None:
    """Why `path` cannot be written as an output file (or, with `folder`, an output folder), in words, or None:
    a folder where a file is wanted (or the reverse), a file in its parents, or a place that cannot be written (a
    read-only file system, missing permissions; probed with a temporary file in the nearest existing folder). Said
    before any expensive work, so that a run never ends in a traceback at its first write."""
    path = Path(path)
    if not folder and path.is_dir():
        return f"{path} is a folder; give a file path in it (for example {path / 'out.parquet'})"
    if folder and path.exists() and not path.is_dir():
        return f"{path} is a file, not a folder"
    existing = next(p for p in (path if folder else path.parent, *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        return f"{path}: {existing} is a file, not a folder"
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        return f"{path} cannot be written: {existing}: {err.strerror}"
    return None


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[str]:
    """A temporary path beside `path` to write to; renamed onto `path` only if the block succeeds, else removed.
    Readers see the old file or the complete new one, never a half-written one. The file is created with the
    user's umask, as any other file they write (not mkstemp's owner-only mode)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = str(path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp")
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class AtomicParquetWriter:
    """A parquet file that appears at `path` only when complete (see `atomic_output`)."""

    def __init__(self, path: str | os.PathLike, schema: pa.Schema):
        self._output = atomic_output(path)
        self.writer = pq.ParquetWriter(self._output.__enter__(), schema)

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table)

    def __enter__(self) -> AtomicParquetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.writer.close()
        self._output.__exit__(exc_type, exc, tb)


def write_rows_atomic(path: str | os.PathLike, rows: list[dict]) -> None:
    table = pa.Table.from_pylist(rows)
    with AtomicParquetWriter(path, table.schema) as writer:
        writer.write(table)
