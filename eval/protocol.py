"""The published evaluation protocol and results: the prompt, the sampling, the samples a problem, the published
table, and the published runs' training dynamics (see recipe/README.md for the sources)."""

from __future__ import annotations

from reward.sources import BENCHMARKS

# The offline evaluation's one user message. Note the single space before "Please" (training uses two newlines).
EVAL_PROMPT_TEMPLATE = "{problem} Please reason step by step, and put your final answer within \\boxed{{}}."
EVAL_TEMPERATURE = 0.7
EVAL_TOP_P = 0.9
EVAL_MAX_NEW_TOKENS = 31_744
# N independent samples per problem; the score is avg@N, the mean accuracy over all samples.
EVAL_SAMPLES = {name: 32 for name in BENCHMARKS} | {"MATH-500": 4, "Minerva": 4, "Olympiad-Bench": 4}

# avg@N of the published table, in BENCHMARKS order.
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

# --- training dynamics ----------------------------------------------------------------------------------------------
ENTROPY_BAND = (1.2, 1.4)  # DeepSeek base: policy entropy oscillates in this band, no drift, no collapse
# The published runs by base model (the recipe's overlay names): their row, prompt+response tokens (upper bounds:
# steps x 256 prompts x 8 samples x 16k) and steps (recipe/base_model/*.yaml trains the same; a test checks it).
TOKEN_BUDGETS = {
    "deepseek": ("JustRL-DeepSeek-1.5B", 1.4e11, 4380),
    "nemotron": ("JustRL-Nemotron-1.5B", 1.1e11, 3440),
}


def eval_prompt(problem: str) -> str:
    return EVAL_PROMPT_TEMPLATE.format(problem=problem)


def published_for(model: str) -> str | None:
    """The published row matching a model path or hub id (case-insensitive, by its last path part), if any."""
    tail = model.rstrip("/").split("/")[-1].lower()
    return next((name for name in PUBLISHED if name.lower() == tail), None)
