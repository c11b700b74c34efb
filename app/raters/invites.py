"""One-time sign-in links: a random token handed out once, only its SHA-256 stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, select, update

from app.extensions import db
from app.models import Invite, Rater, utcnow

DEFAULT_HOURS = 72.0
# token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
_MAX_TOKEN_CHARS = 100


class InviteRefused(Exception):
    """The link does not sign anyone in; `status` and the message say why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256, hex. The token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_invite(rater: Rater, hours: float = DEFAULT_HOURS) -> str:
    """A new sign-in token for `rater`, valid once within `hours` (committed)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        Invite(
            token_hash=hash_token(token),
            rater_id=rater.id,
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    db.session.commit()
    return token


def redeem_invite(token: str) -> Rater:
    """The rater `token` signs in, using it up; InviteRefused when it is unknown, used,
    expired, or its rater is disabled.

    One UPDATE marks the invite used only if it is unused, unexpired and its rater enabled,
    so two requests racing with the same link cannot both sign in.
    """
    if not token or len(token) > _MAX_TOKEN_CHARS:
        raise InviteRefused(404, _("This sign-in link is not valid."))
    token_hash = hash_token(token)
    now = utcnow()
    enabled = select(Rater.id).where(Rater.disabled_at.is_(None))
    claimed = cast(
        CursorResult,
        db.session.execute(  # an UPDATE's result: it has rowcount
            update(Invite)
            .where(
                Invite.token_hash == token_hash,
                Invite.used_at.is_(None),
                Invite.expires_at > now,
                Invite.rater_id.in_(enabled),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    db.session.commit()
    invite = db.session.get(Invite, token_hash)
    if claimed.rowcount == 1 and invite is not None:
        return invite.rater
    if invite is None:
        raise InviteRefused(404, _("This sign-in link is not valid."))
    if invite.rater.disabled:
        raise InviteRefused(403, _("This rater has been disabled; ask for a new link."))
    if invite.used_at is not None:
        raise InviteRefused(410, _("This sign-in link has been used already; ask for a new one."))
    raise InviteRefused(410, _("This sign-in link has expired; ask for a new one."))
