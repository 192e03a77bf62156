"""DAPO-Math-17k -> verl parquet, with JustRL's prompt.

    python -m data_prep.dapo_math --output data/dapo_math_17k.parquet            # keep all rows (JustRL)
    python -m data_prep.dapo_math --input local.parquet --output out.parquet --dedup --tokenizer MODEL

Each row keeps only the first user message of the source prompt (system messages dropped, as JustRL's loader did) and
appends JustRL's instruction to it, byte for byte (`data_prep.protocol.TRAIN_PROMPT_SUFFIX`). `data_source` is
"math_dapo", the ground truth a string, `extra_info.index` the source row.

The published file holds one block of 17,917 rows repeated 100 times (1,791,700 rows, 17,398 distinct problems).
JustRL trained on it as published: keep-all is the default and reproduces it. `--dedup` keeps the first row of each
distinct problem text; the recipe fixes its length in steps (trainer.total_training_steps), so both files give the
same 4,380-step run (the deduplicated one simply cycles through more epochs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from omegaconf import OmegaConf
from tqdm import tqdm

from data_prep.files import AtomicParquetWriter, output_problem
from data_prep.protocol import TRAIN_HUB_ID, TRAIN_PROMPT_SUFFIX
from data_prep.schema import DataError
from data_prep.sources import read_batches
from reward.sources import TRAIN_SOURCE

# The filter verl applies at start-up: the recipe's data.max_prompt_length, read from its YAML (a file, not an import:
# data_prep sits below recipe/).
MAX_PROMPT_TOKENS: int = OmegaConf.load(Path(__file__).parents[1] / "recipe" / "justrl.yaml").data.max_prompt_length

OUTPUT_SCHEMA = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", pa.list_(pa.struct([("content", pa.string()), ("role", pa.string())]))),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("ground_truth", pa.string()), ("style", pa.string())])),
        ("extra_info", pa.struct([("index", pa.int64()), ("split", pa.string())])),
    ]
)


class PromptLength:
    """Prompt length in tokens after the chat template, computed as verl's RLHFDataset filter does, cached."""

    def __init__(self, tokenizer_path: str, trust_remote_code: bool = False):
        from transformers import AutoTokenizer
        from verl.utils.tokenizer import normalize_token_ids

        self._normalize = normalize_token_ids
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_path, trust_remote_code=trust_remote_code)
        self._cache: dict[str, int] = {}

    def __call__(self, messages: list[dict]) -> int:
        key = messages[0]["content"]
        if key not in self._cache:
            ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            self._cache[key] = len(self._normalize(ids))
        return self._cache[key]


def _check_schema(source: str, schema: pa.Schema) -> None:
    """The input columns this converter reads, with their types; a DataError names the file and the column."""
    expected = {"prompt": ("a list of messages", pa.types.is_list), "reward_model": ("a struct", pa.types.is_struct)}
    for name, (kind, is_kind) in expected.items():
        if name not in schema.names:
            raise DataError(f"{source}: missing column {name!r} (columns: {', '.join(schema.names)})")
        typ = schema.field(name).type
        if not (is_kind(typ) or pa.types.is_large_list(typ) and name == "prompt"):
            raise DataError(f"{source}: column {name!r} has type {typ}, expected {kind}")
    element = schema.field("prompt").type.value_type
    if not pa.types.is_struct(element) or {"role", "content"} - {f.name for f in element}:
        raise DataError(f"{source}: column 'prompt' must hold messages with 'role' and 'content', got {element}")
    reward_model = schema.field("reward_model").type
    names = [f.name for f in reward_model]
    if "ground_truth" not in names:
        raise DataError(f"{source}: column 'reward_model' has no field 'ground_truth' (fields: {names})")
    gt_type = reward_model.field("ground_truth").type
    if not (pa.types.is_string(gt_type) or pa.types.is_large_string(gt_type)):
        raise DataError(f"{source}: column 'reward_model.ground_truth' has type {gt_type}, expected string")


