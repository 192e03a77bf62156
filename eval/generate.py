"""Generate N samples per problem on the nine benchmarks with the published protocol; resumable, seeded.

    python -m eval.generate --model PATH_OR_ID --output-dir DIR [--benchmarks all|AIME24,...] [--backend vllm|hf]

Reads the benchmark parquets written by `python -m data_prep.benchmarks` (`--data-dir`, default data/benchmarks).
The published protocol (eval/protocol.py: EVAL_PROMPT_TEMPLATE, EVAL_TEMPERATURE, EVAL_TOP_P, EVAL_MAX_NEW_TOKENS,
EVAL_SAMPLES): the problem and the boxed-answer instruction as one user message through the model's chat template,
sampled N times per problem.
Sample k of every problem is drawn with seed `--seed + k`, recorded in the record, so a run is reproducible and any
sample can be redrawn alone. Records are appended to DIR/generations/<NAME>.jsonl as they finish, each carrying its
sampling settings; a rerun, or a run killed with SIGKILL, resumes with no lost and no duplicated samples. A verl
checkpoint directory is accepted for --model and converted once with verl's own model merger.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from tqdm import tqdm

from data_prep.files import output_problem
from data_prep.protocol import parse_benchmarks
from eval import protocol
from eval.backends import HFBackend, Request, Sampling, VLLMBackend
from eval.checkpoints import resolve_model
from eval.run_layout import RunLayout, SettingsMismatch, check_settings
from eval.store import Appender, one_line_errors, read_records
from reward.sources import BENCHMARKS


def load_problems(data_dir: Path, name: str, limit: int | None = None) -> list[dict]:
    """The benchmark's problems with their ground truths as the published evaluation read them: stripped, and the
    answer as the benchmark states it (`extra_info.answer`, written by data_prep) where present."""
    path = data_dir / f"{name}.parquet"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found; write it with: python -m data_prep.benchmarks --output-dir {data_dir}"
        )
    rows = pq.read_table(path, columns=["extra_info", "reward_model"]).to_pylist()[:limit]
    problems = []
    for r in rows:
        answer = r["extra_info"].get("answer") or r["reward_model"]["ground_truth"]
        problems.append({"index": r["extra_info"]["index"], "problem": r["extra_info"]["problem"].strip(),
                         "ground_truth": str(answer).strip()})  # fmt: skip
    return problems


def prompt_ids(tokenizer, problem: str) -> list[int]:
    """The published prompt as one user message through the model's chat template, as token ids: the template's
    special tokens once, nothing added again by a second tokenisation."""
    return chat_ids(tokenizer, [{"role": "user", "content": protocol.eval_prompt(problem)}])


def chat_ids(tokenizer, messages: list[dict[str, str]]) -> list[int]:
    """`messages` through the tokenizer's chat template with the generation prompt, as token ids."""
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    return list(ids["input_ids"] if hasattr(ids, "keys") else ids)  # transformers 5 returns a BatchEncoding


def pending_requests(name: str, problems: list[dict], n: int, base_seed: int, done: set, tokenizer) -> list[Request]:
    ids = {p["index"]: prompt_ids(tokenizer, p["problem"]) for p in problems}
    return [
        Request(key=(name, p["index"], k), prompt_ids=ids[p["index"]], seed=base_seed + k)
        for k in range(n)
        for p in problems
        if (p["index"], k) not in done
    ]


def start_backend(name: str, model: str, tokenizer, problems: dict[str, list[dict]], max_new_tokens: int):
    if name == "hf":
        return HFBackend(model)
    # vLLM's context must hold the longest prompt plus the generation budget
    longest = max(len(prompt_ids(tokenizer, p["problem"])) for ps in problems.values() for p in ps)
    return VLLMBackend(model, longest + max_new_tokens)


