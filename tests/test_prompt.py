"""The messages sent to the model for a new turn (app/chat/prompt.py)."""

from __future__ import annotations

import pytest

from app.chat.prompt import build_context
from app.extensions import db
from app.models import CANCELLED, DONE, ERROR, STREAMING, Conversation, Feedback, Response, Turn
from app.raters.accounts import anonymous_rater

SYSTEM = {"role": "system", "content": "Be kind."}


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.rollback()


def add_turn(
    conversation: Conversation,
    content: str,
    answers: dict[str, tuple[str, str]],
    choice: str | None = None,
) -> Turn:
    """A stored turn with `answers` {slot: (status, text)} and an optional vote."""
    turn = Turn(
        position=len(conversation.turns),
        content=content,
        trigger="requested" if len(answers) == 2 else "single",
        context=[],
    )
    for slot, (status, text) in answers.items():
        turn.responses.append(
            Response(
                slot=slot,
                endpoint_name=f"ep-{slot}",
                model="m",
                params={},
                status=status,
                content=text,
            )
        )
    if choice is not None:
        turn.feedback = Feedback(choice=choice, rater_id=conversation.rater_id)
    conversation.turns.append(turn)
    db.session.commit()
    return turn


def conversation(system_prompt: str | None = "Be kind.") -> Conversation:
    conv = Conversation(rater_id=anonymous_rater("client-1").id, system_prompt=system_prompt)
    db.session.add(conv)
    db.session.commit()
    return conv


def exchange(user: str, assistant: str) -> list[dict]:
    return [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]


def new(content: str) -> dict:
    return {"role": "user", "content": content}


PAIR = {"a": (DONE, "answer A"), "b": (DONE, "answer B")}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [(None, "answer A"), ("tie", "answer A"), ("both_bad", "answer A"), ("a", "answer A")],
)
def test_a_paired_turn_continues_with_a_unless_b_was_chosen(ctx, choice, expected):
    conv = conversation()
    add_turn(conv, "question", PAIR, choice)
    assert build_context(conv, "next") == [SYSTEM, *exchange("question", expected), new("next")]


def test_a_vote_for_b_continues_with_b(ctx):
    conv = conversation()
    add_turn(conv, "question", PAIR, "b")
    assert build_context(conv, "next") == [SYSTEM, *exchange("question", "answer B"), new("next")]


def test_a_finished_single_turn_continues_with_its_answer(ctx):
    conv = conversation()
    add_turn(conv, "hi", {"a": (DONE, "hello")})
    assert build_context(conv, "how are you?") == [
        SYSTEM,
        *exchange("hi", "hello"),
        new("how are you?"),
    ]


@pytest.mark.parametrize(
    "answers",
    [
        {"a": (ERROR, "")},
        {"a": (ERROR, "half an ans")},
        {"a": (STREAMING, "still going")},
        {"a": (DONE, "")},
        {"a": (CANCELLED, "")},
        {"a": (ERROR, "broken"), "b": (DONE, "fine")},
    ],
    ids=["error", "error-partial", "streaming", "empty", "cancelled-empty", "pair-a-failed"],
)
def test_a_failed_or_unfinished_answer_leaves_the_whole_exchange_out(ctx, answers):
    conv = conversation()
    add_turn(conv, "first", {"a": (DONE, "one")})
    add_turn(conv, "lost question", answers)
    add_turn(conv, "third", {"a": (DONE, "three")})
    messages = build_context(conv, "fourth")
    assert messages == [
        SYSTEM,
        *exchange("first", "one"),
        *exchange("third", "three"),
        new("fourth"),
    ]
    assert "lost question" not in [m["content"] for m in messages]
    roles = [m["role"] for m in messages[1:]]
    assert roles == ["user", "assistant"] * 2 + ["user"]  # roles keep alternating


def test_a_cancelled_answer_continues_with_the_text_the_user_saw(ctx):
    conv = conversation()
    add_turn(conv, "tell me a story", {"a": (CANCELLED, "Once upon")})
    assert build_context(conv, "go on") == [
        SYSTEM,
        *exchange("tell me a story", "Once upon"),
        new("go on"),
    ]


@pytest.mark.parametrize("system_prompt", [None, ""])
def test_no_system_message_without_a_system_prompt(ctx, system_prompt):
    conv = conversation(system_prompt)
    add_turn(conv, "hi", {"a": (DONE, "hello")})
    assert build_context(conv, "bye") == [*exchange("hi", "hello"), new("bye")]


def test_a_new_conversation_is_the_system_prompt_and_the_message(ctx):
    assert build_context(conversation(), "first words") == [SYSTEM, new("first words")]


def test_turns_come_in_order_and_each_uses_its_own_choice(ctx):
    conv = conversation()
    add_turn(conv, "q1", {"a": (DONE, "a1"), "b": (DONE, "b1")}, "b")
    add_turn(conv, "q2", {"a": (DONE, "a2")})
    add_turn(conv, "q3", {"a": (DONE, "a3"), "b": (DONE, "b3")}, "both_bad")
    add_turn(conv, "q4", {"a": (DONE, "a4"), "b": (DONE, "b4")}, "a")
    assert build_context(conv, "q5") == [
        SYSTEM,
        *exchange("q1", "b1"),
        *exchange("q2", "a2"),
        *exchange("q3", "a3"),
        *exchange("q4", "a4"),
        new("q5"),
    ]


def test_context_over_budget_drops_the_oldest_exchanges_first(app):
    from app.chat.prompt import build_context
    from app.models import Conversation, Response, Turn

    with app.app_context():
        conversation = Conversation(rater_id=anonymous_rater("c").id, system_prompt="Be brief.")
        for i in range(5):
            turn = Turn(
                conversation=conversation,
                position=i,
                content=f"q{i}" + "x" * 96,
                trigger="single",
                context=[],
            )
            Response(
                turn=turn,
                slot="a",
                endpoint_name="e",
                model="m",
                status="done",
                content=f"a{i}" + "y" * 96,
            )
        db.session.add(conversation)
        db.session.commit()
        messages = build_context(conversation, "now?", budget=9 + 4 + 2 * 2 * 98 + 1)

    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[-1] == {"role": "user", "content": "now?"}
    assert [m["content"][:2] for m in messages[1:-1]] == ["q3", "a3", "q4", "a4"]


def test_the_system_prompt_and_new_message_survive_any_budget(app):
    from app.chat.prompt import build_context
    from app.models import Conversation

    with app.app_context():
        conversation = Conversation(rater_id="c", system_prompt="S" * 50)
        assert [m["role"] for m in build_context(conversation, "hi", budget=1)] == [
            "system",
            "user",
        ]
