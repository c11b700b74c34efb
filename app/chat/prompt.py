"""The messages sent to the model: system prompt, earlier turns, the new user message."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import CANCELLED, DONE, Conversation, Edit, Feedback, Response, Turn

# For the context, a paired turn continues with the chosen response; `a` stands for a
# tie, both-bad, or no vote yet.
_CONTINUING_SLOT = {"a": "a", "b": "b", "tie": "a", "both_bad": "a"}


@dataclass(frozen=True)
class History:
    """What a new turn needs of the turns before it."""

    turns: int  # how many turns the conversation has
    exchanges: list[tuple[str, str]]  # (user message, the answer it continues with), in order


def read_history(conversation: Conversation) -> History:
    """The conversation's earlier exchanges, read as plain columns.

    Two queries whatever the length, and no ORM objects: at 200 turns this is several
    times cheaper than loading the turns with their responses and votes. A response a
    rater corrected continues with its latest edit, not with what the model wrote.
    """
    turns = db.session.execute(
        select(Turn.id, Turn.content, Feedback.choice)
        .outerjoin(Feedback, Feedback.turn_id == Turn.id)
        .where(Turn.conversation_id == conversation.id)
        .order_by(Turn.position)
    ).all()
    latest_edit = (
        select(Edit.content)
        .where(Edit.response_id == Response.id)
        .order_by(Edit.created_at.desc(), Edit.id.desc())
        .limit(1)
        .correlate(Response)
        .scalar_subquery()
    )
    answers = {
        (turn_id, slot): (status, edited or content)
        for turn_id, slot, status, content, edited in db.session.execute(
            select(Response.turn_id, Response.slot, Response.status, Response.content, latest_edit)
            .join(Turn, Turn.id == Response.turn_id)
            .where(Turn.conversation_id == conversation.id)
        )
    }
    exchanges = []
    for turn_id, content, choice in turns:
        slot = _CONTINUING_SLOT[choice] if choice else "a"
        status, text = answers.get((turn_id, slot)) or answers.get((turn_id, "a")) or (None, None)
        # A failed or still running answer gives the model nothing to continue from; the
        # whole exchange is left out so roles keep alternating.
        if status in (DONE, CANCELLED) and text:
            exchanges.append((content, text))
    return History(turns=len(turns), exchanges=exchanges)


def build_context(
    conversation: Conversation,
    content: str,
    budget: int | None = None,
    history: History | None = None,
) -> list[dict[str, str]]:
    """The message list for a new turn with user message `content`.

    With a `budget` (characters), the oldest earlier exchanges are dropped until the
    messages fit; the system prompt and the new message are always kept. `history` is
    read when not given.
    """
    exchanges = list((history or read_history(conversation)).exchanges)
    system_prompt = conversation.system_prompt
    head = [{"role": "system", "content": system_prompt}] if system_prompt else []
    tail = [{"role": "user", "content": content}]
    if budget is not None:
        size = sum(len(m["content"]) for m in head + tail)
        size += sum(len(user) + len(answer) for user, answer in exchanges)
        while exchanges and size > budget:
            user, answer = exchanges.pop(0)
            size -= len(user) + len(answer)
    earlier = [
        message
        for user, answer in exchanges
        for message in (
            {"role": "user", "content": user},
            {"role": "assistant", "content": answer},
        )
    ]
    return head + earlier + tail
