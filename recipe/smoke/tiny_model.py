"""Build a tiny Qwen2 model and its tokenizer locally, with no hub access (tests and launch/cpu_smoke.sh).

The tokenizer is a byte-level BPE (so every string round-trips, unicode included) with Qwen's special tokens, chat
template and pre-tokenizer (Qwen2's split pattern: one digit a token); the model is a 2-layer Qwen2 of about 100k
parameters. Both are deterministic for a given seed.

The pre-tokenizer matters: from a directory with a Qwen2 `config.json`, `AutoTokenizer` builds transformers'
`Qwen2Tokenizer`, which applies Qwen2's own split pattern whatever `tokenizer.json` says. A tokenizer trained with
another one tokenised the same prompt differently in memory (where the model was taught) and when loaded from disk
(where verl, vLLM and eval read it): " 3" was one token in one and two in the other. Training with Qwen2's pattern,
and returning the tokenizer as loaded from the directory, keeps the two the same
(tests/test_recipe_smoke_tiny_model.py).

    python -m recipe.smoke.tiny_model --output-dir /tmp/tiny
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def _corpus() -> list[str]:
    # Enough text for BPE to learn the pieces the recipe's prompts and answers are made of.
    from data_prep.protocol import TRAIN_PROMPT_SUFFIX

    words = [
        TRAIN_PROMPT_SUFFIX.strip(),
        "The last line of your response should be of the form Answer: $Answer",
        "user assistant system \\boxed{ } \\frac{ } \\sqrt{ } Answer: = + - * / ^ ( ) [ ] $ .",
    ]
    words += [f"{a} + {b} = {a + b}. \\boxed{{{a + b}}}" for a in range(10) for b in range(10)]
    return words * 4


def build_tokenizer(output_dir: str | os.PathLike, vocab_size: int = 512):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )  # as transformers' Qwen2Tokenizer builds it (see the module docstring)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        additional_special_tokens=["<|im_start|>"],
    )
    hf.chat_template = CHAT_TEMPLATE
    hf.save_pretrained(output_dir)
    return hf


def build_model(output_dir: str | os.PathLike, seed: int = 0, hidden_size: int = 64, num_layers: int = 2):
    """Save a tokenizer and a randomly initialised tiny Qwen2 to `output_dir`; returns (model, tokenizer), the
    tokenizer as `AutoTokenizer` loads it from `output_dir` (what verl, vLLM and eval will use)."""
    import torch
    from transformers import AutoTokenizer, GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    tokenizer = build_tokenizer(output_dir)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=2,  # head size 32 at hidden_size 64: vLLM's CPU attention rejects head sizes under 32
        num_key_value_heads=1,  # grouped-query attention, as in the Qwen2 models the recipe trains
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    model.save_pretrained(output_dir)
    return model, AutoTokenizer.from_pretrained(output_dir)


Examples = list[tuple[list[int], list[int]]]  # (prompt ids, answer ids)


def padded_batch(examples: Examples, pad_token_id: int):
    """(input ids, labels, attention mask) of right-padded examples; labels only on the answers."""
    import torch

    length = max(len(p) + len(a) for p, a in examples)
    ids = torch.full((len(examples), length), pad_token_id)
    labels = torch.full((len(examples), length), -100)
    mask = torch.zeros((len(examples), length), dtype=torch.long)
    for i, (prompt, answer) in enumerate(examples):
        ids[i, : len(prompt) + len(answer)] = torch.tensor(prompt + answer)
        labels[i, len(prompt) : len(prompt) + len(answer)] = torch.tensor(answer)
        mask[i, : len(prompt) + len(answer)] = 1
    return ids, labels, mask


def weighted_nll(logits, labels, weights: list[float]):
    """The weighted mean over examples of each answer's summed negative log-likelihood (labels -100 ignored)."""
    import torch

    logits, labels = logits[:, :-1], labels[:, 1:]
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels, ignore_index=-100, reduction="none")
    w = torch.tensor(weights, dtype=nll.dtype)
    return (nll.sum(-1) * w).sum() / w.sum()


def teach(
    model,
    examples: Examples | Callable[[int], Examples],
    steps: int = 60,
    lr: float = 3e-3,
    seed: int = 0,
    warmup: int = 0,
    done: Callable[[Any], bool] | None = None,
    check_every: int = 25,
    weights: list[float] | None = None,
) -> int:
    """Full-batch supervised steps (AdamW, gradients clipped at 1) on (prompt ids, answer ids) pairs, the loss on
    the answers only: enough for a tiny model to learn a fixed answer format, or a handful of answers by heart.
    `examples` may be a function of the step (a freshly sampled batch each step). With `weights` (one an example), the
    loss is the weighted mean of each answer's whole negative log-likelihood, whose optimum gives the answers of one
    prompt probabilities in proportion to their weights. With `done`, stops early once `done(model)` holds (checked
    every `check_every` steps). Returns the steps taken; the model is left in eval mode."""
    import torch

    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / max(warmup, 1)))
    pad = model.generation_config.pad_token_id
    step = 0
    while step < steps:
        model.train()
        ids, labels, mask = padded_batch(examples(step) if callable(examples) else examples, pad)
        out = model(input_ids=ids, attention_mask=mask, labels=None if weights else labels)
        (out.loss if not weights else weighted_nll(out.logits, labels, weights)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        step += 1
        if done is not None and step % check_every == 0:
            model.eval()
            with torch.no_grad():
                if done(model):
                    break
    model.eval()
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    model, _ = build_model(args.output_dir, seed=args.seed)
    print(f"tiny Qwen2 ({sum(p.numel() for p in model.parameters()):,} parameters) written to {args.output_dir}")


if __name__ == "__main__":
    main()
