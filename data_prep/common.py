"""Shared pieces of data preparation: verl's row schema, the prompt suffix, reading sources, atomic writes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# JustRL's data loader appended this to the first user message, for training and for in-training validation
# (../shared/RECIPE.md). Upstream verl has no such option, so it is written into the parquet here.
BOXED_SUFFIX = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."

BATCH_ROWS = 65_536


class DataError(ValueError):
    """Bad input data: the message names the file, and the column or row."""


def user_prompt(content: str) -> list[dict[str, str]]:
    """verl's `prompt` column: one user message carrying the boxed-answer instruction."""
    return [{"content": content + BOXED_SUFFIX, "role": "user"}]


def verl_row(data_source: str, content: str, ground_truth: str, ability: str, extra_info: dict) -> dict:
    return {
        "data_source": data_source,
        "prompt": user_prompt(content),
        "ability": ability,
        "reward_model": {"ground_truth": ground_truth, "style": "rule"},
        "extra_info": extra_info,
    }


def is_local(source: str) -> bool:
    return os.path.exists(source) or source.endswith((".parquet", ".jsonl", ".json"))


def read_batches(source: str, split: str = "train") -> tuple[pa.Schema, int, Iterator[pa.RecordBatch]]:
    """(schema, row count, record batches) of a local parquet/jsonl file or a hub dataset id."""
    if is_local(source):
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
        raise DataError(f"{source}: expected a .parquet or .jsonl file")
    import datasets

    table = datasets.load_dataset(source, split=split).data.table
    return table.schema, table.num_rows, iter(table.to_batches(max_chunksize=BATCH_ROWS))


def require_columns(source: str, schema: pa.Schema, columns: dict[str, str]) -> None:
    """Fail with the file and column when a required column is missing or of the wrong kind."""
    for name, kind in columns.items():
        if name not in schema.names:
            raise DataError(f"{source}: missing column {name!r} (columns: {', '.join(schema.names)})")
        typ = schema.field(name).type
        ok = {
            "messages": pa.types.is_list(typ) or pa.types.is_large_list(typ),
            "struct": pa.types.is_struct(typ),
        }[kind]
        if not ok:
            raise DataError(f"{source}: column {name!r} has type {typ}, expected {kind}")


def first_user_content(source: str, row: int, messages) -> str:
    """The content of the first user message of a `prompt` cell, or a DataError naming the row."""
    for message in messages or ():
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if not isinstance(content, str):
                raise DataError(f"{source}: row {row}: column 'prompt' user content is {type(content).__name__}")
            return content
    raise DataError(f"{source}: row {row}: column 'prompt' has no user message")


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[str]:
    """A temporary path beside `path` to write to; renamed onto `path` only if the block succeeds, else removed.
    Readers see the old file or the complete new one, never a half-written one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
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


class PromptLength:
    """Prompt length in tokens after the chat template, computed as verl's RLHFDataset filter does, cached."""

    def __init__(self, tokenizer_path: str):
        from transformers import AutoTokenizer
        from verl.utils.tokenizer import normalize_token_ids

        self._normalize = normalize_token_ids
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_path, trust_remote_code=True)
        self._cache: dict[str, int] = {}

    def __call__(self, messages: list[dict]) -> int:
        key = messages[0]["content"]
        if key not in self._cache:
            ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            self._cache[key] = len(self._normalize(ids))
        return self._cache[key]
