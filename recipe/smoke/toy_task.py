"""The toy task the CPU runs train on, and the tiny base model that knows it but answers in the wrong format.

Problems: "What is a + b?" for digits a, b (100 problems), with JustRL's prompt suffix. A fixed fifth of them
(`HELD_OUT`) is never trained on by RL; the learning run (`launch/cpu_smoke.sh --learn`) validates on them.

The base model (`base_model`) is a tiny Qwen2 (recipe/smoke/tiny_model.py) taught by supervised steps on all 100
problems to give the right sum, but in the verifier's form `\\boxed{c}` only one time in four (`BOXED_SHARE`); the
other three it answers `Answer: c`, which is the form DAPO-Math-17k's own instruction asks for. So it knows the
answers and, like the models JustRL trains on DAPO prompts, often states them in a form the strict verifier never
accepts (the strict reward reads only `\\boxed{}`). GRPO with that reward has something real to learn, which a run
can show on problems it never saw in training: held-out accuracy under the strict verifier starts near the boxed
share (about 0.15 at the validation temperature 0.7) and ends near 1. The teaching stops once the model puts at least
`CONFIDENCE` of its probability on the right sum after `\\boxed{`, so the base is as good on any machine.

The model is built once per machine and reused (`cached_base_model`): it lives under `$JUSTRL_CACHE` (default
`~/.cache/justrl`) in a folder named after a hash of the code and library versions that build it, written
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
from data_prep.schema import user_prompt, verl_row
from recipe.protocol import TRAIN_PROMPT_SUFFIX, TRAIN_SOURCE, TRAIN_VALIDATION

PROBLEMS = [(a, b) for a in range(10) for b in range(10)]
HELD_OUT = sorted(random.Random(1234).sample(PROBLEMS, 20))  # never trained on by RL
TRAIN = [p for p in PROBLEMS if p not in HELD_OUT]
HELD_OUT_FILE = "toy_heldout.parquet"  # data_source math_dapo: scored by the training reward, the strict verifier
BOXED_SHARE = 0.25  # the base model's answers in the verifier's form; the rest are "Answer: c"
CONFIDENCE = 0.9  # teaching stops when the mean probability of the right sum after "\boxed{" reaches this
BOXED_TOLERANCE = 0.05  # ... and the mean probability of opening with "\boxed{" is within this of BOXED_SHARE
MAX_TEACH_STEPS = 3000


def problem(a: int, b: int) -> str:
    return f"What is {a} + {b}?"


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


def build_base_model(model_dir: Path, seed: int = 0) -> int:
    """The base model (see the module docstring) in `model_dir`; returns the supervised steps it took."""
    import torch

    from recipe.smoke.tiny_model import build_model, teach

    model, tokenizer = build_model(model_dir, seed=seed)

    def ids(text: str, end: bool = False) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"] + ([tokenizer.eos_token_id] if end else [])

    prompts = {
        p: ids(tokenizer.apply_chat_template(user_prompt(problem(*p)), add_generation_prompt=True, tokenize=False))
        for p in PROBLEMS
    }
    boxed = [(prompts[p], ids(f"\\boxed{{{sum(p)}}}", end=True)) for p in PROBLEMS]
    plain = [(prompts[p], ids(f"Answer: {sum(p)}", end=True)) for p in PROBLEMS]
    draw = random.Random(seed)

    def examples(step: int):  # each problem once a step, in the verifier's form one time in BOXED_SHARE
        return [b if draw.random() < BOXED_SHARE else a for b, a in zip(boxed, plain, strict=True)]

    from recipe.smoke.tiny_model import padded_batch

    check_ids, _, check_mask = padded_batch(boxed, tokenizer.pad_token_id)
    opening = len(ids("\\boxed{"))

    def confident(m) -> bool:
        """The sums are known (the mean probability of the sum's first token right after "\boxed{") and the format mix
        is learnt (the mean probability of opening the answer with "\boxed{"): stopping on the first alone left the
        mix wherever training was on some machines (one answer in seven boxed)."""
        probs = m(input_ids=check_ids, attention_mask=check_mask).logits.softmax(-1)
        rows = torch.arange(len(boxed))
        at = torch.tensor([len(p) + opening - 1 for p, _ in boxed])
        want = torch.tensor([a[opening] for _, a in boxed])
        starts = probs[rows, torch.tensor([len(p) - 1 for p, _ in boxed]), torch.tensor([a[0] for _, a in boxed])]
        mix = abs(starts.mean().item() - BOXED_SHARE) <= BOXED_TOLERANCE
        return probs[rows, at, want].mean().item() >= CONFIDENCE and mix

    steps = teach(model, examples, steps=MAX_TEACH_STEPS, lr=3e-3, seed=seed, warmup=50, done=confident)
    if steps >= MAX_TEACH_STEPS and not confident(model):
        raise RuntimeError(f"the toy base model did not learn the sums in {MAX_TEACH_STEPS} steps")
    model.save_pretrained(model_dir)
    return steps


def cache_root() -> Path:
    return Path(os.environ.get("JUSTRL_CACHE") or Path.home() / ".cache" / "justrl")


def base_model_key(seed: int = 0) -> str:
    """A hash of everything that builds the base model: this module, the tiny model's, the prompt's (data_prep's
    schema and JustRL's suffix), the seed and the library versions (read from the installed distributions, without
    importing them)."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    here = Path(__file__)
    for module in (here, here.with_name("tiny_model.py"), here.parents[2] / "data_prep" / "schema.py"):
        digest.update(module.read_bytes())
    digest.update(f"{TRAIN_PROMPT_SUFFIX} {seed}".encode())
    for library in ("torch", "transformers", "tokenizers"):
        digest.update(f" {library} {version(library)}".encode())
    return digest.hexdigest()[:16]


def cached_base_model(dest: Path, seed: int = 0) -> str:
    """Copy the base model into `dest`, building it into the cache first if needed; returns what was done, in words."""
    start = time.monotonic()
    cached = cache_root() / "tiny-base" / base_model_key(seed)
    how = f"reused {cached}"
    if not (cached / "config.json").is_file():
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{cached.name}-", dir=cached.parent))
        steps = build_base_model(partial, seed)
        try:
            os.replace(partial, cached)  # atomic; another process may have built it first, then keep theirs
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)
        how = f"built in {steps} supervised steps, {time.monotonic() - start:.0f} s, cached in {cached}"
    shutil.copytree(cached, dest, dirs_exist_ok=True)
    return how
