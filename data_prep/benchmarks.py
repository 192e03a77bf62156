"""The nine evaluation benchmarks -> verl parquet, one file per benchmark.

    python -m data_prep.benchmarks --output-dir data/benchmarks                        # from the hub
    python -m data_prep.benchmarks --output-dir data/benchmarks --input-dir DIR        # DIR/<NAME>/test.parquet

Writes DIR/<NAME>.parquet with `data_source=<NAME>`, the training prompt (the problem plus JustRL's boxed-answer
instruction, which its loader applied to the validation sets too), a clean ground truth (a whole-string `\\boxed{}`
removed, `$` math delimiters removed) for the training reward's validation, and the problem and the answer as the
benchmark states them in `extra_info.problem` and `extra_info.answer` for the offline evaluation, which, as published,
prompts with the raw problem and grades against the stated answer. Sources come in several schemas (verl rows with
`prompt`/`reward_model`, MathArena's `problem`/`answer`, hub variants with `question`/`final_answer`/`solution`); the
columns are found by name.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tqdm import tqdm

from data_prep.files import write_rows_atomic
from data_prep.schema import DataError, first_user_content, verl_row
from data_prep.sources import read_rows
from recipe.protocol import BENCHMARKS, HUB_IDS, parse_benchmarks
from reward.extract import last_boxed_answer

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--input-dir", help="local copies laid out as <NAME>/test.parquet (default: the hub)")
    parser.add_argument(
        "--benchmarks",
        default="all",
        type=parse_benchmarks,
        help=f"'all' or a comma-separated subset of {','.join(BENCHMARKS)}",
    )
    args = parser.parse_args(argv)
    try:
        for name in tqdm(args.benchmarks, desc="benchmarks", unit="benchmark"):
            source = str(Path(args.input_dir) / name / "test.parquet") if args.input_dir else HUB_IDS[name]
            rows = convert(name, source)
            out = Path(args.output_dir) / f"{name}.parquet"
            write_rows_atomic(out, rows)
            tqdm.write(f"{name}: {len(rows)} rows from {source} -> {out}")
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
