"""How much of a benchmark an evaluation folder holds: generated, graded, and against the published protocol.

Every command that reads grades (eval.report, eval.curves, eval.compare, eval.sweep) asks this first, so that a
benchmark graded in part, or generated and never graded, is named as such and never passes for a finished one:
- `ungraded`: generations, no grades (run eval.grade);
- `partial`: some generated samples have no grade, or the problems do not all have the same number of samples (a
  generation stopped midway: rerun eval.generate, then eval.grade);
- `complete`: every generated sample graded, the same number for every problem. It is the published protocol
  (`protocol`) only if it also has all of the benchmark's problems and the protocol's N samples each, sampled as the
  protocol samples (temperature, top-p and new tokens, recorded with each generation); only then is it compared with
  a published number.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from data_prep.protocol import BENCHMARK_SIZES
from eval.protocol import EVAL_MAX_NEW_TOKENS, EVAL_SAMPLES, EVAL_TEMPERATURE, EVAL_TOP_P
from eval.run_layout import RunLayout
from eval.store import read_records
from reward.sources import BENCHMARKS

SAMPLING_KEYS = ("temperature", "top_p", "max_new_tokens")  # as eval.generate records them
PROTOCOL_SAMPLING = (EVAL_TEMPERATURE, EVAL_TOP_P, EVAL_MAX_NEW_TOKENS)


def describe_sampling(sampling: tuple | None) -> str:
    if sampling is None:
        return "sampling not recorded"
    temperature, top_p, tokens = sampling
    return f"temperature {temperature}, top-p {top_p}, up to {tokens:,} new tokens"


@dataclass(frozen=True)
class Coverage:
    benchmark: str
    generated: int  # samples with a generation record (0 where the folder holds grades only)
    graded: int  # samples with a grade
    problems: int  # problems with at least one grade or generation
    samples: int  # samples of the best-covered problem
    uniform: bool  # every problem has that many graded samples
    sampling: tuple | None = None  # (temperature, top_p, max_new_tokens) of its generations, None if unrecorded

    @property
    def status(self) -> str:
        if self.graded == 0:
            return "ungraded"
        if (self.generated and self.graded < self.generated) or not self.uniform:
            return "partial"
        return "complete"

    @property
    def protocol_sampling(self) -> bool:
        return self.sampling == PROTOCOL_SAMPLING

    @property
    def protocol(self) -> bool:
        """Complete, with all of the benchmark's problems and the protocol's N samples each, sampled as the protocol."""
        return (
            self.status == "complete"
            and self.problems == BENCHMARK_SIZES.get(self.benchmark)
            and self.samples == EVAL_SAMPLES.get(self.benchmark)
            and self.protocol_sampling
        )

    def describe(self) -> str:
        """What is missing, in words ("" when complete)."""
        if self.status == "ungraded":
            return f"ungraded: {self.generated} samples generated, none graded (run eval.grade)"
        if self.status == "partial":
            if self.generated and self.graded < self.generated:
                return f"partial: {self.graded} of {self.generated} generated samples graded (run eval.grade)"
            return (f"partial: problems have unequal sample counts, up to {self.samples} (a generation stopped "
                    "midway: rerun eval.generate, then eval.grade)")  # fmt: skip
        return ""


def coverage(layout: RunLayout, name: str) -> Coverage | None:
    """The coverage of one benchmark in one evaluation folder, None if it holds nothing of it."""
    records = list(read_records(layout.generations(name)))
    generated = {(r["index"], r["sample"]) for r in records}
    recorded = tuple(records[0].get(k) for k in SAMPLING_KEYS) if records else None
    sampling = recorded if recorded and None not in recorded else None
    graded = {(g["index"], g["sample"]) for g in read_records(layout.grades(name))}
    if not generated and not graded:
        return None
    per_problem = Counter(i for i, _ in graded)
    planned = Counter(i for i, _ in generated) if generated else per_problem
    most = max((planned or per_problem).values())
    uniform = bool(per_problem) and set(planned) <= set(per_problem) and set(per_problem.values()) == {most}
    return Coverage(name, len(generated), len(graded & generated) if generated else len(graded),
                    len(planned.keys() | per_problem.keys()), most, uniform, sampling)  # fmt: skip


def coverages(folder: Path) -> dict[str, Coverage]:
    """{benchmark: coverage} for every benchmark the folder holds anything of, in the published order."""
    layout = RunLayout(folder)
    found = {name: coverage(layout, name) for name in BENCHMARKS}
    return {name: c for name, c in found.items() if c is not None}


def incomplete(folder: Path) -> list[str]:
    """One line per benchmark of `folder` that is not complete, naming the folder, the benchmark and what to run."""
    return [f"{folder}: {name}: {c.describe()}" for name, c in coverages(folder).items() if c.status != "complete"]
