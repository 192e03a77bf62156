"""data_prep.sources and the converters' command lines: every unreadable input is a one-line error naming the file
(and line), with exit code 2, and any existing output is left as it was."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep.benchmarks import main as prepare_benchmarks
from data_prep.dapo_math import main as prepare_dapo
from data_prep.schema import DataError
from data_prep.sources import read_batches, read_rows

ROWS = [{"prompt": [{"content": f"{i}+1?", "role": "user"}], "reward_model": {"ground_truth": str(i + 1)}}
        for i in range(50)]  # fmt: skip


def good_parquet(path):
    pq.write_table(pa.Table.from_pylist(ROWS), path)
    return path


def bad_inputs(tmp_path) -> dict[str, tuple[str, str]]:
    """name -> (source, what the error must say)"""
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(good_parquet(tmp_path / "whole.parquet").read_bytes()[:-100])
    corrupt = tmp_path / "corrupt.parquet"
    data = bytearray((tmp_path / "whole.parquet").read_bytes())
    data[8:400] = b"\xff" * 392  # the column data, past the magic bytes
    corrupt.write_bytes(bytes(data))
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS).slice(0, 0), empty)
    zero = tmp_path / "zero.parquet"
    zero.write_bytes(b"")
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"a": 1}\n{"a": 2}\n{"a": 3,\n{"a": 4}\n')
    return {
        "truncated parquet": (str(truncated), "truncated.parquet: not a readable parquet file"),
        "corrupt parquet": (str(corrupt), "corrupt.parquet: "),
        "empty parquet": (str(empty), "empty.parquet: no rows"),
        "zero-byte file": (str(zero), "zero.parquet: not a readable parquet file"),
        "malformed jsonl line": (str(jsonl), "bad.jsonl: line 3 is not valid JSON"),
        "missing local path without extension": (str(tmp_path / "data"), "no such file"),
        "unknown suffix": (str(tmp_path / "rows.csv"), "no such file"),
    }


@pytest.mark.parametrize(
    "kind",
    ["truncated parquet", "corrupt parquet", "empty parquet", "zero-byte file", "malformed jsonl line",
     "missing local path without extension", "unknown suffix"],
)  # fmt: skip
def test_unreadable_sources_are_errors_naming_the_file(tmp_path, kind):
    source, message = bad_inputs(tmp_path)[kind]
    with pytest.raises(DataError, match=message.replace(".", r"\.")):
        read_rows(source)


@pytest.mark.parametrize("kind", ["truncated parquet", "corrupt parquet", "empty parquet", "malformed jsonl line"])
def test_the_converters_exit_2_with_one_line_and_keep_existing_output(tmp_path, capsys, kind):
    source, message = bad_inputs(tmp_path)[kind]
    output = tmp_path / "out.parquet"
    output.write_bytes(b"previous output")
    assert prepare_dapo(["--input", source, "--output", str(output)]) == 2
    err = capsys.readouterr().err
    error = err[err.index("error: ") :]  # after the progress bar
    assert message in error and len(error.strip().splitlines()) == 1
    assert output.read_bytes() == b"previous output"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []  # no temporary left


def test_a_benchmark_directory_with_a_bad_file_is_an_error_naming_it(tmp_path, capsys):
    (tmp_path / "in" / "AIME24").mkdir(parents=True)
    (tmp_path / "in" / "AIME24" / "test.parquet").write_bytes(b"PAR1 not really")
    assert prepare_benchmarks(["--output-dir", str(tmp_path / "out"), "--input-dir", str(tmp_path / "in"),
                               "--benchmarks", "AIME24"]) == 2  # fmt: skip
    assert "AIME24/test.parquet: not a readable parquet file" in capsys.readouterr().err


def test_a_good_file_reads_whole(tmp_path):
    schema, rows, batches = read_batches(str(good_parquet(tmp_path / "ok.parquet")))
    assert rows == 50 and sum(b.num_rows for b in batches) == 50 and "prompt" in schema.names


def test_no_module_runs_hub_code_by_default():
    import subprocess

    from conftest import REPO

    sources = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True).stdout.split()
    assert not [f for f in sources if "trust_remote_code=True" in (REPO / f).read_text() and "tests/" not in f]
