"""Make a small database of votes, thumbs, edits and skips, and export it in every format.

Runs in Duet's own venv (.venv), for scripts/check-trainers: the rows are stored with the
tests' helpers (tests/stored_votes.py), as the app stores them, in a fresh SQLite database
migrated with `flask db upgrade`; each file is written by the real command,
`flask preferences export`, in its own process. Writes FOLDER/<name>.jsonl and
FOLDER/exports.json (per file: the options and the summary the command printed).

    .venv/bin/python scripts/trainers/make_exports.py FOLDER
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script: the repository is not on the path

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import ERROR, Edit, Rating, Skip  # noqa: E402
from app.raters.accounts import anonymous_rater  # noqa: E402
from tests.stored_votes import add_conversation, add_turn, at  # noqa: E402

# name: the options of `flask preferences export` that make FOLDER/<name>.jsonl.
EXPORTS = {
    "trl": ["--format", "trl"],
    "trl-with-edits": ["--format", "trl", "--with-edits"],
    "kto": ["--format", "kto"],
    "kto-llamafactory": ["--format", "kto-llamafactory"],
    "openai": ["--format", "openai"],
    "openai-first-turns": ["--format", "openai", "--first-turns"],
    "openai-with-edits": ["--format", "openai", "--with-edits"],
    "sharegpt": ["--format", "sharegpt"],
    "sharegpt-with-edits": ["--format", "sharegpt", "--with-edits"],
    "raw": ["--format", "raw"],
}

# Texts a trainer could trip on: non-ASCII, a line separator (U+2028, which exports escape),
# quotes, a code block, an empty-looking answer.
QUESTIONS = [
    "What is the capital of France?",
    "Café ✓ or tea? Answer in one word.",
    'Quote "this" back to me.',
    "Write a Python hello world.",
    "Name a prime number.",
    "Translate 'good morning' into German.",
    "What is 12 × 12?",
    "Say something in Japanese: 日本語",
    "Give me a haiku about rain.",
    "How many legs has a spider?",
    "Is the sky blue?",
    "Spell 'necessary'.",
]
FOLLOW_UPS = ["Why?", "Shorter, please.", "And in French?", "Give an example."]


def _answer(model: str, i: int, turn: int) -> str:
    """A model's answer: varied, sometimes with markdown, a line separator or emoji."""
    text = f"{model} answer {i}.{turn}: "
    extras = ["Paris.", "Tea\u2028then coffee.", '"this"', "```python\nprint('hello')\n```"]
    return text + extras[(i + turn) % len(extras)] + (" 🙂" if i % 3 == 0 else "")


def seed() -> dict[str, int]:
    """Store the conversations; counts of what was stored."""
    rater = anonymous_rater("client-1").id
    first_choices = ["a", "b"] * 5 + ["tie", "both_bad"]  # 10 decisive first turns
    later_choices = ["a", "b", "tie", "both_bad"]
    minute, counts = 0, {"votes": 0, "thumbs": 0, "edits": 0, "skips": 0}
    signal: list[object] = []
    for i, question in enumerate(QUESTIONS):
        minute += 1
        conversation = add_conversation("Be brief." if i % 2 == 0 else None, created_at=at(minute))
        pair = (("alpha", _answer("alpha", i, 1)), ("beta", _answer("beta", i, 1)))
        first = add_turn(conversation, question, *pair, first_choices[i], at(minute))
        counts["votes"] += 1
        if i % 3 == 0:  # a decided later turn, one of them with a failed answer
            minute += 1
            follow = add_turn(
                conversation,
                FOLLOW_UPS[i % len(FOLLOW_UPS)],
                ("beta", _answer("beta", i, 2)),
                ("alpha", _answer("alpha", i, 2)),
                later_choices[(i // 3) % len(later_choices)],
                at(minute),
                trigger="requested",
                b_status=ERROR if i == 9 else "done",
            )
            counts["votes"] += 1
        else:
            follow = first
        # A turn nobody voted on, as a single answer would be: rated, and sometimes corrected.
        single = add_turn(
            conversation, "Thanks! One more thing?", ("alpha", _answer("alpha", i, 3)), ("beta", "")
        )
        minute += 1
        answer = single.response("a")
        signal.append(
            Rating(
                response_id=answer.id,
                rater_id=rater,
                rating="up" if i % 2 == 0 else "down",
                tags=[] if i % 2 == 0 else ["accurate"],
                reason=None if i % 2 == 0 else "not quite",
                created_at=at(minute),
            )
        )
        counts["thumbs"] += 1
        if i % 2 == 1:
            signal.append(
                Edit(
                    response_id=answer.id,
                    rater_id=rater,
                    content=f"Corrected answer {i} ✓",
                    created_at=at(minute),
                )
            )
            counts["edits"] += 1
        if i % 4 == 0:  # thumbs and an edit on a paired answer, and a skip
            signal.append(
                Rating(
                    response_id=follow.response("b").id,
                    rater_id=rater,
                    rating="down",
                    tags=[],
                    created_at=at(minute),
                )
            )
            signal.append(
                Edit(
                    response_id=first.response("b").id,
                    rater_id=rater,
                    content=f"Better: {question} → answered.",
                    created_at=at(minute),
                )
            )
            skipped = add_turn(conversation, "Skip me", ("alpha", "S A"), ("beta", "S B"))
            signal.append(
                Skip(turn_id=skipped.id, rater_id=rater, reason="unsure", created_at=at(minute))
            )
            counts["thumbs"] += 1
            counts["edits"] += 1
            counts["skips"] += 1
    db.session.add_all(signal)
    db.session.commit()
    return counts


def main(folder: Path) -> None:
    """Migrate a fresh database in `folder`, store the rows, export every format."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'duet.sqlite3'}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FLASK_APP": "wsgi",
        "DUET_INSTANCE_PATH": str(folder / "instance"),
    }
    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": folder / "instance"})
    with app.app_context():
        counts = seed()
        db.engine.dispose()
    made = {"stored": counts, "exports": {}}
    for name, options in EXPORTS.items():
        out = folder / f"{name}.jsonl"
        command = [*flask, "preferences", "export", "--quiet", "-o", str(out), *options]
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"{' '.join(command[2:])} failed:\n{result.stderr}")
        made["exports"][name] = {"options": options, "summary": result.stderr.strip()}
        print(f"  {name:<20} {result.stderr.strip()}")
    (folder / "exports.json").write_text(json.dumps(made, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
