"""Reading a campaign's prompts: JSON Lines, CSV, an InstructLab `qna.yaml`, or a taxonomy
directory (every `qna.yaml` under it).

Every record is checked; a bad one is reported with its file and line (or record) and why,
and then nothing is created: `read_prompts` raises SourceError listing every problem.

InstructLab's taxonomy schema, version 3 (github.com/instructlab/schema, v3/):
- a skill: `version: 3`, `created_by`, `task_description`, `seed_examples` of
  `{question, answer, context?}` (`context` makes it a grounded skill);
- knowledge: `version: 3`, `created_by`, `domain`, `document_outline`, `document`
  (`{repo, commit, patterns}`), `seed_examples` of `{context, questions_and_answers:
  [{question, answer}]}`.
Each question becomes a prompt; a question with a `context` is asked with it, the context
first. The schema's minimum counts (five seed examples, three questions each) are not
enforced: a draft with fewer questions still makes a campaign.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

QNA_FILE = "qna.yaml"
TAXONOMY_VERSION = 3
# Longest prompt or system prompt read from a file, in characters (a knowledge context
# with its question fits many times over).
MAX_PROMPT_CHARS = 100_000
# At most this many problems are listed; the count says how many there were.
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Prompt:
    """One prompt read from a file, and where it came from."""

    prompt: str
    system_prompt: str | None
    origin: str  # "file:line", "file: seed_examples[2].questions_and_answers[0]"


class SourceError(ValueError):
    """A file cannot be read as prompts; `problems` says where and why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        lines = "\n".join(f"  {p}" for p in shown)
        tail = f"\n  ... and {more} more" if more else ""
        super().__init__(f"{len(problems)} problem(s); nothing was created:\n{lines}{tail}")


def read_prompts(path: Path) -> list[Prompt]:
    """The prompts in `path` (a file, or a taxonomy directory), the same text counted once,
    in file order; SourceError when any record is bad or there is none."""
    problems: list[str] = []
    if path.is_dir():
        files = sorted(p for p in path.rglob(QNA_FILE) if p.is_file())
        if not files:
            raise SourceError([f"{path}: no {QNA_FILE} file under this directory"])
        prompts = [p for f in files for p in _read_file(f, problems)]
    elif path.is_file():
        prompts = _read_file(path, problems)
    else:
        raise SourceError([f"{path}: no such file or directory"])
    if problems:
        raise SourceError(problems)
    unique: dict[str, Prompt] = {}
    for prompt in prompts:
        unique.setdefault(prompt.prompt, prompt)  # the first one wins
    if not unique:
        raise SourceError([f"{path}: no prompts in it"])
    return list(unique.values())


def _read_file(path: Path, problems: list[str]) -> list[Prompt]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})")
        return []
    except OSError as exc:
        problems.append(f"{path}: cannot be read ({exc.strerror})")
        return []
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl(path, text, problems)
    if suffix == ".csv":
        return _csv(path, text, problems)
    if suffix in (".yaml", ".yml"):
        return _qna(path, text, problems)
    problems.append(f"{path}: unknown kind of file; use .jsonl, .csv, qna.yaml or a directory")
    return []


def _text(value: Any, where: str, field: str, problems: list[str], required: bool) -> str | None:
    """A field's text, stripped; None (and a problem when required) if missing or bad."""
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            problems.append(f"{where}: missing {field!r}")
        return None
    if not isinstance(value, str):
        problems.append(f"{where}: {field!r} must be text, not {type(value).__name__}")
        return None
    value = value.strip()
    if not value:
        problems.append(f"{where}: {field!r} is empty")
        return None
    if len(value) > MAX_PROMPT_CHARS:
        problems.append(f"{where}: {field!r} is longer than {MAX_PROMPT_CHARS:,} characters")
        return None
    if "\x00" in value:
        problems.append(f"{where}: {field!r} contains a NUL character")
        return None
    return value


def _record(data: dict, where: str, problems: list[str]) -> Prompt | None:
    prompt = _text(data.get("prompt"), where, "prompt", problems, required=True)
    system = _text(data.get("system_prompt"), where, "system_prompt", problems, required=False)
    return Prompt(prompt, system, where) if prompt is not None else None


