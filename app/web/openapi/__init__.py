"""The OpenAPI 3.0 description of Duet's HTTP API, served at `GET /api/openapi.json`.

The document is built per request from the app's settings, so the limits it states
(`maxLength` of a message, a system prompt, a reason) are the ones this server enforces.
`docs/api.md` is the prose version; the two describe the same calls.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from app.web.openapi.campaigns import campaign_schemas
from app.web.openapi.parts import responses
from app.web.openapi.paths import paths
from app.web.openapi.schemas import schemas

bp = Blueprint("openapi", __name__)

OPENAPI_VERSION = "3.0.3"

DESCRIPTION = """\
Paired streaming chat that collects human preference data.

**Identity.** Every session belongs to a rater, kept in a signed, `HttpOnly` session cookie;
send it back on every call. With `AUTH_MODE=anonymous` (the default) the first request gets
an anonymous rater. With `invite` or `oidc`, a rater signs in first (a one-time link
`/signin/{token}`, or `/auth/login`), and without one every call but `GET /api/me` and this
document answers 401 (`unauthorized`); so does any call of a disabled rater. Conversations and
turns belong to the rater that created them, from whichever browser they sign in: another
rater's answer exactly like an unknown one (404).

**Errors** are JSON, `{"error": {"code": "<machine_code>", "message": "<human text>"}}`.
A wrong method on a known path answers 405 (`method_not_allowed`, with `Allow`); an unknown
path under `/api/` answers 404 (`not_found`). A state-changing request whose `Origin` (or
`Referer`) is another site's answers 403 (`forbidden_origin`); requests without either pass.
An empty body counts as `{}` on every `POST`.

**Streaming.** A turn's one or two responses stream over the websocket
`GET /ws/turns/{tid}` (same cookie; not an HTTP operation, so it is described here only).
Optional query `?after_a=N&after_b=M`: the last `seq` the client holds per slot; and
`join_tokens=1`: a slot's tokens waiting together may come as one token message carrying
seqs `first_seq` to `seq` (a replay sends each slot's text so). Server to client, one JSON
object per message:

- `{"type": "token", "slot": "a", "seq": 1, "text": "Hel"}`: `seq` starts at 1, no gaps per
  slot; concatenating `text` in `seq` order gives the response byte for byte.
- `{"type": "done", "slot": "a", "seq": N, "finish_reason": "stop"}`
- `{"type": "error", "slot": "a", "message": "..."}`
- `{"type": "cancelled", "slot": "a"}`
- `{"type": "reset", "slot": "a"}`: the slot restarts from scratch; drop its text (it also
  carries `attempt` and a unique `id`; a connection sends each reset once).
- `{"type": "end"}`: every slot has ended; the server closes with code 1000.

Close codes: 4401 no signed-in rater (named modes) or a disabled one, 4404 unknown or
another rater's turn, 4400 an `after_*` that is not a whole number (or a `join_tokens`
other than 0 or 1), 1011 the relay lost Redis (reconnect with `after_*` to resume).
"""


def build_document(config: Any) -> dict[str, Any]:
    """The OpenAPI document of this app, with the limits of `config`."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Duet", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "conversations"},
            {"name": "turns"},
            {"name": "responses"},
            {"name": "raters"},
            {"name": "campaigns"},
            {"name": "admin"},
            {"name": "health"},
            {"name": "meta"},
        ],
        "paths": paths(),
        "components": {
            "schemas": {**schemas(config), **campaign_schemas()},
            "responses": responses(),
        },
    }


@bp.get("/api/openapi.json")
def openapi_document():
    """The OpenAPI document, with this server's limits."""
    return jsonify(build_document(current_app.config))