def _first_user_contents(source: str, batch: pa.RecordBatch, first_row: int) -> pa.Array:
    """The first user message's content of every row, vectorised; a DataError names the first bad row."""
    prompts = batch.column("prompt")
    flat = prompts.flatten()
    parents = pc.list_parent_indices(prompts).to_numpy()
    is_user = pc.fill_null(pc.equal(flat.field("role"), "user"), False).to_numpy(zero_copy_only=False)
    user_pos = np.flatnonzero(is_user)
    user_rows = parents[user_pos]
    first = np.r_[True, user_rows[1:] != user_rows[:-1]] if len(user_rows) else np.zeros(0, bool)
    if first.sum() != batch.num_rows:
        missing = np.setdiff1d(np.arange(batch.num_rows), user_rows[first])[0]
        raise DataError(f"{source}: row {first_row + int(missing)}: column 'prompt' has no user message")
    contents = flat.field("content").take(pa.array(user_pos[first]))
    if contents.null_count:
        bad = int(np.flatnonzero(contents.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"{source}: row {first_row + bad}: column 'prompt' user message has no content")
    return contents


def _convert(source: str, batch: pa.RecordBatch, first_row: int) -> tuple[pa.RecordBatch, pa.Array]:
    n = batch.num_rows
    contents = _first_user_contents(source, batch, first_row)
    ground_truth = batch.column("reward_model").field("ground_truth")
    if ground_truth.null_count:
        bad = int(np.flatnonzero(ground_truth.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"{source}: row {first_row + bad}: column 'reward_model.ground_truth' is null")
    ability = batch.column("ability") if "ability" in batch.schema.names else pa.repeat("MATH", n)
    messages = pa.StructArray.from_arrays(
        [pc.binary_join_element_wise(contents, TRAIN_PROMPT_SUFFIX, ""), pa.repeat("user", n)],
        names=["content", "role"],
    )
    out = pa.RecordBatch.from_arrays(
        [
            pa.repeat(TRAIN_SOURCE, n),
            pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), messages),
            ability.cast(pa.string()),
            pa.StructArray.from_arrays(
                [ground_truth.cast(pa.string()), pa.repeat("rule", n)], ["ground_truth", "style"]
            ),
            pa.StructArray.from_arrays(
                [pa.array(np.arange(first_row, first_row + n, dtype=np.int64)), pa.repeat("train", n)],
                ["index", "split"],
            ),
        ],
        schema=OUTPUT_SCHEMA,
    )
    return out, contents


def prepare(
    source: str, output: str, dedup: bool = False, tokenizer: str | None = None, trust_remote_code: bool = False
) -> dict[str, int]:
    """Convert `source` to `output` (atomically); returns the counts it prints."""
    schema, total, batches = read_batches(source)
    _check_schema(source, schema)
    prompt_length = PromptLength(tokenizer, trust_remote_code) if tokenizer else None
    seen: set[str] = set()
    counts = {"read": 0, "duplicates": 0, "too_long": 0, "written": 0}
    with AtomicParquetWriter(output, OUTPUT_SCHEMA) as writer, tqdm(total=total, unit="row", desc=source) as bar:
        for batch in batches:
            out, contents = _convert(source, batch, counts["read"])
            counts["read"] += batch.num_rows
            if dedup or prompt_length:
                keep = np.ones(batch.num_rows, dtype=bool)
                prompts = out.column("prompt").to_pylist() if prompt_length else None
                for i, text in enumerate(contents.to_pylist()):
                    if dedup:
                        if text in seen:
                            keep[i] = False
                            counts["duplicates"] += 1
                            continue
                        seen.add(text)
                    if prompt_length and prompt_length(prompts[i]) > MAX_PROMPT_TOKENS:
                        keep[i] = False
                        counts["too_long"] += 1
                out = out.filter(pa.array(keep))
            writer.write(pa.Table.from_batches([out]))
            counts["written"] += out.num_rows
            bar.update(batch.num_rows)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=TRAIN_HUB_ID, help="hub dataset id or local .parquet/.jsonl file")
    parser.add_argument("--output", required=True, help="output .parquet file")
    parser.add_argument("--dedup", action="store_true", help="keep the first row of each distinct problem text")
    parser.add_argument(
        "--tokenizer", help=f"drop prompts over {MAX_PROMPT_TOKENS} tokens after this tokenizer's chat template"
    )
    parser.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="let the tokenizer run code from its repository (off by default)",
    )
    args = parser.parse_args(argv)
    problem = output_problem(args.output)
    if problem:
        print(f"error: --output {problem}", file=sys.stderr)
        return 2
    try:
        counts = prepare(args.input, args.output, args.dedup, args.tokenizer, args.trust_remote_code)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"rows read: {counts['read']:,}; duplicates dropped: {counts['duplicates']:,}; "
        f"over {MAX_PROMPT_TOKENS} tokens dropped: {counts['too_long']:,}; rows written: {counts['written']:,} "
        f"-> {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
