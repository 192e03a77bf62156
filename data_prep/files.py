"""Atomic file output: a file appears at its path complete, or not at all (parquets, reports, plots)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


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
