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


def build_context(conversation: Conversation, content: str) -> list[dict[str, str]]:
    """The full message list for a new turn with user message `content`."""
    messages: list[dict[str, str]] = []
    if conversation.system_prompt:
        messages.append({"role": "system", "content": conversation.system_prompt})
    for turn in conversation.turns:
        answer = continuing_text(turn)
        if answer is not None:
            messages.append({"role": "user", "content": turn.content})
            messages.append({"role": "assistant", "content": answer})
    messages.append({"role": "user", "content": content})
    return messages
