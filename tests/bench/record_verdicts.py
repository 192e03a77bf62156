"""Record the published evaluation's rule-grader verdicts on tests/grader_corpus.py (run by hand, rarely).

    python tests/bench/record_verdicts.py --published-grader PATH/evals/utils.py --benchmarks-dir ../shared/benchmarks

PATH is a checkout of the public JustRL repository (its evaluation scripts are not part of this project, and
nothing of them is stored here: only their verdicts). Each check runs with a 10 s alarm; one that runs out is
recorded as "timeout" (the published grader had no limit and would hang). Writes
tests/data/published_grader_verdicts.json, which tests/test_reward_grading.py compares `published` grading with.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import signal
import sys
from pathlib import Path

from tqdm import tqdm

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from grader_corpus import CONSTRUCTED, benchmark_cases  # noqa: E402

OUT = TESTS / "data" / "published_grader_verdicts.json"


class Alarm(Exception):
    pass


def verdict(grade, response: str, truth: str) -> str:
    def ring(*_):
        raise Alarm

    signal.signal(signal.SIGALRM, ring)
    signal.alarm(10)
    try:
        return "1" if grade(response, truth) else "0"
    except Alarm:
        return "t"
    finally:
        signal.alarm(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--published-grader", required=True, type=Path, help="evals/utils.py of the JustRL repo")
    parser.add_argument("--benchmarks-dir", required=True, type=Path)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("published_grader", args.published_grader)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    grade = module.grade_answer_verl
    record = {"constructed": "".join(verdict(grade, r, t) for r, t in tqdm(CONSTRUCTED, desc="constructed"))}
    for name, cases in benchmark_cases(args.benchmarks_dir).items():
        record[name] = "".join(verdict(grade, r, t) for r, t in tqdm(cases, desc=name))
    OUT.write_text(json.dumps(record, indent=1) + "\n")
    print(f"written: {OUT}")


if __name__ == "__main__":
    main()
