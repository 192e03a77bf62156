"""Reading a source dataset: a local .parquet / .jsonl file or a hub dataset id, as arrow record batches."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.schema import DataError

BATCH_ROWS = 65_536
LOCAL_SUFFIXES = (".parquet", ".jsonl", ".json")


def is_local(source: str) -> bool:
    return os.path.exists(source) or source.endswith(LOCAL_SUFFIXES)


def _hub_table(source: str, splits: Sequence[str]) -> pa.Table:
    import datasets

    found = datasets.load_dataset(source)
    split = next((s for s in splits if s in found), next(iter(found)))
    return found[split].data.table


def read_batches(source: str, splits: Sequence[str] = ("train",)) -> tuple[pa.Schema, int, Iterator[pa.RecordBatch]]:
    """(schema, row count, record batches) of a local parquet/jsonl file or a hub dataset id. For a hub dataset the
    first of `splits` that it has is read (else its first split)."""
    if not is_local(source):
        table = _hub_table(source, splits)
        return table.schema, table.num_rows, iter(table.to_batches(max_chunksize=BATCH_ROWS))
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{source}: no such file")
    if path.suffix == ".parquet":
        pf = pq.ParquetFile(path)
        return pf.schema_arrow, pf.metadata.num_rows, pf.iter_batches(batch_size=BATCH_ROWS)
    if path.suffix in (".jsonl", ".json"):
        import pyarrow.json as pj

        table = pj.read_json(path)
        return table.schema, table.num_rows, iter(table.to_batches(max_chunksize=BATCH_ROWS))
    raise DataError(f"{source}: expected a {' / '.join(LOCAL_SUFFIXES)} file")


def read_rows(source: str, splits: Sequence[str] = ("train",)) -> list[dict]:
    """Every row of `source` as a dict (small datasets: the benchmarks)."""
    _, _, batches = read_batches(source, splits)
    return [row for batch in batches for row in batch.to_pylist()]
