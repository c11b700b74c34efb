"""The exports in TRL: `datasets.load_dataset("json")`, TRL's data checks, and real training.

Runs in .venv-trainers/trl (datasets, TRL, transformers, torch on the CPU), for
scripts/check-trainers, on the files make_exports.py wrote to FOLDER:

- every file loads with `load_dataset("json", data_files=..., split="train")` into exactly
  the rows written (raw: as many rows, its votes, ratings, edits and skips in one table);
- trl, trl --with-edits and kto (with thumbs): every row is conversational for TRL
  (`is_conversational`) and renders with `maybe_apply_chat_template`;
- DPOTrainer trains on trl and trl --with-edits, KTOTrainer on kto, a few steps each, with a
  tiny random Llama made offline (tiny_model.py): finite losses;
- openai: the layout of OpenAI's preference fine-tuning, and --first-turns gives one-turn
  examples, at least the 10 a job needs (no OpenAI call: there is no network).

    .venv-trainers/trl/bin/python scripts/trainers/check_trl.py FOLDER
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may come from the hub
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import datasets
import transformers
import trl
from datasets import load_dataset
from report import Checks, expect, lines
from tiny_model import build
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl.data_utils import is_conversational, maybe_apply_chat_template

try:  # KTO is in trl.experimental in some TRL 1.x releases, top-level again in 1.16
    from trl import KTOConfig, KTOTrainer
except ImportError:
    from trl.experimental.kto import KTOConfig, KTOTrainer

FILES = [
    "trl",
    "trl-with-edits",
    "kto",
    "openai",
    "openai-first-turns",
    "openai-with-edits",
    "sharegpt",
    "sharegpt-with-edits",
    "raw",
]
CONVERSATIONAL = {"trl": "preference", "trl-with-edits": "preference", "kto": "unpaired"}


def _loaded(folder: Path, name: str) -> str:
    path = folder / f"{name}.jsonl"
    written = lines(path)
    dataset = load_dataset("json", data_files=str(path), split="train")
    expect(len(written) > 0, "the export is empty")
    expect(dataset.num_rows == len(written), f"{dataset.num_rows} rows, {len(written)} lines")
    if name != "raw":  # raw's lines have several layouts: datasets fills the gaps with None
        expect(dataset.to_list() == written, "the rows read differ from the lines written")
    return f"{dataset.num_rows} rows, columns {', '.join(dataset.column_names)}"


def _conversational(folder: Path, name: str, tokenizer) -> str:
    dataset = load_dataset("json", data_files=str(folder / f"{name}.jsonl"), split="train")
    rows = dataset.to_list()
    expect(all(is_conversational(row) for row in rows), "a row is not conversational")
    answer = "chosen" if CONVERSATIONAL[name] == "preference" else "completion"
    for row in rows:
        rendered = maybe_apply_chat_template(row, tokenizer)
        expect(rendered["prompt"].endswith("<|assistant|>"), f"prompt: {rendered['prompt']!r}")
        expect(
            rendered[answer].startswith(row[answer][0]["content"]),
            f"{answer}: {rendered[answer]!r}",
        )
    return f"{len(rows)} rows conversational ({CONVERSATIONAL[name]}), chat template applied"


def _arguments(out: Path) -> dict:
    return {
        "output_dir": str(out),
        "max_steps": 3,
        "per_device_train_batch_size": 4,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "report_to": "none",
        "save_strategy": "no",
        "use_cpu": True,
        "seed": 0,
        "max_length": 512,
    }


def _losses(trainer) -> list[float]:
    with contextlib.redirect_stdout(sys.stderr):  # the trainer prints every step's log
        trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    expect(len(losses) == 3 and all(math.isfinite(v) for v in losses), f"losses {losses}")
    return losses


def _dpo(folder: Path, name: str, model_dir: Path) -> str:
    dataset = load_dataset("json", data_files=str(folder / f"{name}.jsonl"), split="train")
    trainer = trl.DPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        args=trl.DPOConfig(**_arguments(folder / "out" / name)),
        train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(model_dir),
    )
    losses = _losses(trainer)
    return f"DPOTrainer: 3 steps on {dataset.num_rows} rows, losses {[round(v, 4) for v in losses]}"


def _kto(folder: Path, model_dir: Path) -> str:
    dataset = load_dataset("json", data_files=str(folder / "kto.jsonl"), split="train")
    trainer = KTOTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        args=KTOConfig(**_arguments(folder / "out" / "kto")),
        train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(model_dir),
    )
    losses = _losses(trainer)
    labels = dataset["label"]
    return (
        f"KTOTrainer: 3 steps on {dataset.num_rows} rows ({sum(labels)} true, "
        f"{len(labels) - sum(labels)} false), losses {[round(v, 4) for v in losses]}"
    )


def _is_message(message: dict, role: str) -> bool:
    return set(message) == {"role", "content"} and message["role"] == role


def _openai(folder: Path, name: str) -> str:
    rows = lines(folder / f"{name}.jsonl")
    for row in rows:
        expect(
            set(row) == {"input", "preferred_output", "non_preferred_output"}, f"keys {set(row)}"
        )
        messages = row["input"]["messages"]
        expect(messages and _is_message(messages[-1], "user"), "input does not end with the user")
        for side in ("preferred_output", "non_preferred_output"):
            expect(len(row[side]) == 1 and _is_message(row[side][0], "assistant"), side)
    one_turn = sum(not any(m["role"] == "assistant" for m in r["input"]["messages"]) for r in rows)
    if name == "openai-first-turns":
        expect(one_turn == len(rows), f"{len(rows) - one_turn} rows carry earlier exchanges")
        expect(len(rows) >= 10, f"{len(rows)} examples, fewer than the 10 a job needs")
    return f"{len(rows)} rows in OpenAI's DPO layout, {one_turn} of them one-turn"


def main(folder: Path) -> None:
    """Run every check on the exports in `folder`; exit 1 if any failed."""
    print(
        f"TRL venv: datasets {datasets.__version__}, trl {trl.__version__}, "
        f"transformers {transformers.__version__}, torch {__import__('torch').__version__}",
        flush=True,
    )
    checks = Checks("trl")
    model_dir = build(folder, folder / "tiny-model-trl")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    for name in FILES:
        checks.run(f"load_dataset {name}", lambda name=name: _loaded(folder, name))
    for name in CONVERSATIONAL:
        checks.run(f"data_utils {name}", lambda name=name: _conversational(folder, name, tokenizer))
    for name in ("openai", "openai-first-turns", "openai-with-edits"):
        checks.run(f"layout {name}", lambda name=name: _openai(folder, name))
    for name in ("trl", "trl-with-edits"):
        checks.run(f"train {name}", lambda name=name: _dpo(folder, name, model_dir))
    checks.run("train kto", lambda: _kto(folder, model_dir))
    checks.exit()


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
