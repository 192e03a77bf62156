"""Append-only JSONL files that survive a SIGKILL: each record is one line, flushed and fsynced as written; a line
cut short by a crash is skipped with a note when read, and truncated away when the file is next opened for appending.
A damaged line anywhere else is an error naming the file and the line (`CorruptRecord`); the commands that read these
files say so in one line (`one_line_errors`), and an interrupted command says what it kept."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path


class CorruptRecord(ValueError):
    """A line of a JSONL file that is not a JSON record, and not the torn last line of a crash."""


def read_records(path: Path) -> Iterator[dict]:
    """Complete records of `path` (none if it does not exist); a torn last line is skipped, with a note."""
    if not path.exists():
        return
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.endswith(b"\n"):  # torn by a crash mid-write
                print(f"note: {path}:{number}: an incomplete last line (a write cut short) is skipped; it is dropped "
                      "when the file is next appended to", file=sys.stderr)  # fmt: skip
                return
            try:
                yield json.loads(line)
            except json.JSONDecodeError as err:
                raise CorruptRecord(
                    f"{path}:{number}: not a JSON record ({err.msg}); fix or remove that line, or start the file afresh"
                ) from None


def one_line_errors(main: Callable[..., int]) -> Callable[..., int]:
    """A command's `main`: a damaged record is one line naming the file and line (exit 2), and Ctrl-C one line
    saying that what was written is kept (exit 130), instead of a traceback."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs)
        except CorruptRecord as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted: every record written so far is kept; rerun the same command to go on", file=sys.stderr)
            return 130

    return wrapper


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
