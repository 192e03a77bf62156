"""Append-only JSONL files that survive a SIGKILL: each record is one line, flushed and fsynced as written; a line
cut short by a crash is dropped (and truncated away) when the file is next opened for appending."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path


def read_records(path: Path) -> Iterator[dict]:
    """Complete records of `path` (none if it does not exist); a torn last line is skipped."""
    if not path.exists():
        return
    with path.open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                return  # torn by a crash mid-write
            yield json.loads(line)


def _drop_torn_tail(path: Path) -> None:
    with path.open("rb+") as f:
        data = f.read()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            f.truncate(end)


class Appender:
    """Append records to a JSONL file, durably, one line each."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            _drop_torn_tail(path)
        self.file = path.open("a", encoding="utf-8")

    def write(self, records: Iterable[dict]) -> None:
        for record in records:
            self.file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Appender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
