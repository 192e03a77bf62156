"""Reading a source dataset: a local .parquet / .jsonl file or a hub dataset id, as arrow record batches.

Every way a source can be unreadable (missing, truncated, corrupt, empty, a malformed JSON line, a hub id that does
not load) is a `DataError` that names the file and, where there is one, the line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.schema import DataError

BATCH_ROWS = 65_536
LOCAL_SUFFIXES = (".parquet", ".jsonl", ".json")
HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")  # owner/name


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def is_local(source: str) -> bool:
    """A path (existing, or written as one) rather than a hub id `owner/name`."""
    return os.path.exists(source) or source.endswith(LOCAL_SUFFIXES) or not HUB_ID.fullmatch(source)


def _hub_table(source: str, splits: Sequence[str]) -> pa.Table:
    import datasets

    try:
        found = datasets.load_dataset(source)
    except Exception as err:  # datasets raises many types (network, missing repo, bad config)
        raise DataError(
            f"{source}: no such local file, and not loadable as a hub dataset ({type(err).__name__}: "
            f"{_one_line(err)[:300]}); without the hub, give a local copy: --input FILE (.parquet or .jsonl)"
        ) from err
    split = next((s for s in splits if s in found), next(iter(found)))
    return found[split].data.table


def _parquet(path: Path) -> tuple[pa.Schema, int, Iterator[pa.RecordBatch]]:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{path}: not a readable parquet file ({_one_line(err)})") from err

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from pf.iter_batches(batch_size=BATCH_ROWS)
        except (pa.ArrowException, OSError) as err:  # a file cut short or corrupt past its footer
            raise DataError(f"{path}: corrupt parquet data ({_one_line(err)})") from err

    return pf.schema_arrow, pf.metadata.num_rows, batches()


def _first_bad_json_line(path: Path) -> str:
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            if line.strip():
                try:
                    json.loads(line)
                except ValueError as err:
                    return f"line {number} is not valid JSON ({err})"
    return "not readable as JSON lines"


def _jsonl(path: Path) -> tuple[pa.Schema, int, Iterator[pa.RecordBatch]]:
    import pyarrow.json as pj

    try:
        table = pj.read_json(path)
    except pa.ArrowException as err:
        bad = _first_bad_json_line(path)  # a line that is not JSON at all, or else what arrow could not read
        raise DataError(f"{path}: {bad}" + (f" ({_one_line(err)})" if bad.startswith("not readable") else "")) from err
    return table.schema, table.num_rows, iter(table.to_batches(max_chunksize=BATCH_ROWS))


def read_batches(source: str, splits: Sequence[str] = ("train",)) -> tuple[pa.Schema, int, Iterator[pa.RecordBatch]]:
    """(schema, row count, record batches) of a local parquet/jsonl file or a hub dataset id. For a hub dataset the
    first of `splits` that it has is read (else its first split). An empty source is an error."""
    if is_local(source):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"{source}: no such file (a hub dataset id is written owner/name)")
        if path.suffix == ".parquet":
            schema, rows, batches = _parquet(path)
        elif path.suffix in (".jsonl", ".json"):
            schema, rows, batches = _jsonl(path)
        else:
            raise DataError(f"{source}: expected a {' / '.join(LOCAL_SUFFIXES)} file")
    else:
        table = _hub_table(source, splits)
        schema, rows, batches = table.schema, table.num_rows, iter(table.to_batches(max_chunksize=BATCH_ROWS))
    if rows == 0:
        raise DataError(f"{source}: no rows")
    return schema, rows, batches


def read_rows(source: str, splits: Sequence[str] = ("train",)) -> list[dict]:
    """Every row of `source` as a dict (small datasets: the benchmarks)."""
    _, _, batches = read_batches(source, splits)
    return [row for batch in batches for row in batch.to_pylist()]
