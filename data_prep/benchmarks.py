"""The nine evaluation benchmarks and the three in-training validation sets -> verl parquet, one file each.

    python -m data_prep.benchmarks --output-dir data/benchmarks                  # JustRL's own files (the default)
    python -m data_prep.benchmarks --output-dir data/benchmarks --mirror DIR     # the same, from a local copy
    python -m data_prep.benchmarks --output-dir data/benchmarks --source hub     # from their hub ids
    python -m data_prep.benchmarks --output-dir data/benchmarks --input-dir DIR  # any DIR/<NAME>/test.parquet

By default the files are JustRL's own, fetched from its repository at the pinned commit and checked against their
recorded sha256 (data_prep/published.py): the nine parquets its evaluation read, and the three JSON sets its training
run validated on (AIME24/AIME25/AMC23, whose problem texts differ in places from the evaluation copies). The
validation sets become OUT/validation/<NAME>.parquet as the published `train/data/preprocess.py` built them (one user
message with the problem, `data_source=<NAME>`, the answer as the ground truth), with JustRL's training suffix
appended as its loader did; the recipe validates on those (recipe/justrl.yaml `data.val_files`). From the hub or
another folder, the validation files are the benchmark rows themselves.

Writes OUT/<NAME>.parquet with `data_source=<NAME>`, the training prompt (the problem plus JustRL's boxed-answer
instruction, which its loader applied to the validation sets too), a clean ground truth (a whole-string `\\boxed{}`
removed, `$` math delimiters removed) for the training reward's validation, and the problem and the answer as the
benchmark states them in `extra_info.problem` and `extra_info.answer` for the offline evaluation, which, as published,
prompts with the raw problem and grades against the stated answer. Sources come in several schemas (verl rows with
`prompt`/`reward_model`, MathArena's `problem`/`answer`, hub variants with `question`/`final_answer`/`solution`); the
columns are found by name.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

from tqdm import tqdm

from data_prep.files import output_problem, write_rows_atomic
from data_prep.protocol import HUB_IDS, TRAIN_VALIDATION, parse_benchmarks
from data_prep.published import PublishedFile, fetch
from data_prep.schema import DataError, first_user_content, verl_row
from data_prep.sources import read_rows
from reward.extract import last_boxed_answer
from reward.sources import BENCHMARKS

_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")


def clean_ground_truth(answer: str) -> str:
    """`\\boxed{204}` -> `204`; `$2^{1009}$` -> `2^{1009}`; surrounding whitespace removed."""
    answer = answer.strip()
    inner = last_boxed_answer(answer)
    if inner is not None and answer == "\\boxed{" + inner + "}":
        answer = inner.strip()
    return _UNESCAPED_DOLLAR.sub("", answer).strip()


def _problem(source: str, i: int, row: dict) -> str:
    if row.get("prompt") is not None and not isinstance(row["prompt"], str):
        return first_user_content(source, i, row["prompt"])
    for key in ("problem", "question", "prompt"):
        if isinstance(row.get(key), str):
            return row[key]
    raise DataError(f"{source}: row {i}: no problem text (looked for 'prompt', 'problem', 'question')")


def _answer(source: str, i: int, row: dict) -> str:
    reward_model = row.get("reward_model")
    if isinstance(reward_model, dict) and reward_model.get("ground_truth") is not None:
        return str(reward_model["ground_truth"])
    for key in ("answer", "final_answer"):
        value = row.get(key)
        if isinstance(value, list | tuple) and value:
            return ", ".join(str(v) for v in value)
        if value is not None and not isinstance(value, list | tuple):
            return str(value)
    if isinstance(row.get("solution"), str) and last_boxed_answer(row["solution"]) is not None:
        return last_boxed_answer(row["solution"])
    raise DataError(
        f"{source}: row {i}: no answer (looked for 'reward_model.ground_truth', 'answer', 'final_answer', "
        "a boxed 'solution')"
    )


def convert(name: str, source: str) -> list[dict]:
    """Rows of benchmark `name` (read from `source`, a parquet path or hub id) in verl's schema."""
    rows = []
    for i, row in enumerate(read_rows(source, splits=("test",))):
        problem, stated = _problem(source, i, row), _answer(source, i, row)
        answer = clean_ground_truth(stated)
        if not answer:
            raise DataError(f"{source}: row {i}: empty answer")
        extra_info = {"index": i, "split": "test", "problem": problem, "answer": stated.strip()}
        rows.append(verl_row(name, problem, answer, "math", extra_info))
    if not rows:
        raise DataError(f"{source}: no rows")
    return rows