def _jsonl(path: Path, text: str, problems: list[str]) -> list[Prompt]:
    prompts = []
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and friends raw.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except ValueError as exc:
            problems.append(f"{where}: not valid JSON ({exc})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{where}: must be a JSON object with a 'prompt'")
            continue
        prompt = _record(data, where, problems)
        if prompt is not None:
            prompts.append(prompt)
    return prompts


def _csv(path: Path, text: str, problems: list[str]) -> list[Prompt]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        columns = reader.fieldnames
    except csv.Error as exc:
        problems.append(f"{path}:1: not valid CSV ({exc})")
        return []
    if not columns or "prompt" not in [c.strip() for c in columns]:
        found = ", ".join(repr(c) for c in columns or []) or "none"
        problems.append(f"{path}:1: no 'prompt' column (columns: {found})")
        return []
    prompts = []
    try:
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if None in row:
                problems.append(f"{where}: more fields than the header has columns")
                continue
            data = {(k or "").strip(): v for k, v in row.items()}
            prompt = _record(data, where, problems)
            if prompt is not None:
                prompts.append(prompt)
    except csv.Error as exc:
        problems.append(f"{path}:{reader.line_num}: not valid CSV ({exc})")
    return prompts


def _qna(path: Path, text: str, problems: list[str]) -> list[Prompt]:
    try:
        data = yaml.safe_load(text)  # safe: plain data only, no Python objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problems.append(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})")
        return []
    if not isinstance(data, dict):
        problems.append(f"{path}: must be a YAML mapping (an InstructLab qna.yaml)")
        return []
    version = data.get("version")
    if version != TAXONOMY_VERSION or isinstance(version, bool):
        problems.append(
            f"{path}: 'version' must be {TAXONOMY_VERSION} (InstructLab's taxonomy schema "
            f"version 3), found {version!r}"
        )
        return []
    before = len(problems)
    _text(data.get("created_by"), str(path), "created_by", problems, required=True)
    knowledge = "domain" in data or "document" in data or "document_outline" in data
    if knowledge:
        for field in ("domain", "document_outline"):
            _text(data.get(field), str(path), field, problems, required=True)
        if not isinstance(data.get("document"), dict):
            problems.append(f"{path}: missing 'document' (repo, commit, patterns)")
    else:
        _text(data.get("task_description"), str(path), "task_description", problems, True)
    examples = data.get("seed_examples")
    if not isinstance(examples, list) or not examples:
        problems.append(f"{path}: 'seed_examples' must be a non-empty list")
        return []
    prompts = []
    for i, example in enumerate(examples):
        where = f"{path}: seed_examples[{i}]"
        if not isinstance(example, dict):
            problems.append(f"{where}: must be a mapping")
        elif knowledge:
            prompts += _knowledge_example(example, where, problems)
        else:
            prompts += _skill_example(example, where, problems)
    return prompts if len(problems) == before else []


def _asked(question: str, context: str | None) -> str:
    """A question as the model is asked it: the context, when there is one, first."""
    return f"{context}\n\n{question}" if context else question


def _skill_example(example: dict, where: str, problems: list[str]) -> list[Prompt]:
    question = _text(example.get("question"), where, "question", problems, required=True)
    _text(example.get("answer"), where, "answer", problems, required=True)
    context = _text(example.get("context"), where, "context", problems, required=False)
    return [Prompt(_asked(question, context), None, where)] if question else []


def _knowledge_example(example: dict, where: str, problems: list[str]) -> list[Prompt]:
    context = _text(example.get("context"), where, "context", problems, required=True)
    pairs = example.get("questions_and_answers")
    if not isinstance(pairs, list) or not pairs:
        problems.append(f"{where}: 'questions_and_answers' must be a non-empty list")
        return []
    prompts = []
    for j, pair in enumerate(pairs):
        at = f"{where}.questions_and_answers[{j}]"
        if not isinstance(pair, dict):
            problems.append(f"{at}: must be a mapping with 'question' and 'answer'")
            continue
        question = _text(pair.get("question"), at, "question", problems, required=True)
        _text(pair.get("answer"), at, "answer", problems, required=True)
        if question and context:
            prompts.append(Prompt(_asked(question, context), None, at))
    return prompts
