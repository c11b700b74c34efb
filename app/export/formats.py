"""The export formats: how one vote becomes zero, one or two JSON lines.

trl, openai and sharegpt are pairwise: a vote for `a` or `b` gives one record whose
chosen side is the winner's response; ties and both-bad say nothing about which is
better and are left out. kto (TRL's unpaired preference format) rates responses one
at a time: a win gives the winner as good and the loser as bad, both-bad gives both
as bad, a tie is left out. raw keeps every vote with everything stored about it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.export.majority import SPLIT
from app.export.query import RESPONSE_COLUMNS, Vote
from app.models.base import as_utc
from app.vocabulary import BOTH_BAD, CHOICES, DONE, TIE

Record = dict[str, Any]
# Why a vote was left out.
FAILED = "failed"
_SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}
_MESSAGE_KEYS = {"role", "content"}


@dataclass(frozen=True)
class Format:
    """One export format: which votes it can express and the records it makes of one."""

    name: str
    choices: frozenset[str]
    needs_done: bool
    records: Callable[[Vote], list[Record]]
    everything: bool = False  # needs every stored column, not just context and contents

    def skip_reason(self, vote: Vote) -> str | None:
        """Why this format leaves `vote` out, or None to export it."""
        if self.needs_done and not (vote.a_status == DONE and vote.b_status == DONE):
            return FAILED
        if vote.choice == SPLIT:  # --aggregate majority: no choice had a majority
            return SPLIT
        if vote.choice not in self.choices:
            return TIE if vote.choice == "tie" else BOTH_BAD
        return None


def prompt_messages(vote: Vote) -> list[Record]:
    """The messages sent to the model for the rated turn, ending with the rated user message."""
    # The context is stored as exactly these messages (app/chat/prompt.py): copied only if a
    # message holds anything else, since the copy took a tenth of a trl export.
    if all(m.keys() == _MESSAGE_KEYS for m in vote.context):
        return vote.context
    return [{"role": m["role"], "content": m["content"]} for m in vote.context]


def chosen_and_rejected(vote: Vote) -> tuple[str, str]:
    """The winning and the losing response's text of an `a` or `b` vote."""
    if vote.choice == "a":
        return vote.a_content, vote.b_content
    return vote.b_content, vote.a_content


def _assistant(content: str) -> list[Record]:
    return [{"role": "assistant", "content": content}]


def trl_records(vote: Vote) -> list[Record]:
    """TRL's conversational preference format."""
    chosen, rejected = chosen_and_rejected(vote)
    return [
        {
            "prompt": prompt_messages(vote),
            "chosen": _assistant(chosen),
            "rejected": _assistant(rejected),
        }
    ]


def openai_records(vote: Vote) -> list[Record]:
    """OpenAI's preference (DPO) fine-tuning format."""
    chosen, rejected = chosen_and_rejected(vote)
    return [
        {
            "input": {"messages": prompt_messages(vote)},
            "preferred_output": _assistant(chosen),
            "non_preferred_output": _assistant(rejected),
        }
    ]


def sharegpt_records(vote: Vote) -> list[Record]:
    """LLaMA-Factory's ShareGPT ranking format."""
    chosen, rejected = chosen_and_rejected(vote)
    return [
        {
            "conversations": [
                {"from": _SHAREGPT_ROLES.get(m["role"], m["role"]), "value": m["content"]}
                for m in vote.context
            ],
            "chosen": {"from": "gpt", "value": chosen},
            "rejected": {"from": "gpt", "value": rejected},
        }
    ]


def kto_records(vote: Vote) -> list[Record]:
    """TRL's unpaired preference format: a win is one good and one bad example, both-bad two bad."""
    prompt = prompt_messages(vote)
    if vote.choice == BOTH_BAD:
        rated = [(vote.a_content, False), (vote.b_content, False)]
    else:
        chosen, rejected = chosen_and_rejected(vote)
        rated = [(chosen, True), (rejected, False)]
    return [
        {"prompt": prompt, "completion": _assistant(text), "label": label} for text, label in rated
    ]


def llamafactory_kto(record: Record) -> Record:
    """A kto record in LLaMA-Factory's KTO layout: the rated answer ends the message list."""
    return {"messages": [*record["prompt"], *record["completion"]], "label": record["label"]}


def llamafactory_kto_records(vote: Vote) -> list[Record]:
    """LLaMA-Factory's KTO layout (`kto_tag`): the lines of `kto`, each answer inside
    `messages`; LLaMA-Factory skips TRL's separate prompt and completion."""
    return [llamafactory_kto(record) for record in kto_records(vote)]


def _timestamp(moment: Any) -> str | None:
    utc = as_utc(moment)
    return None if utc is None else utc.isoformat()


def _response(vote: Vote, slot: str) -> Record | None:
    values = {name: getattr(vote, f"{slot}_{name}") for name in RESPONSE_COLUMNS}
    if values["id"] is None:
        return None
    return {
        "response_id": values["id"],
        "endpoint": values["endpoint_name"],
        "model": values["model"],
        "params": values["params"],
        "max_tokens": values["max_tokens"],
        "status": values["status"],
        "finish_reason": values["finish_reason"],
        "error": values["error"],
        "token_count": values["token_count"],
        "content": values["content"],
        "queued_at": _timestamp(values["queued_at"]),
        "started_at": _timestamp(values["started_at"]),
        "first_token_at": _timestamp(values["first_token_at"]),
        "finished_at": _timestamp(values["finished_at"]),
    }


def raw_records(vote: Vote) -> list[Record]:
    """Everything stored about a vote, ties and both-bad included."""
    return [
        {
            "feedback_id": vote.feedback_id,
            "conversation_id": vote.conversation_id,
            "turn_id": vote.turn_id,
            "turn_position": vote.turn_position,
            "trigger": vote.trigger,
            "system_prompt": vote.system_prompt,
            "prompt": prompt_messages(vote),
            "responses": {"a": _response(vote, "a"), "b": _response(vote, "b")},
            "choice": vote.choice,
            "reason": vote.reason,
            "client_id": vote.client_id,
            "voted_at": _timestamp(vote.voted_at),
            "turn_created_at": _timestamp(vote.turn_created_at),
            "conversation_created_at": _timestamp(vote.conversation_created_at),
        }
    ]


_DECISIVE = frozenset({"a", "b"})
FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("trl", _DECISIVE, True, trl_records),
        Format("openai", _DECISIVE, True, openai_records),
        Format("sharegpt", _DECISIVE, True, sharegpt_records),
        Format("kto", _DECISIVE | {BOTH_BAD}, True, kto_records),
        Format("kto-llamafactory", _DECISIVE | {BOTH_BAD}, True, llamafactory_kto_records),
        Format("raw", frozenset(CHOICES), False, raw_records, everything=True),
    )
}
