"""QuestA's hinted training prompts -> verl parquet: the first `ratio`% of a reference solution added to each problem.

    python -m data_prep.questa --ratio 50 --output data/questa_50.parquet          # from the hub
    python -m data_prep.questa --input FILE --ratio 25 --output data/questa_25.parquet

QuestA (Li et al., arXiv 2507.13266; foreverlasting1202/QuestA, `AReaL/datasets/add_prefix.py`) trains on hard
OpenR1-Math-220k problems with part of a solution in the prompt: 50% in its first stage, 25% in its second. Each input
row has `problem`, `generation` (a reasoning trace whose solution follows the last `</think>`) and `answer`; the
input is the released data (hub id `foreverlasting1202/QuestA`, the default) or any .jsonl/.parquet with those
columns. As the published script does:
- a `generation` wrapped in double quotes loses the first and the last character;
- the solution is the part of `generation` after its last `</think>`, and the hint its first `int(len * ratio / 100)`
  characters;
- the prompt is `problem + "\\n\\n## Hint." + hint`, or `problem + "\\n\\n"` when the hint is under 10 characters, as
  one user message with nothing appended (QuestA's prompts carry no boxed-answer instruction);
- a row whose `answer` does not occur in its solution is dropped;
- the ground truth is the `answer` (QuestA boxes it for its own grader; verl's rewards take it bare).
Rows are `data_source="math_dapo"` (so the recipe's training reward scores them; recipe/ablation/questa.yaml selects
the lenient verifier). It prints rows read, dropped and written, shows progress, and writes atomically; unreadable
input or a missing column is a one-line `error:` naming the file and row.
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from data_prep.files import write_rows_atomic
from data_prep.schema import DataError, verl_row
from data_prep.sources import read_batches
from reward.sources import TRAIN_SOURCE

HUB_ID = "foreverlasting1202/QuestA"
COLUMNS = ("problem", "generation", "answer")
MIN_HINT_CHARS = 10  # add_prefix.py: a shorter prefix is no hint


def hinted_prompt(problem: str, generation: str, ratio: int) -> tuple[str, str]:
    """(the hinted prompt, the solution it was cut from), as add_prefix.py builds them."""
    if generation.startswith('"'):
        generation = generation[1:-1]
    solution = generation.split("</think>")[-1]
    hint = solution[: int(len(solution) * ratio / 100)]
    return (problem + "\n\n" if len(hint) < MIN_HINT_CHARS else problem + "\n\n## Hint." + hint), solution


def prepare(source: str, output: str, ratio: int) -> dict[str, int]:
    """Convert `source` to `output` (atomically); returns the counts it prints."""
    schema, total, batches = read_batches(source)
    missing = [c for c in COLUMNS if c not in schema.names]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; QuestA rows need {', '.join(COLUMNS)}")
    counts, rows = {"read": 0, "answer_not_in_solution": 0, "written": 0}, []
    with tqdm(total=total, unit="row", desc=source) as bar:
        for batch in batches:
            for row in batch.select(list(COLUMNS)).to_pylist():
                index = counts["read"]
                counts["read"] += 1
                bar.update(1)
                for column in COLUMNS:
                    if not isinstance(row[column], str):
                        raise DataError(f"{source}: row {index}: column {column!r} is {type(row[column]).__name__}, "
                                        "expected a string")  # fmt: skip
                prompt, solution = hinted_prompt(row["problem"], row["generation"], ratio)
                if row["answer"] not in solution:
                    counts["answer_not_in_solution"] += 1
                    continue
                extra_info = {"index": index, "split": "train", "hint_ratio": ratio}
                rows.append(verl_row(TRAIN_SOURCE, prompt, row["answer"], "math", extra_info, suffix=""))
    if not rows:
        raise DataError(f"{source}: no row kept (every answer missing from its solution)")
    write_rows_atomic(output, rows)
    counts["written"] = len(rows)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=HUB_ID, help="hub dataset id or local .parquet/.jsonl file")
    parser.add_argument("--ratio", type=int, required=True, help="per cent of the solution given as a hint (50, 25)")
    parser.add_argument("--output", required=True, help="output .parquet file")
    args = parser.parse_args(argv)
    if not 0 <= args.ratio <= 100:
        parser.error(f"--ratio must be between 0 and 100, got {args.ratio}")
    try:
        counts = prepare(args.input, args.output, args.ratio)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"rows read: {counts['read']:,}; dropped (answer not in the solution): {counts['answer_not_in_solution']:,}; "
          f"rows written: {counts['written']:,} -> {args.output}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
