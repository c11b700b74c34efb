"""What happens to turns: start one, re-roll it into a pair, cancel it, vote on it."""

from __future__ import annotations

import random
from collections.abc import Callable

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.campaigns.assignment import admit_vote, is_campaign_turn
from app.chat import pairing
from app.chat.prompt import build_context, read_history
from app.errors import ApiError
from app.extensions import commit_written, db
from app.models import (
    CANCELLED,
    DONE,
    ERROR,
    STREAMING,
    Conversation,
    Feedback,
    Response,
    Turn,
    new_id,
)
from app.streaming.enqueue import enqueue
from app.streaming.lifecycle import finish_response

_rng = random.SystemRandom()

# Told of a turn's new responses (their ids set) before anything is stored; raises to refuse
# them: the web's cap on generations running at once (app/web/fairness.py).
Admit = Callable[[list[Response]], None]


def new_response(turn: Turn, slot: str, plan: pairing.SlotPlan) -> Response:
    """An unsaved response of `turn` in `slot`, generated as `plan` says."""
    limit = current_app.config["MAX_TOKENS"]
    return Response(
        id=new_id(),  # known before the insert, so a cap can count it first
        turn=turn,
        slot=slot,
        endpoint_name=plan.endpoint_name,
        model=plan.endpoint["model"],
        params=plan.params,
        max_tokens=min(plan.params.get("max_tokens") or limit, limit),
    )


def start_turn(
    conversation: Conversation, content: str, mode: str, admit: Admit | None = None
) -> Turn:
    """Add a user message to `conversation` and queue its one or two responses."""
    config = current_app.config
    history = read_history(conversation)
    if history.turns >= config["MAX_TURNS_PER_CONVERSATION"]:
        raise ApiError(
            409,
            "conversation_full",
            _(
                "This conversation has reached %(n)s messages; start a new one.",
                n=config["MAX_TURNS_PER_CONVERSATION"],
            ),
        )
    if mode == "pair":
        trigger = "requested"
    elif mode == "auto" and _rng.random() < config["PREFERENCE_SAMPLE_RATE"]:
        trigger = "sampled"
    else:
        trigger = "single"
    endpoints = config["MODEL_ENDPOINTS"]
    turn = Turn(
        conversation=conversation,
        position=history.turns,
        content=content,
        trigger=trigger,
        context=build_context(conversation, content, config["MAX_CONTEXT_CHARS"], history),
    )
    if trigger == "single":
        plans = [pairing.plan_single(endpoints, _rng)]
    else:
        plans = pairing.plan_pair(endpoints, config["ALTERNATE_PARAMS"], _rng)
    responses = [new_response(turn, slot, plan) for slot, plan in zip("ab", plans, strict=False)]
    if admit is not None:
        admit(responses)
    previous_title, first = conversation.title, turn.position == 0
    if first:
        conversation.title = _title(content)
    db.session.add(turn)
    _commit_or_conflict("conflict", _("Another message was added at the same moment; send again."))
    try:
        enqueue(responses)
    except Exception:
        # Nothing will generate these slots (the broker is down, say): take the turn back,
        # so it does not wait for a worker and the user can simply send it again.
        db.session.delete(turn)
        if first:
            conversation.title = previous_title
        db.session.commit()
        raise
    return turn


def _title(content: str) -> str:
    words = " ".join(content.split())
    return words if len(words) <= 60 else words[:59].rstrip() + "…"


def reroll_turn(turn: Turn, admit: Admit | None = None) -> Turn:
    """Turn a finished single turn into a pair: `a` keeps the original, `b` is new."""
    original = turn.response("a")
    if turn.paired:
        raise ApiError(409, "already_paired", _("This turn already has two responses."))
    if original is None or original.status != DONE:
        raise ApiError(409, "not_finished", _("Only a finished answer can be re-rolled."))
    config = current_app.config
    plan = pairing.plan_challenger(
        config["MODEL_ENDPOINTS"],
        original.endpoint_name,
        original.params,
        config["ALTERNATE_PARAMS"],
        _rng,
    )
    challenger = new_response(turn, "b", plan)
    if admit is not None:
        admit([challenger])
    previous_trigger, turn.trigger = turn.trigger, "reroll"
    db.session.add(challenger)
    _commit_or_conflict("already_paired", _("This turn already has two responses."))
    try:
        enqueue([challenger])
    except Exception:
        # Not queued: undo the re-roll, so the turn stays a finished single turn.
        db.session.delete(challenger)
        turn.trigger = previous_trigger
        db.session.commit()
        raise
    return turn


def cancel_turn(turn: Turn) -> list[str]:
    """Stop every slot still streaming; returns the slots this call stopped."""
    if is_campaign_turn(turn.id):
        raise ApiError(
            409,
            "shared_turn",
            _("This pair is shared by a campaign's raters; it cannot be stopped."),
        )
    return [
        response.slot
        for response in list(turn.responses)
        if response.status == STREAMING and finish_response(response, CANCELLED)
    ]


def record_feedback(
    turn: Turn, rater_id: str, choice: str, reason: str | None, tags: list[str] | None = None
) -> Feedback:
    """Store a vote on a paired turn whose two responses have finished."""
    if not turn.paired:
        raise ApiError(409, "not_paired", _("Only a turn with two responses can be rated."))
    for response in turn.responses:
        db.session.refresh(response)
        if response.status != DONE:
            slot = response.slot.upper()
            if response.status == STREAMING:
                message = _(
                    "Answer %(slot)s is still streaming; it cannot be rated yet.", slot=slot
                )
            elif response.status == ERROR:
                message = _("Answer %(slot)s failed; it cannot be rated.", slot=slot)
            else:
                message = _("Answer %(slot)s was stopped; it cannot be rated.", slot=slot)
            raise ApiError(409, "not_finished", message)
    # A campaign item's turn takes a vote from each rater it was handed to; a chat turn one.
    if not admit_vote(turn.id, rater_id) and turn.votes:
        raise ApiError(409, "already_rated", _("This turn has been rated already."))
    feedback = Feedback(turn=turn, choice=choice, reason=reason, tags=tags or [], rater_id=rater_id)
    db.session.add(feedback)
    _commit_or_conflict("already_rated", _("This turn has been rated already."))
    return feedback


def _commit_or_conflict(code: str, message: str) -> None:
    """Commit, turning a lost race on a unique constraint into a 409. What was written
    stays loaded: the ids to enqueue and the answer need no query after the commit."""
    try:
        commit_written()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, code, message) from None