def validation_rows(name: str, data: bytes, where: str) -> list[dict]:
    """JustRL's in-training validation set (`train/data/<NAME>/test.json`) as its `train/data/preprocess.py` made it:
    one user message with the problem, the answer as the ground truth, `data_source=<NAME>` (and the training
    suffix, which the fork's loader appended)."""
    try:
        items = json.loads(data)
    except ValueError as err:
        raise DataError(f"{where}: not valid JSON ({err})") from err
    if not isinstance(items, list) or not items:
        raise DataError(f"{where}: expected a non-empty JSON list of {{prompt, answer}}")
    rows = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("prompt"), str) or item.get("answer") is None:
            raise DataError(f"{where}: item {i}: expected 'prompt' (a string) and 'answer'")
        extra_info = {"index": i, "split": "test", "published_index": f"{name}-{i}"}  # preprocess.py's index
        rows.append(verl_row(name, item["prompt"], str(item["answer"]), "math", extra_info))
    return rows


def published_rows(name: str, mirror: Path | None) -> tuple[list[dict], str]:
    """A benchmark's evaluation rows from JustRL's own parquet, read after its checksum matched."""
    data, where = fetch(PublishedFile(name, "evaluation"), mirror)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "test.parquet"
        local.write_bytes(data)
        return convert(name, str(local)), where


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument(
        "--source",
        choices=["published", "hub"],
        default="published",
        help="JustRL's own files at the pinned commit (default), or the benchmarks' hub ids",
    )
    parser.add_argument(
        "--mirror", type=Path, help="a local copy of JustRL's files, DIR/<NAME>/{test.parquet,validation.json}"
    )
    parser.add_argument("--input-dir", help="any local copies laid out as <NAME>/test.parquet (not checked)")
    parser.add_argument(
        "--benchmarks",
        default="all",
        type=parse_benchmarks,
        help=f"'all' or a comma-separated subset of {','.join(BENCHMARKS)}",
    )
    args = parser.parse_args(argv)
    out_dir = Path(args.output_dir)
    problem = output_problem(out_dir, folder=True)
    if problem:
        print(f"error: --output-dir {problem}", file=sys.stderr)
        return 2
    try:
        for name in tqdm(args.benchmarks, desc="benchmarks", unit="benchmark"):
            if args.input_dir or args.source == "hub":
                source = str(Path(args.input_dir) / name / "test.parquet") if args.input_dir else HUB_IDS[name]
                rows = convert(name, source)
            else:
                rows, source = published_rows(name, args.mirror)
            write_rows_atomic(out_dir / f"{name}.parquet", rows)
            tqdm.write(f"{name}: {len(rows)} rows from {source} -> {out_dir / f'{name}.parquet'}")
            if name not in TRAIN_VALIDATION:
                continue
            if not args.input_dir and args.source == "published":
                data, source = fetch(PublishedFile(name, "validation"), args.mirror)
                rows = validation_rows(name, data, source)
            write_rows_atomic(out_dir / "validation" / f"{name}.parquet", rows)
            tqdm.write(f"{name}: {len(rows)} in-training validation rows from {source} -> "
                       f"{out_dir / 'validation' / f'{name}.parquet'}")  # fmt: skip
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