def model_identity(model: str) -> str:
    """What the records name as the model: a local directory or checkpoint by its full resolved path, else the id."""
    return str(Path(model).resolve()) if Path(model).exists() else model


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="hub id, Hugging Face directory, or verl checkpoint directory")
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument(
        "--benchmarks",
        default="all",
        type=parse_benchmarks,
        help=f"'all' or a comma-separated subset of {','.join(BENCHMARKS)}",
    )
    parser.add_argument("--backend", choices=["vllm", "hf"], default="vllm")
    parser.add_argument("--data-dir", type=Path, default=Path("data/benchmarks"))
    parser.add_argument("--seed", type=int, default=0, help="base seed: sample k uses seed + k")
    parser.add_argument("--n", type=int, help="samples per problem for every benchmark (default: the protocol's N)")
    parser.add_argument("--limit", type=int, help="only the first LIMIT problems of each benchmark (smoke tests)")
    parser.add_argument("--temperature", type=float, default=protocol.EVAL_TEMPERATURE)
    parser.add_argument("--top-p", type=float, default=protocol.EVAL_TOP_P)
    parser.add_argument("--max-new-tokens", type=int, default=protocol.EVAL_MAX_NEW_TOKENS)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace this folder's results for these benchmarks (moved to OUT/replaced-<time>/ "
                        "once the model loads)")  # fmt: skip
    args = parser.parse_args(argv)

    names, layout = args.benchmarks, RunLayout(args.output_dir)
    problem = output_problem(args.output_dir, folder=True)  # before the model loads
    if problem:
        print(f"error: --output-dir {problem}", file=sys.stderr)
        return 2
    try:
        problems = {name: load_problems(args.data_dir, name, args.limit) for name in names}
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    sampling = Sampling(args.temperature, args.top_p, args.max_new_tokens)
    settings = {"model": model_identity(args.model), "backend": args.backend, "base_seed": args.seed,
                "temperature": sampling.temperature, "top_p": sampling.top_p,
                "max_new_tokens": sampling.max_new_tokens}  # fmt: skip
    for name in names if not args.overwrite else ():
        try:
            check_settings(layout.generations(name), settings)
        except SettingsMismatch as err:
            print(f"error: {err}", file=sys.stderr)
            return 2

    try:
        model = resolve_model(
            args.model, layout.merged_model
        )  # a missing directory is named before transformers is imported
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model)
    except (OSError, ValueError, subprocess.CalledProcessError) as err:  # FileNotFoundError: a missing directory
        print(f"error: cannot load the model {args.model!r}: {str(err).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    if args.overwrite:  # only once the model loads: what is replaced is moved aside, not deleted
        aside = layout.set_aside([p for name in names for p in (layout.generations(name), layout.grades(name))])
        if aside is not None:
            print(f"--overwrite: the earlier results of {','.join(names)} and the report moved to {aside}")
    with contextlib.ExitStack() as engines:  # the engines stop however this ends
        backend = None
        for name in names:
            n = args.n or protocol.EVAL_SAMPLES[name]
            path = layout.generations(name)
            done = {(r["index"], r["sample"]) for r in read_records(path)}
            requests = pending_requests(name, problems[name], n, args.seed, done, tokenizer)
            total = n * len(problems[name])
            if not requests:
                print(f"{name}: {total} samples already generated ({path})")
                continue
            if backend is None:  # start the engine only when there is work
                try:
                    backend = start_backend(args.backend, model, tokenizer, problems, args.max_new_tokens)
                except (ImportError, RuntimeError, OSError) as err:
                    print(f"error: cannot start the {args.backend} backend: {err}", file=sys.stderr)
                    return 2
                engines.callback(backend.close)
            by_key = {(name, p["index"]): p for p in problems[name]}
            bar = tqdm(total=total, initial=total - len(requests), desc=name, unit="sample")
            with Appender(path) as out, bar:
                for o in backend.generate(requests, sampling):
                    problem = by_key[o.key[:2]]
                    out.write([{
                        "benchmark": name, "index": o.key[1], "sample": o.key[2], "seed": args.seed + o.key[2],
                        "problem": problem["problem"], "ground_truth": problem["ground_truth"], "response": o.text,
                        "response_tokens": o.tokens, "prompt_tokens": o.prompt_tokens,
                        "finish_reason": o.finish_reason, **settings,
                    }])  # fmt: skip
                    bar.update(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
