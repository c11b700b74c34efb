"""A tiny random Llama and its tokenizer, made offline, so the trainers can really train.

No model can be downloaded here (no network to the Hugging Face hub), and the point is the
data, not the model: a byte-level BPE tokenizer trained on the exported texts (every byte is
in its alphabet, so any text tokenizes), a plain chat template, and a two-layer Llama with
random weights. Runs inside a trainer venv (transformers and tokenizers), not Duet's.
"""

from __future__ import annotations

import json
from pathlib import Path

# One message: its role in angle brackets, the content, the end-of-sequence token. The
# assistant's turn starts with "<|assistant|>", which the generation prompt ends with, so
# TRL's prompt + completion split falls at the same place as the rendered conversation.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}"
    "{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL = ["<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]


def _texts(folder: Path) -> list[str]:
    """Every string in every exported JSON line under `folder`, to train the tokenizer on."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            walk(json.loads(line))
    return found


def build(exports: Path, target: Path) -> Path:
    """Save a tokenizer and a random tiny Llama in `target`; return it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(_texts(exports), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        additional_special_tokens=SPECIAL[3:],
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(target)

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)  # the same weights every run
    LlamaForCausalLM(config).save_pretrained(target)
    return target
