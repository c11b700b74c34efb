"""The websocket `/ws/turns/<tid>`: authorise the turn, then relay its streams."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from flask import Blueprint, current_app, request
from redis.exceptions import RedisError
from simple_websocket import ConnectionClosed

from app.chat.ownership import find_turn
from app.errors import ApiError
from app.extensions import db, end_reading, redis_client
from app.models import Response, Turn
from app.streaming import lifecycle
from app.streaming.fanout import current_fanout
from app.streaming.relay import Relay
from app.web.identity import socket_rater_id
from app.web.security import (
    address_limit,
    client_key,
    client_limit,
    ip_key,
    limited_per_rater_only,
)
from app.web.socket_caps import Place, take_place
from app.web.socket_server import BoundedServer, SocketDone

bp = Blueprint("ws", __name__)
log = logging.getLogger(__name__)

# Close code for a turn that is unknown or another client's (as the contract says).
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400
# A client (or address) that holds as many open sockets as its cap allows.
CLOSE_TOO_MANY = 4429
CLOSE_UNAUTHORIZED = 4401  # named modes: nobody signed in; any mode: a disabled rater


def _after(slot_names: list[str]) -> dict[str, int] | None:
    """The `after_<slot>` resume positions, or None when one is not a whole number >= 0."""
    after = {}
    for slot in slot_names:
        raw = request.args.get(f"after_{slot}", "0")
        # ASCII digits only: str.isdigit() also takes "²" (which int() refuses) and "٣".
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
            return None
        after[slot] = int(raw)
    return after


def make_relay(
    turn: Turn, after: dict[str, int], is_open: Callable[[], bool], join: bool = False
) -> Relay:
    """The relay of a turn's slots, with the database fallbacks the app provides. Its reads
    are over when it returns: no transaction stays open while the socket lives."""
    by_slot: dict[str, Response] = {r.slot: r for r in turn.responses}
    opening = {slot: lifecycle.replay_from_database(r) for slot, r in by_slot.items()}
    end_reading()

    def fallback(slot: str) -> list[dict]:
        db.session.refresh(by_slot[slot])
        events = lifecycle.replay_from_database(by_slot[slot])
        end_reading()  # a socket holds no database connection while it waits
        return events

    def watch(pending: list[str]) -> None:
        lifecycle.watch_slots([by_slot[s] for s in pending])
        end_reading()  # so the next look sees new rows (and costs no query when all is well)

    return Relay(
        redis=redis_client.get(),
        fanout=current_fanout(),
        turn_id=turn.id,
        slots=sorted(by_slot),
        after=after,
        fallback=fallback,
        opening=opening,
        watch=watch,
        is_open=is_open,
        join=join,
    )


# Rate limits on socket opens, checked before the upgrade: past one, HTTP 429. The address's
# is for anonymous clients only, as the API's is.
@bp.route("/ws/turns/<tid>", websocket=True)
@client_limit("RATELIMIT_WS", scope="ws")
@address_limit("RATELIMIT_WS_PER_IP", scope="ws-by-address")
def turn_socket(tid: str) -> SocketDone:
    """Upgrade, relay the turn, and hand the finished connection back to the server."""
    ws = BoundedServer.accept(request.environ, **current_app.config["SOCK_SERVER_OPTIONS"])
    with contextlib.suppress(ConnectionClosed):
        _serve(ws, tid)
    if ws.connected:
        ws.close()
    return SocketDone(ws)


def _take_place(ws) -> Place | None:
    """A place under the client's and the address's caps on open sockets, or None after
    closing the socket with 4429 (or 1011 when Redis cannot count)."""
    config = current_app.config
    caps = [(client_key(), config["WS_MAX_PER_CLIENT"])]
    if not limited_per_rater_only():  # the address's cap is for anonymous clients
        caps.append((ip_key(), config["WS_MAX_PER_ADDRESS"]))
    try:
        place = take_place(redis_client.get(), caps)
    except RedisError:
        ws.close(reason=1011, message="The stream relay failed; reconnect to resume.")
        return None
    if isinstance(place, Place):
        return place
    who = ("this client", "this address")[place]
    ws.close(
        reason=CLOSE_TOO_MANY,
        message=f"Too many open sockets from {who} ({caps[place][1]} at most); close some.",
    )
    return None


def _serve(ws, tid: str) -> None:
    """Send the turn's events from the start (or after `after_*`), live, then `end`."""
    try:
        rater = socket_rater_id()
    except ApiError as exc:
        ws.close(reason=CLOSE_UNAUTHORIZED, message=exc.message)
        return
    turn = find_turn(tid, rater)
    if turn is None:
        ws.close(reason=CLOSE_NOT_FOUND, message="No such turn.")
        return
    after = _after([r.slot for r in turn.responses])
    if after is None:
        ws.close(reason=CLOSE_BAD_REQUEST, message="after_a and after_b must be whole numbers.")
        return
    join = request.args.get("join_tokens", "0")
    if join not in ("0", "1"):
        ws.close(reason=CLOSE_BAD_REQUEST, message="join_tokens must be 0 or 1.")
        return
    place = _take_place(ws)
    if place is None:
        return
    try:
        relay = make_relay(turn, after, lambda: ws.connected and place.keep(), join == "1")
        for message in relay:
            ws.send(message)
    except ConnectionClosed:
        return
    except Exception:
        # Redis went away, say. The client reconnects with after_* and resumes.
        log.exception("relay failed", extra={"turn": tid})
        ws.close(reason=1011, message="The stream relay failed; reconnect to resume.")
        return
    finally:
        _release(place)
    ws.close(reason=1000, message="end")


def _release(place: Place) -> None:
    try:
        place.release()
    except RedisError:  # its place lapses with its lease instead
        log.warning("could not release a socket's place", exc_info=True)
