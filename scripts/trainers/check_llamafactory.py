"""The exports in LLaMA-Factory: its own data loading, then real DPO and KTO training.

Runs in .venv-trainers/llamafactory (llamafactory 0.9.5, torch on the CPU), for
scripts/check-trainers, on the files make_exports.py wrote to FOLDER. The dataset_info.json
entries are read from docs/cli.md itself (its `"duet": {...}` and `"duet_kto": {...}`
blocks), so the check holds the documentation to what LLaMA-Factory accepts:

- `llamafactory.data.get_dataset` (parse dataset_info.json, load the file, the ShareGPT
  converter, the pairwise or feedback processor with a tokenizer and the `default` template)
  keeps every line written: sharegpt and sharegpt --with-edits for DPO (stage `rm`, as
  LLaMA-Factory's DPO workflow loads it), kto-llamafactory (with thumbs) for KTO;
- TRL's kto file, declared the nearest way LLaMA-Factory allows (`"messages": "prompt"`, as
  it has no completion column), is refused with "Cannot find valid samples", the failure
  issue 20 reported, which kto-llamafactory is for;
- `llamafactory.train.tuner.run_exp` trains a tiny random Llama made offline (tiny_model.py)
  a few steps of DPO on sharegpt and of KTO on kto-llamafactory.

    .venv-trainers/llamafactory/bin/python scripts/trainers/check_llamafactory.py FOLDER
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may come from the hub
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Its pins (transformers, datasets, trl, peft...) are met; the check stays on so a drift shows.
os.environ.setdefault("DISABLE_VERSION_CHECK", "0")

import llamafactory
from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
from llamafactory.hparams import get_train_args
from llamafactory.model import load_tokenizer
from llamafactory.train.tuner import run_exp
from report import Checks, expect, lines
from tiny_model import build

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def documented_entries() -> dict[str, dict]:
    """The dataset_info.json entries in docs/cli.md: ```json blocks that open with a name."""
    entries: dict[str, dict] = {}
    for block in re.findall(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S):
        if block.lstrip().startswith('"'):
            entries.update(json.loads("{" + block + "}"))
    expect({"duet", "duet_kto"} <= set(entries), f"docs/cli.md documents {sorted(entries)}")
    return entries


def dataset_dir(folder: Path) -> Path:
    """LLaMA-Factory's data folder: the documented entries, their files under the documented
    names, and two more entries made from them (the --with-edits file, TRL's kto file)."""
    entries = documented_entries()
    data = folder / "llamafactory-data"
    data.mkdir(exist_ok=True)
    shutil.copy(folder / "sharegpt.jsonl", data / entries["duet"]["file_name"])
    shutil.copy(folder / "kto-llamafactory.jsonl", data / entries["duet_kto"]["file_name"])
    shutil.copy(folder / "sharegpt-with-edits.jsonl", data / "duet.sharegpt-with-edits.jsonl")
    shutil.copy(folder / "kto.jsonl", data / "duet.kto.jsonl")
    entries["duet_with_edits"] = entries["duet"] | {"file_name": "duet.sharegpt-with-edits.jsonl"}
    trl_kto = json.loads(json.dumps(entries["duet_kto"]))
    trl_kto["file_name"] = "duet.kto.jsonl"
    trl_kto["columns"]["messages"] = "prompt"
    entries["duet_trl_kto"] = trl_kto
    (data / "dataset_info.json").write_text(json.dumps(entries, indent=2), encoding="utf-8")
    return data


def arguments(folder: Path, data: Path, model: Path, stage: str, dataset: str) -> dict:
    """run_exp's arguments: a few full fine-tuning steps of the tiny model on the CPU."""
    return {
        "stage": stage,
        "do_train": True,
        "model_name_or_path": str(model),
        "trust_remote_code": False,
        "finetuning_type": "full",
        "dataset": dataset,
        "dataset_dir": str(data),
        "template": "default",
        "cutoff_len": 512,
        "overwrite_cache": True,
        "output_dir": str(folder / "out" / f"llamafactory-{stage}-{dataset}"),
        "overwrite_output_dir": True,
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 1,
        "learning_rate": 1e-3,
        "max_steps": 3,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "use_cpu": True,
        "seed": 0,
        "pref_beta": 0.1,
        "plot_loss": False,
    }


def loaded(args: dict, stage: str):
    """LLaMA-Factory's training examples (stage `rm` for DPO, `kto`) and its tokenizer."""
    model_args, data_args, training_args, _, _ = get_train_args(dict(args))
    tokenizer_module = load_tokenizer(model_args)
    template = get_template_and_fix_tokenizer(tokenizer_module["tokenizer"], data_args)
    with contextlib.redirect_stdout(sys.stderr):  # it prints a tokenized example
        module = get_dataset(
            template, model_args, data_args, training_args, stage=stage, **tokenizer_module
        )
    return module["train_dataset"], tokenizer_module["tokenizer"]


def _decoded(tokenizer, ids: list[int]) -> str:
    """The text of the ids that are not masked out (-100: LLaMA-Factory's IGNORE_INDEX)."""
    return tokenizer.decode([i for i in ids if i != -100], skip_special_tokens=False)


def _trained_on(tokenizer, labels: list[int], text: str) -> bool:
    """Whether the labels are `text` and an end of sequence: what the model learns to say."""
    decoded = _decoded(tokenizer, labels)
    return decoded.startswith(text) and decoded[len(text) :].replace("</s>", "").strip() == ""


def keeps_every_line(folder: Path, data: Path, model: Path, dataset: str, stage: str) -> str:
    """get_dataset keeps one example per line, in order, with the line's system prompt, and
    the answers where they belong: chosen and rejected (DPO), the rated one with its label."""
    entry = json.loads((data / "dataset_info.json").read_text())[dataset]
    written = lines(data / entry["file_name"])
    args = arguments(folder, data, model, stage, dataset)
    examples, tokenizer = loaded(args, "rm" if stage == "dpo" else stage)
    expect(len(examples) == len(written), f"kept {len(examples)} of {len(written)} lines")
    systems = 0
    for n, (row, example) in enumerate(zip(written, examples, strict=True), 1):
        if stage == "dpo":
            first, inputs = row["conversations"][0], example["chosen_input_ids"]
            system = first["value"] if first["from"] == "system" else None
            expect(
                _trained_on(tokenizer, example["chosen_labels"], row["chosen"]["value"])
                and _trained_on(tokenizer, example["rejected_labels"], row["rejected"]["value"]),
                f"line {n}: chosen or rejected is not the line's",
            )
        else:
            first, inputs = row["messages"][0], example["input_ids"]
            system = first["content"] if first["role"] == "system" else None
            expect(
                _trained_on(tokenizer, example["labels"], row["messages"][-1]["content"])
                and example["kto_tags"] == row["label"],
                f"line {n}: the rated answer or its label is not the line's",
            )
        has_system = _decoded(tokenizer, inputs).startswith(f"System: {system}</s>")
        expect(has_system == (system is not None), f"line {n}: system prompt {system!r} lost")
        systems += system is not None
    detail = f"get_dataset ({stage}) kept {len(examples)} of {len(written)} lines"
    if stage == "kto":
        good = sum(row["label"] for row in written)
        detail += f" ({good} desirable, {len(written) - good} undesirable)"
    return detail + f", answers and labels in place, {systems} with the system prompt"


def refuses_trl_kto(folder: Path, data: Path, model: Path) -> str:
    """TRL's kto layout is refused: each prompt ends with the user, so no example is valid."""
    try:
        loaded(arguments(folder, data, model, "kto", "duet_trl_kto"), "kto")  # raises
    except RuntimeError as exc:
        expect("Cannot find valid samples" in str(exc), f"another error: {exc}")
        return f"refused as issue 20 reported: {exc}"
    raise AssertionError("LLaMA-Factory accepted TRL's kto layout: is kto-llamafactory needed?")


def trains(folder: Path, data: Path, model: Path, dataset: str, stage: str) -> str:
    """run_exp trains a few steps: finite losses."""
    args = arguments(folder, data, model, stage, dataset)
    with contextlib.redirect_stdout(sys.stderr):
        run_exp(args)
    state = json.loads((Path(args["output_dir"]) / "trainer_state.json").read_text())
    losses = [entry["loss"] for entry in state["log_history"] if "loss" in entry]
    expect(len(losses) == 3 and all(math.isfinite(v) for v in losses), f"losses {losses}")
    return f"run_exp {stage}: 3 steps, losses {[round(v, 4) for v in losses]}"


def main(folder: Path) -> None:
    """Run every check on the exports in `folder`; exit 1 if any failed."""
    import datasets
    import torch
    import transformers
    import trl

    print(
        f"LLaMA-Factory venv: llamafactory {llamafactory.__version__}, datasets "
        f"{datasets.__version__}, transformers {transformers.__version__}, trl "
        f"{trl.__version__}, torch {torch.__version__}",
        flush=True,
    )
    checks = Checks("llamafactory")
    model = build(folder, folder / "tiny-model-llamafactory")
    data = dataset_dir(folder)
    print(f"  dataset_info.json entries from docs/cli.md, in {data}", flush=True)
    for dataset, stage in (("duet", "dpo"), ("duet_with_edits", "dpo"), ("duet_kto", "kto")):
        checks.run(
            f"get_dataset {dataset}",
            lambda d=dataset, s=stage: keeps_every_line(folder, data, model, d, s),
        )
    checks.run("get_dataset TRL's kto", lambda: refuses_trl_kto(folder, data, model))
    for dataset, stage in (("duet", "dpo"), ("duet_kto", "kto")):
        checks.run(f"train {dataset}", lambda d=dataset, s=stage: trains(folder, data, model, d, s))
    checks.exit()


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
