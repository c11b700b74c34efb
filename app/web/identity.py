"""Anonymous clients: a random id kept in the signed session cookie."""

from __future__ import annotations

import secrets

from flask import session

_KEY = "client_id"


def client_id(create: bool = True) -> str | None:
    """This browser's client id, made and stored in the session cookie on first use."""
    cid = session.get(_KEY)
    if isinstance(cid, str) and cid:
        return cid
    if not create:
        return None
    cid = secrets.token_urlsafe(24)
    session[_KEY] = cid
    session.permanent = True
    return cid
