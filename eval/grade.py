"""Grade generated samples: rules first (hang-free, parallel over cores), then an optional model verifier.

    python -m eval.grade --input-dir DIR [--model-verifier opencompass/CompassVerifier-3B] [--workers N]

Reads DIR/generations/<NAME>.jsonl and appends one grade per sample to DIR/grades/<NAME>.jsonl (answer, correct,
how it was decided, format error, response length), so a report is recomputed without regrading, and a rerun
grades only what is missing. Every rule check runs under a hard 5 s limit (`--timeout`); one that runs out is
recorded as incorrect with `timed_out: true`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from eval.grading import grade_many
from eval.run_layout import RunLayout
from eval.store import Appender, read_records
from reward.math_equal import DEFAULT_TIMEOUT_S

CHUNK = 2_000


def grade_record(record: dict, rule: tuple[str | None, bool, bool], model_ok: bool) -> dict:
    answer, rule_ok, timed_out = rule
    return {
        "benchmark": record["benchmark"],
        "index": record["index"],
        "sample": record["sample"],
        "seed": record.get("seed"),
        "answer": answer,
        "correct": rule_ok or model_ok,
        "by": "rule" if rule_ok else ("model" if model_ok else None),
        "timed_out": timed_out,
        "format_error": answer is None and not timed_out,
        "response_tokens": record.get("response_tokens"),
        "finish_reason": record.get("finish_reason"),
    }


def grade_file(layout: RunLayout, generations: Path, timeout_s: float, workers: int | None, verifier=None) -> int:
    """Grade what is not graded yet in one benchmark's generations; returns how many samples were graded."""
    name = generations.stem
    out_path = layout.grades(name)
    done = {(g["index"], g["sample"]) for g in read_records(out_path)}
    todo = [r for r in read_records(generations) if (r["index"], r["sample"]) not in done]
    with Appender(out_path) as out, tqdm(total=len(todo), desc=f"grade {name}", unit="sample") as bar:
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            rules = grade_many([(r["response"], r["ground_truth"]) for r in chunk], timeout_s, workers)
            by_model = [False] * len(chunk)
            rejected = [i for i, (_, ok, _) in enumerate(rules) if not ok]
            if verifier is not None and rejected:
                judged = verifier.judge(
                    [(chunk[i]["problem"], chunk[i]["ground_truth"], chunk[i]["response"]) for i in rejected]
                )
                for i, ok in zip(rejected, judged, strict=True):
                    by_model[i] = ok
            out.write(grade_record(r, rule, model_ok) for r, rule, model_ok in zip(chunk, rules, by_model, strict=True))
            bar.update(len(chunk))
    return len(todo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input-dir", required=True, type=Path, help="the --output-dir of eval.generate")
    parser.add_argument("--model-verifier", help="e.g. opencompass/CompassVerifier-3B (vLLM) for rule-rejected answers")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="hard limit per rule check, seconds")
    parser.add_argument("--workers", type=int, help="grading processes (default: all cores)")
    args = parser.parse_args(argv)
    layout = RunLayout(args.input_dir)
    files = layout.generation_files()
    if not files:
        print(f"error: no generations under {args.input_dir}; run eval.generate first", file=sys.stderr)
        return 2
    verifier = None
    if args.model_verifier:
        from eval.model_verifier import ModelVerifier

        verifier = ModelVerifier(args.model_verifier)
    for path in files:
        graded = grade_file(layout, path, args.timeout, args.workers, verifier)
        print(f"{path.stem}: graded {graded} new sample(s) -> {layout.grades(path.stem)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
