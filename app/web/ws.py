"""The websocket `/ws/turns/<tid>`: authorise the turn, then relay its streams."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, request
from simple_websocket import ConnectionClosed

from app.chat.ownership import find_turn
from app.extensions import db, redis_client, sock
from app.models import Response, Turn
from app.streaming import lifecycle
from app.streaming.fanout import current_fanout
from app.streaming.relay import Relay
from app.web.identity import client_id

bp = Blueprint("ws", __name__)
log = logging.getLogger(__name__)

# Close code for a turn that is unknown or another client's (as the contract says).
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400


def _after(slot_names: list[str]) -> dict[str, int] | None:
    """The `after_<slot>` resume positions, or None when one is not a whole number >= 0."""
    after = {}
    for slot in slot_names:
        raw = request.args.get(f"after_{slot}", "0")
        if not raw.isdigit() or len(raw) > 9:
            return None
        after[slot] = int(raw)
    return after


def make_relay(turn: Turn, after: dict[str, int], is_open: Callable[[], bool]) -> Relay:
    """The relay of a turn's slots, with the database fallbacks the app provides."""
    by_slot: dict[str, Response] = {r.slot: r for r in turn.responses}

    def fallback(slot: str) -> list[dict]:
        db.session.refresh(by_slot[slot])
        events = lifecycle.replay_from_database(by_slot[slot])
        db.session.rollback()  # a socket holds no database connection while it waits
        return events

    def watch(pending: list[str]) -> None:
        lifecycle.watch_slots([by_slot[s] for s in pending])
        db.session.rollback()  # end the read transaction, so the next look sees new rows

    return Relay(
        redis=redis_client.get(),
        fanout=current_fanout(),
        turn_id=turn.id,
        slots=sorted(by_slot),
        after=after,
        fallback=fallback,
        opening={slot: lifecycle.replay_from_database(r) for slot, r in by_slot.items()},
        watch=watch,
        is_open=is_open,
    )


@sock.route("/ws/turns/<tid>", bp=bp)
def turn_socket(ws, tid: str) -> None:
    """Send the turn's events from the start (or after `after_*`), live, then `end`."""
    turn = find_turn(tid, client_id(create=False))
    if turn is None:
        ws.close(reason=CLOSE_NOT_FOUND, message="No such turn.")
        return
    after = _after([r.slot for r in turn.responses])
    if after is None:
        ws.close(reason=CLOSE_BAD_REQUEST, message="after_a and after_b must be whole numbers.")
        return
    relay = make_relay(turn, after, lambda: ws.connected)
    db.session.rollback()  # hold no transaction open while the socket lives
    try:
        for message in relay:
            ws.send(message)
    except ConnectionClosed:
        return
    except Exception:
        # Redis went away, say. The client reconnects with after_* and resumes.
        log.exception("relay failed", extra={"turn": tid})
        ws.close(reason=1011, message="The stream relay failed; reconnect to resume.")
        return
    ws.close(reason=1000, message="end")
