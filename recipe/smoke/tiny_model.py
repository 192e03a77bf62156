"""Build a tiny Qwen2 model and its tokenizer locally, with no hub access (tests and launch/cpu_smoke.sh).

The tokenizer is a byte-level BPE (so every string round-trips, unicode included) with Qwen's special tokens and
chat template; the model is a 2-layer Qwen2 of about 100k parameters. Both are deterministic for a given seed.

    python -m recipe.smoke.tiny_model --output-dir /tmp/tiny
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def _corpus() -> list[str]:
    # Enough text for BPE to learn the pieces the recipe's prompts and answers are made of.
    from recipe.protocol import TRAIN_PROMPT_SUFFIX

    words = [
        TRAIN_PROMPT_SUFFIX.strip(),
        "The last line of your response should be of the form Answer: $Answer",
        "user assistant system \\boxed{ } \\frac{ } \\sqrt{ } Answer: = + - * / ^ ( ) [ ] $ .",
    ]
    words += [f"{a} + {b} = {a + b}. \\boxed{{{a + b}}}" for a in range(10) for b in range(10)]
    return words * 4


def build_tokenizer(output_dir: str | os.PathLike, vocab_size: int = 512):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
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
    """Save a tokenizer and a randomly initialised tiny Qwen2 to `output_dir`; returns (model, tokenizer)."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

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
    return model, tokenizer


def teach(model, examples: list[tuple[list[int], list[int]]], steps: int = 60, lr: float = 3e-3, seed: int = 0):
    """A few full-batch supervised steps (AdamW) on (prompt ids, answer ids) pairs, the loss on the answers only:
    enough for a tiny model to learn a fixed answer format, or a handful of answers by heart."""
    import torch

    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        loss = 0.0
        for prompt_ids, answer_ids in examples:
            ids = torch.tensor([prompt_ids + answer_ids])
            labels = torch.tensor([[-100] * len(prompt_ids) + answer_ids])
            loss = loss + model(input_ids=ids, labels=labels).loss
        (loss / len(examples)).backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    return model


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
