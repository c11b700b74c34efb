"""The JSON HTTP API: conversations, turns, feedback, campaigns."""

from flask import Blueprint, current_app

from app.extensions import limiter
from app.web.security import client_key, ip_key

bp = Blueprint("api", __name__, url_prefix="/api")

# Every API call counts against the client's and the address's limits; sending a message
# (which costs two generations) also against a tighter one, in app/web/api/conversations.py.
limiter.limit(lambda: current_app.config["RATELIMIT_API"], key_func=client_key)(bp)
limiter.limit(lambda: current_app.config["RATELIMIT_PER_IP"], key_func=ip_key)(bp)


def generation_limit(view):
    """The per-client and per-address limits on calls that start generations (the address's
    so that fresh cookies buy a script nothing)."""
    per_address = limiter.limit(
        lambda: current_app.config["RATELIMIT_TURNS_PER_IP"], key_func=ip_key, scope="generations"
    )
    per_client = limiter.limit(
        lambda: current_app.config["RATELIMIT_TURNS"], key_func=client_key, scope="generations"
    )
    return per_address(per_client(view))


from app.web.api import (  # noqa: E402,F401  (routes register on bp)
    campaigns,
    conversations,
    responses,
    turn_signal,
    turns,
)
