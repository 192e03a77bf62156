"""Grade generated samples under a named protocol: rules first (hang-free, parallel), then the model verifier.

    python -m eval.grade --input-dir DIR [--protocol published|lenient] [--model-verifier MODEL] [--overwrite]

Reads DIR/generations/<NAME>.jsonl and appends one grade per sample to DIR/grades/<NAME>.jsonl: the answer read,
correct or not, how it was decided (`by`: rule, model, or null), the protocol and the verifier, format error,
timeout, response length. A rerun grades only what is missing; a rerun with another protocol or verifier than the
grades on disk stops with an error (use `--overwrite` to regrade). Protocols (reward/grading.py): `published` (the
default: the published rule grader, then the verifier on every rejected response with an empty question) or
`lenient` (ours: math-verify too, and the verifier sees the question). Without `--model-verifier` the grades are
"rule only" and the report says so. Every rule check runs under a hard limit (`--timeout`, 5 s).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from eval.run_layout import RunLayout, SettingsMismatch, check_settings
from eval.store import Appender, one_line_errors, read_records
from reward.grading import PROTOCOLS, Grade, grade_many
from reward.math_equal import DEFAULT_TIMEOUT_S

CHUNK = 2_000


def grade_record(record: dict, rule: Grade, model_ok: bool, protocol: str, verifier: str | None) -> dict:
    return {
        "benchmark": record["benchmark"],
        "index": record["index"],
        "sample": record["sample"],
        "seed": record.get("seed"),
        "answer": rule.answer,
        "correct": rule.correct or model_ok,
        "by": "rule" if rule.correct else ("model" if model_ok else None),
        "protocol": protocol,
        "verifier": verifier,
        "timed_out": rule.timed_out,
        "error": rule.how[len("error: ") :] if rule.how.startswith("error") else None,
        "format_error": rule.answer is None,
        "response_tokens": record.get("response_tokens"),
        "finish_reason": record.get("finish_reason"),
    }


def grade_file(layout: RunLayout, generations: Path, protocol: str, timeout_s: float, workers, verifier=None) -> int:
    """Grade what is not graded yet in one benchmark's generations; returns how many samples were graded."""
    name = generations.stem
    out_path = layout.grades(name)
    verifier_name = verifier.model if verifier is not None else None
    check_settings(out_path, {"protocol": protocol, "verifier": verifier_name})
    done = {(g["index"], g["sample"]) for g in read_records(out_path)}
    todo = [r for r in read_records(generations) if (r["index"], r["sample"]) not in done]
    with Appender(out_path) as out, tqdm(total=len(todo), desc=f"grade {name}", unit="sample") as bar:
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            rules = grade_many([(r["response"], r["ground_truth"]) for r in chunk], protocol, timeout_s, workers)
            by_model = [False] * len(chunk)
            rejected = [i for i, rule in enumerate(rules) if not rule.correct]
            if verifier is not None and rejected:
                question = (lambda r: r["problem"]) if protocol == "lenient" else (lambda r: "")
                judged = verifier.judge([(question(chunk[i]), chunk[i]["ground_truth"], chunk[i]["response"])
                                         for i in rejected])  # fmt: skip
                for i, ok in zip(rejected, judged, strict=True):
                    by_model[i] = ok
            rows = zip(chunk, rules, by_model, strict=True)
            out.write(grade_record(r, rule, ok, protocol, verifier_name) for r, rule, ok in rows)
            bar.update(len(chunk))
    return len(todo)


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input-dir", required=True, type=Path, help="the --output-dir of eval.generate")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="published")
    parser.add_argument("--model-verifier", help="e.g. opencompass/CompassVerifier-3B (vLLM), for rejected answers; "
                        "none (the default): the rules alone")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="hard limit per rule check, seconds")
    parser.add_argument("--workers", type=int, help="grading processes (default: all cores)")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="grade again (the earlier grades moved to OUT/replaced-<time>/ once the verifier runs)",
    )
    args = parser.parse_args(argv)
    layout = RunLayout(args.input_dir)
    files = layout.generation_files()
    if not files:
        print(f"error: no generations under {args.input_dir}; run eval.generate first", file=sys.stderr)
        return 2
    verifier = None
    if args.model_verifier and args.model_verifier != "none":
        try:
            from eval.model_verifier import ModelVerifier

            verifier = ModelVerifier(args.model_verifier)
        except (ImportError, OSError, RuntimeError, ValueError) as err:
            print(f"error: cannot start the model verifier {args.model_verifier!r}: {err} (--model-verifier none "
                  "grades by the rules alone)", file=sys.stderr)  # fmt: skip
            return 2
    if args.overwrite:  # only once the verifier runs: the grades replaced are moved aside, not deleted
        aside = layout.set_aside([layout.grades(path.stem) for path in files])
        if aside is not None:
            print(f"--overwrite: the earlier grades and the report moved to {aside}")
    try:
        for path in files:
            graded = grade_file(layout, path, args.protocol, args.timeout, args.workers, verifier)
            print(f"{path.stem}: graded {graded} new sample(s) ({args.protocol}) -> {layout.grades(path.stem)}")
    except SettingsMismatch as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
