"""The JSON HTTP API: conversations, turns, feedback, campaigns."""

from flask import Blueprint

from app.web.security import address_limit, client_limit

bp = Blueprint("api", __name__, url_prefix="/api")

# Every API call counts against the client's budget and (anonymous clients') the address's,
# one of each for the whole API; a call that starts generations also against tighter ones.
# The scopes differ so that the two never share a counter, even where the client's key is
# its address (a browser without a rater yet).
client_limit("RATELIMIT_API", scope="api")(bp)
address_limit("RATELIMIT_PER_IP", scope="api-by-address")(bp)


def generation_limit(view):
    """The per-client and per-address limits on calls that start generations (the address's
    so that fresh cookies buy a script nothing): one budget for messages, re-rolls and
    retries together."""
    per_address = address_limit("RATELIMIT_TURNS_PER_IP", scope="turns-by-address")
    per_client = client_limit("RATELIMIT_TURNS", scope="turns")
    return per_address(per_client(view))


from app.web.api import (  # noqa: E402,F401  (routes register on bp)
    campaigns,
    conversations,
    responses,
    turn_signal,
    turns,
)
