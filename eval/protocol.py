"""The published evaluation protocol (../shared/RECIPE.md) and the published numbers it is compared with."""

from __future__ import annotations

from reward.sources import BENCHMARKS

# One user message through the model's chat template. Note the single space before "Please" (the training prompt,
# written by data_prep, uses two newlines instead).
PROMPT_TEMPLATE = "{problem} Please reason step by step, and put your final answer within \\boxed{{}}."
TEMPERATURE = 0.7
TOP_P = 0.9
MAX_NEW_TOKENS = 31_744
SAMPLES = {name: 32 for name in BENCHMARKS} | {"MATH-500": 4, "Minerva": 4, "Olympiad-Bench": 4}
GRADE_TIMEOUT_S = 5.0  # hard limit for one rule check (the published grader had none and could hang); <= 10 s

# avg@N, in the table's benchmark order (BENCHMARKS).
PUBLISHED: dict[str, dict[str, float]] = {
    name: dict(zip(BENCHMARKS, scores, strict=True))
    for name, scores in {
        "DeepSeek-R1-Distill-Qwen-1.5B": (29.90, 22.40, 63.82, 84.90, 34.65, 45.95, 13.44, 30.94, 12.89),
        "JustRL-DeepSeek-1.5B": (52.60, 38.75, 91.02, 91.65, 51.47, 67.99, 21.98, 52.71, 25.63),
        "OpenMath-Nemotron-1.5B": (58.75, 48.44, 90.55, 92.40, 26.93, 71.70, 30.10, 61.67, 30.08),
        "JustRL-Nemotron-1.5B": (69.69, 62.92, 96.02, 94.15, 30.24, 76.59, 40.63, 66.88, 41.72),
        "ProRL-V2": (51.87, 35.73, 88.75, 92.00, 49.03, 67.84, 19.38, 47.29, 25.86),
        "QuestA-Nemotron-1.5B": (71.56, 62.08, 93.44, 92.95, 32.08, 72.28, 40.94, 67.50, 41.48),
    }.items()
}


def published_for(model: str) -> str | None:
    """The published row matching a model path or hub id (case-insensitive, by its last path part), if any."""
    tail = model.rstrip("/").split("/")[-1].lower()
    for name in PUBLISHED:
        if name.lower() == tail:
            return name
    return None


def prompt(problem: str) -> str:
    return PROMPT_TEMPLATE.format(problem=problem)
