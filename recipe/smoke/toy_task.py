"""The toy tasks the CPU runs train on, and their tiny base models (one a task, each built once per machine).

Problems: "What is a + b?" for digits a, b (100 problems), with JustRL's prompt suffix. A fixed fifth of them
(`HELD_OUT`) is never trained on by RL; the learning run (`launch/cpu_smoke.sh --learn`) validates on them. Each
base model is a tiny Qwen2 (recipe/smoke/tiny_model.py) taught by supervised steps on all 100 problems to answer
each with a fixed mix of answers (`answers`); the strict reward reads only `\\boxed{}`.

- `carry` (the learning run's default): a task on which RL must learn correctness. The base always answers in the
  verifier's form, but gets the carry wrong seven times in ten (`RIGHT_SHARE` 0.3): for a + b >= 10 it drops the
  carry (`\\boxed{5}` for 7 + 8), for a + b < 10 it adds one (`\\boxed{17}` for 3 + 4). So it is right only part of
  the time while it samples the right answer often: held-out pass@1 about 0.2 at the validation temperature 0.7, and
  pass@8 about 0.85, the gap GRPO closes on math (it sharpens pass@1 towards pass@k). Why this design: whether to
  write the leading 1 is a choice the base already makes from the sum (it needs the sum to write the other digit),
  so GRPO can learn a rule that carries to problems it never trains on, rather than answers by heart; and no single
  bias helps (always writing a leading 1 is as wrong as never writing it), so the rule is conditional on the problem,
  which is what correctness is here. Format cannot help: every answer is boxed, so an ablation of the format reward
  (`format_credit`) only rescales the rewards, which GRPO's group normalisation undoes.
- `format`: the base knows every sum but writes `\\boxed{c}` only one time in four (`BOXED_SHARE`) and `Answer: c`
  otherwise, the form DAPO-Math-17k's own instruction asks for. GRPO learns the verifier's form: held-out accuracy
  under the strict verifier starts near 0.15 and ends near 1. Format, not correctness.

Teaching weights each problem's answers by their shares, and stops once the model puts at least `CONFIDENCE` of its
probability on the task's answers together and every problem's first answer holds its share within
`SHARE_TOLERANCE`, so the base is as good on any machine and on every problem, the held-out ones included.

The models are built once per machine and reused (`cached_base_model`): they live under `$JUSTRL_CACHE` (default
`~/.cache/justrl`) in a folder named after a hash of the task, the code and library versions that build it, written
atomically, so a change to either builds a new one and nothing stale is ever reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.benchmarks import convert
from data_prep.dapo_math import prepare
from data_prep.files import write_rows_atomic
from data_prep.protocol import TRAIN_PROMPT_SUFFIX, TRAIN_VALIDATION
from data_prep.schema import user_prompt, verl_row
from reward.sources import TRAIN_SOURCE

PROBLEMS = [(a, b) for a in range(10) for b in range(10)]
HELD_OUT = sorted(random.Random(1234).sample(PROBLEMS, 20))  # never trained on by RL
TRAIN = [p for p in PROBLEMS if p not in HELD_OUT]
HELD_OUT_FILE = "toy_heldout.parquet"  # data_source math_dapo: scored by the training reward, the strict verifier
TASKS = ("carry", "format")
RIGHT_SHARE = 0.3  # carry: the base model's right answers; the rest get the carry wrong
BOXED_SHARE = 0.25  # format: the base model's answers in the verifier's form; the rest are "Answer: c"
CONFIDENCE = 0.9  # teaching stops when the task's answers together hold this much probability (mean over problems)
SHARE_TOLERANCE = 0.05  # ... and every problem's first answer holds its share within this
MAX_TEACH_STEPS = 3000


def problem(a: int, b: int) -> str:
    return f"What is {a} + {b}?"


def answers(task: str, a: int, b: int) -> list[tuple[str, float]]:
    """What the base model of `task` answers to a + b, each answer with its share; the right one first."""
    total = a + b
    if task == "carry":
        wrong = total - 10 if total >= 10 else total + 10  # the carry dropped, or one added
        return [(f"\\boxed{{{total}}}", RIGHT_SHARE), (f"\\boxed{{{wrong}}}", 1 - RIGHT_SHARE)]
    if task == "format":
        return [(f"\\boxed{{{total}}}", BOXED_SHARE), (f"Answer: {total}", 1 - BOXED_SHARE)]
    raise ValueError(f"unknown toy task {task!r}; known: {', '.join(TASKS)}")


def write_data(data_dir: Path) -> None:
    """The task in verl's schema, through data_prep's own code: the RL training problems as DAPO-style rows
    (`dapo_math_17k.parquet`), the held-out ones (`toy_heldout.parquet`, split "test"), and AIME24/AIME25/AMC23 as
    data_prep.benchmarks writes them (`benchmarks/<NAME>.parquet` and `benchmarks/validation/<NAME>.parquet`, which the
    recipe validates on), benchmark rows made of two held-out problems, scored as validation is; and QuestA's hinted
    files (`write_questa_data`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir / "toy_source.parquet"
    rows = [
        {"prompt": [{"content": problem(a, b), "role": "user"}], "reward_model": {"ground_truth": str(a + b)}}
        for a, b in TRAIN
    ]
    pq.write_table(pa.Table.from_pylist(rows), source)
    prepare(str(source), str(data_dir / "dapo_math_17k.parquet"))
    held_out = [
        verl_row(TRAIN_SOURCE, problem(a, b), str(a + b), "MATH", {"index": i, "split": "test"})
        for i, (a, b) in enumerate(HELD_OUT)
    ]
    write_rows_atomic(data_dir / HELD_OUT_FILE, held_out)
    val_source = data_dir / "toy_val_source.parquet"
    pq.write_table(
        pa.Table.from_pylist([{"problem": problem(a, b), "answer": str(a + b)} for a, b in HELD_OUT[:2]]), val_source
    )
    write_questa_data(data_dir)
    for name in TRAIN_VALIDATION:  # as data_prep.benchmarks lays them out: evaluation, then in-training validation
        rows = convert(name, str(val_source))
        write_rows_atomic(data_dir / "benchmarks" / f"{name}.parquet", rows)
        write_rows_atomic(data_dir / "benchmarks" / "validation" / f"{name}.parquet", rows)


def write_questa_data(data_dir: Path) -> None:
    """QuestA's hinted training files (questa_50.parquet, questa_25.parquet, recipe/stages/questa.yaml) made by
    data_prep.questa from the training problems with a worked solution each, so a stage list runs on the toy task."""
    from data_prep.questa import prepare as prepare_questa

    source = data_dir / "questa_source.jsonl"
    rows = [{"problem": problem(a, b), "answer": str(a + b),
             "generation": f"<think>{a} and {b}.</think>Adding {a} and {b} gives {a + b}, so \\boxed{{{a + b}}}."}
            for a, b in TRAIN]  # fmt: skip
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for ratio in (50, 25):
        prepare_questa(str(source), str(data_dir / f"questa_{ratio}.parquet"), ratio)


def build_base_model(model_dir: Path, seed: int = 0, task: str = "carry") -> int:
    """The base model of `task` (see the module docstring) in `model_dir`; returns the supervised steps it took."""
    from recipe.smoke.tiny_model import build_model, padded_batch, teach

    model, tokenizer = build_model(model_dir, seed=seed)

    def ids(text: str, end: bool = False) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"] + ([tokenizer.eos_token_id] if end else [])

    prompts = {
        p: ids(tokenizer.apply_chat_template(user_prompt(problem(*p)), add_generation_prompt=True, tokenize=False))
        for p in PROBLEMS
    }
    choices = {p: [(prompts[p], ids(text, end=True)) for text, _ in answers(task, *p)] for p in PROBLEMS}
    shares = [share for _, share in answers(task, 0, 0)]
    # every problem with each of its answers, weighted by its share: the loss's optimum is each problem's own mix,
    # which sampling one answer a problem a step left to chance problem by problem (held-out pass@8 0.54 instead of
    # about 0.85 on one machine)
    every = [example for p in PROBLEMS for example in choices[p]]
    weights = shares * len(PROBLEMS)
    check_ids, check_labels, check_mask = padded_batch(every, tokenizer.pad_token_id)

    def confident(m) -> bool:
        """The answers are known (their probabilities together, each a whole sequence to its end token) and their mix
        is learnt (the first answer's): stopping on the first alone left the mix wherever training was on some
        machines (one answer in seven boxed where one in four was taught)."""
        logits = m(input_ids=check_ids, attention_mask=check_mask).logits[:, :-1]
        labels = check_labels[:, 1:]
        taken = logits.log_softmax(-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        probs = (taken * (labels != -100)).sum(-1).exp().view(len(PROBLEMS), len(shares))
        mix = (probs[:, 0] - shares[0]).abs().max().item() <= SHARE_TOLERANCE  # every problem's, held-out ones too
        return probs.sum(-1).mean().item() >= CONFIDENCE and mix

    steps = teach(model, every, steps=MAX_TEACH_STEPS, lr=3e-3, seed=seed, warmup=50, done=confident, weights=weights)
    if steps >= MAX_TEACH_STEPS and not confident(model):
        raise RuntimeError(f"the toy base model ({task}) did not learn its answers in {MAX_TEACH_STEPS} steps")
    model.save_pretrained(model_dir)
    return steps


def cache_root() -> Path:
    return Path(os.environ.get("JUSTRL_CACHE") or Path.home() / ".cache" / "justrl")


def base_model_key(seed: int = 0, task: str = "carry") -> str:
    """A hash of everything that builds a base model: its task, this module, the tiny model's, the prompt's
    (data_prep's schema and JustRL's suffix), the seed and the library versions (read from the installed
    distributions, without importing them)."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    here = Path(__file__)
    for module in (here, here.with_name("tiny_model.py"), here.parents[2] / "data_prep" / "schema.py"):
        digest.update(module.read_bytes())
    digest.update(f"{TRAIN_PROMPT_SUFFIX} {seed} {task}".encode())
    for library in ("torch", "transformers", "tokenizers"):
        digest.update(f" {library} {version(library)}".encode())
    return digest.hexdigest()[:16]


def cached_base_model(dest: Path, seed: int = 0, task: str = "carry") -> str:
    """Copy the base model of `task` into `dest`, building it into the cache first if needed; returns what was done,
    in words."""
    answers(task, 0, 0)  # an unknown task, before anything is built
    start = time.monotonic()
    cached = cache_root() / "tiny-base" / base_model_key(seed, task)
    how = f"reused {cached}"
    if not (cached / "config.json").is_file():
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{cached.name}-", dir=cached.parent))
        steps = build_base_model(partial, seed, task)
        try:
            os.replace(partial, cached)  # atomic; another process may have built it first, then keep theirs
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)
        how = f"built in {steps} supervised steps, {time.monotonic() - start:.0f} s, cached in {cached}"
    shutil.copytree(cached, dest, dirs_exist_ok=True)
    return how
