"""Reading a campaign's prompts: JSONL, CSV, InstructLab qna.yaml files (taxonomy schema
version 3, skills and knowledge) and a taxonomy tree; broken files are refused with where
and why, and nothing is created."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.campaigns.sources import SourceError, read_prompts
from app.extensions import db
from app.models import Campaign, CampaignItem

# A grounded skill (each seed example has a context), as InstructLab's schema v3 has it.
SKILL = """\
version: 3
created_by: ada
task_description: Summarise a passage in one sentence.
seed_examples:
  - context: The Nile is the longest river in Africa.
    question: Summarise the passage.
    answer: The Nile is Africa's longest river.
  - question: What is a haiku?
    answer: A three-line Japanese poem.
  - question: |
      Write a limerick
      about a cat.
    answer: There once was a cat...
"""

# Knowledge: every seed example has a context and questions_and_answers, and the file
# names its document.
KNOWLEDGE = """\
version: 3
created_by: grace
domain: Astronomy
document_outline: Facts about the Moon
document:
  repo: https://github.com/example/moon-docs
  commit: 951999afdc59c46d325493568193b40bd5439c9e
  patterns:
    - moon.md
seed_examples:
  - context: |
      The Moon is Earth's only natural satellite. It orbits at about 384,400 km.
    questions_and_answers:
      - question: How far away is the Moon?
        answer: About 384,400 km.
      - question: How many natural satellites does Earth have?
        answer: One.
  - context: The Moon's surface gravity is about one sixth of Earth's.
    questions_and_answers:
      - question: How strong is gravity on the Moon?
        answer: About a sixth of Earth's.
      - question: What is a haiku?
        answer: A poem; asked again with a context, a different prompt.
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def taxonomy(tmp_path: Path) -> Path:
    """A small InstructLab taxonomy tree: a skill, a knowledge file, and other files."""
    root = tmp_path / "taxonomy"
    write(root / "compositional_skills" / "writing" / "summaries" / "qna.yaml", SKILL)
    write(root / "knowledge" / "science" / "astronomy" / "moon" / "qna.yaml", KNOWLEDGE)
    write(root / "knowledge" / "science" / "astronomy" / "moon" / "attribution.txt", "CC BY")
    write(root / "README.md", "# my taxonomy\n")
    return root


def test_a_taxonomy_tree_gives_every_question_with_its_context(taxonomy: Path):
    prompts = read_prompts(taxonomy)
    texts = [p.prompt for p in prompts]
    assert texts == [
        "The Nile is the longest river in Africa.\n\nSummarise the passage.",
        "What is a haiku?",
        "Write a limerick\nabout a cat.",
        "The Moon is Earth's only natural satellite. It orbits at about 384,400 km.\n\n"
        "How far away is the Moon?",
        "The Moon is Earth's only natural satellite. It orbits at about 384,400 km.\n\n"
        "How many natural satellites does Earth have?",
        "The Moon's surface gravity is about one sixth of Earth's.\n\n"
        "How strong is gravity on the Moon?",
        "The Moon's surface gravity is about one sixth of Earth's.\n\nWhat is a haiku?",
    ]
    assert all(p.system_prompt is None for p in prompts)
    assert prompts[4].origin.endswith(
        "knowledge/science/astronomy/moon/qna.yaml: seed_examples[0].questions_and_answers[1]"
    )


def test_one_qna_file_reads_alone(taxonomy: Path):
    skill = taxonomy / "compositional_skills" / "writing" / "summaries" / "qna.yaml"
    assert len(read_prompts(skill)) == 3


def test_jsonl_and_csv_read_prompts_and_system_prompts_and_repeat_nothing(tmp_path: Path):
    jsonl = write(
        tmp_path / "p.jsonl",
        '{"prompt": "Hi"}\n\n{"prompt": "Be brief", "system_prompt": "You are terse."}\r\n'
        '{"prompt": "Hi", "system_prompt": "ignored: the same prompt counts once"}\n'
        '{"prompt": "line\u2028separator"}\n',
    )
    prompts = read_prompts(jsonl)
    assert [(p.prompt, p.system_prompt) for p in prompts] == [
        ("Hi", None),
        ("Be brief", "You are terse."),
        ("line\u2028separator", None),
    ]
    assert prompts[1].origin == f"{jsonl}:3"
    csv_file = write(
        tmp_path / "p.csv",
        'prompt,system_prompt,notes\n"Hello, world",,x\n"Two\nlines",Be kind.,y\nHello,,\n',
    )
    assert [(p.prompt, p.system_prompt) for p in read_prompts(csv_file)] == [
        ("Hello, world", None),
        ("Two\nlines", "Be kind."),
        ("Hello", None),
    ]


