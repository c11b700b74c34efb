"""The messages sent to the model: system prompt, earlier turns, the new user message."""

from __future__ import annotations

from app.models import CANCELLED, DONE, Conversation, Turn

# For the context, a paired turn continues with the chosen response; `a` stands for a
# tie, both-bad, or no vote yet.
_CONTINUING_SLOT = {"a": "a", "b": "b", "tie": "a", "both_bad": "a"}


def continuing_text(turn: Turn) -> str | None:
    """The assistant text a turn contributes to later context, or None to leave it out."""
    slot = _CONTINUING_SLOT[turn.feedback.choice] if turn.feedback else "a"
    response = turn.response(slot) or turn.response("a")
    if response is None or response.status not in (DONE, CANCELLED) or not response.content:
        # A failed or still running answer gives the model nothing to continue from;
        # the whole exchange is left out so roles keep alternating.
        return None
    return response.content


def build_context(
    conversation: Conversation, content: str, budget: int | None = None
) -> list[dict[str, str]]:
    """The message list for a new turn with user message `content`.

    With a `budget` (characters), the oldest earlier exchanges are dropped until the
    messages fit; the system prompt and the new message are always kept.
    """
    exchanges: list[list[dict[str, str]]] = []
    for turn in conversation.turns:
        answer = continuing_text(turn)
        if answer is not None:
            exchanges.append(
                [
                    {"role": "user", "content": turn.content},
                    {"role": "assistant", "content": answer},
                ]
            )
    head = [{"role": "system", "content": conversation.system_prompt}] * bool(
        conversation.system_prompt
    )
    tail = [{"role": "user", "content": content}]
    if budget is not None:
        size = sum(len(m["content"]) for m in head + tail)
        size += sum(len(m["content"]) for pair in exchanges for m in pair)
        while exchanges and size > budget:
            size -= sum(len(m["content"]) for m in exchanges.pop(0))
    return head + [m for pair in exchanges for m in pair] + tail