@pytest.mark.parametrize(
    ("name", "text", "where", "why"),
    [
        ("bad.jsonl", '{"prompt": "ok"}\n{"prompt": "cut\n', ":2:", "not valid JSON"),
        ("bad.jsonl", '{"prompt": "ok"}\n["a list"]\n', ":2:", "JSON object"),
        ("bad.jsonl", '{"prompt": "ok"}\n{"system_prompt": "x"}\n', ":2:", "missing 'prompt'"),
        ("bad.jsonl", '{"prompt": 42}\n', ":1:", "must be text"),
        ("bad.jsonl", '{"prompt": "   "}\n', ":1:", "is empty"),
        ("bad.csv", "question,answer\nhi,there\n", ":1:", "no 'prompt' column"),
        ("bad.csv", 'prompt\nfine\n""\n', ":3:", "is empty"),
        ("qna.yaml", "version: 3\nseed_examples: [\n", "qna.yaml", "not valid YAML"),
        ("qna.yaml", SKILL.replace("version: 3", "version: 2"), "qna.yaml", "must be 3"),
        (
            "qna.yaml",
            SKILL.replace("    question: Summarise the passage.\n", ""),
            "seed_examples[0]",
            "missing 'question'",
        ),
        (
            "qna.yaml",
            KNOWLEDGE.replace("      - question: How far away is the Moon?\n", "      - \n"),
            "seed_examples[0].questions_and_answers[0]",
            "missing 'question'",
        ),
        (
            "qna.yaml",
            KNOWLEDGE.replace("domain: Astronomy\n", ""),
            "qna.yaml",
            "missing 'domain'",
        ),
        ("qna.yaml", "- just\n- a list\n", "qna.yaml", "YAML mapping"),
        ("notes.txt", "hello\n", "notes.txt", "unknown kind of file"),
    ],
)
def test_a_broken_file_says_where_and_why(tmp_path: Path, name, text, where, why):
    path = write(tmp_path / name, text)
    with pytest.raises(SourceError) as caught:
        read_prompts(path)
    message = str(caught.value)
    assert str(path) in message and where in message and why in message, message
    assert "nothing was created" in message


def test_yaml_is_loaded_safely(tmp_path: Path):
    """A qna.yaml cannot make Python objects."""
    path = write(
        tmp_path / "qna.yaml", "version: 3\nseed_examples: !!python/object/apply:os.system [id]\n"
    )
    with pytest.raises(SourceError, match="not valid YAML"):
        read_prompts(path)


def test_one_broken_file_in_a_tree_refuses_the_whole_tree(taxonomy: Path):
    write(taxonomy / "knowledge" / "history" / "qna.yaml", KNOWLEDGE.replace("version: 3", ""))
    with pytest.raises(SourceError) as caught:
        read_prompts(taxonomy)
    assert "knowledge/history/qna.yaml" in str(caught.value)
    assert "found None" in str(caught.value)


def test_every_problem_is_listed(tmp_path: Path):
    path = write(tmp_path / "p.jsonl", "".join(f"{{bad {i}\n" for i in range(30)))
    with pytest.raises(SourceError) as caught:
        read_prompts(path)
    assert len(caught.value.problems) == 30
    assert "30 problem(s)" in str(caught.value) and "and 10 more" in str(caught.value)


# --------------------------------------------------------------------------- the command


def campaigns_count(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count(Campaign.id))),
            db.session.scalar(select(func.count(CampaignItem.id))),
        )


def test_create_from_a_taxonomy_prints_the_items(campaign_app, runner, taxonomy: Path):
    result = runner.invoke(
        args=["campaigns", "create", "moon", "--prompts", str(taxonomy), "--overlap", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "7 items" in result.output and "3 raters" in result.output
    assert campaigns_count(campaign_app) == (1, 7)


def test_create_from_a_broken_file_creates_nothing(campaign_app, runner, tmp_path: Path):
    path = write(tmp_path / "p.jsonl", '{"prompt": "fine"}\n{"prompt": ""}\nnot json\n')
    result = runner.invoke(args=["campaigns", "create", "broken", "--prompts", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2: 'prompt' is empty" in result.output, result.output
    assert f"{path}:3: not valid JSON" in result.output
    assert campaigns_count(campaign_app) == (0, 0)


def test_create_refuses_unknown_endpoints_in_pair(campaign_app, runner, tmp_path: Path):
    path = write(tmp_path / "p.jsonl", json.dumps({"prompt": "hi"}) + "\n")
    for pair, message in [
        ("alpha,gamma", "no endpoint is called 'gamma'"),
        ("alpha", "two endpoint names"),
        ("alpha,beta,gamma", "two endpoint names"),
    ]:
        result = runner.invoke(
            args=["campaigns", "create", "x", "--prompts", str(path), "--pair", pair]
        )
        assert result.exit_code == 1 and message in result.output, result.output
        assert "alpha, beta" in result.output or "two endpoint" in message
    assert campaigns_count(campaign_app) == (0, 0)


def test_create_keeps_guidelines_and_pair_and_refuses_a_name_twice(
    campaign_app, runner, tmp_path: Path
):
    path = write(tmp_path / "p.csv", "prompt\nOne\nTwo\n")
    guide = write(tmp_path / "guide.md", textwrap.dedent("# How to rate\n\nPrefer **facts**.\n"))
    args = ["campaigns", "create", "g", "--prompts", str(path), "--guidelines", str(guide)]
    result = runner.invoke(args=[*args, "--pair", "beta,alpha"])
    assert result.exit_code == 0, result.output
    assert "pair beta vs alpha" in result.output
    with campaign_app.app_context():
        campaign = db.session.scalars(select(Campaign)).one()
        assert campaign.guidelines == "# How to rate\n\nPrefer **facts**."
        assert campaign.pair == ["beta", "alpha"] and campaign.overlap == 1
        assert [i.prompt for i in campaign.items] == ["One", "Two"]
    again = runner.invoke(args=args)
    assert again.exit_code == 1 and "exists already" in again.output
