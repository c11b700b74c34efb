"""Creating and finding raters: anonymous ones per browser, invited ones by name, OpenID
Connect ones by subject."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Rater, new_id, utcnow
from app.vocabulary import ADMIN, ANONYMOUS, INVITE, OIDC

# Anonymous raters are named after their id, so this prefix is theirs alone.
ANONYMOUS_PREFIX = "anonymous-"
MAX_NAME_CHARS = 200


class RaterError(ValueError):
    """A rater cannot be made or found as asked; the message says why, for people."""


def auth_mode() -> str:
    """AUTH_MODE: `anonymous`, `invite` or `oidc`."""
    return current_app.config["AUTH_MODE"]


def named_mode() -> bool:
    """Whether only signed-in, named raters may use the app (`invite` or `oidc`)."""
    return auth_mode() != ANONYMOUS


def anonymous_name(rater_id: str) -> str:
    """The name of the anonymous rater with `rater_id`."""
    return ANONYMOUS_PREFIX + rater_id


def anonymous_rater(rater_id: str | None = None) -> Rater:
    """The anonymous rater `rater_id`, made now if new (committed); a new id when None."""
    rater_id = rater_id or new_id()
    rater = db.session.get(Rater, rater_id)
    if rater is not None:
        return rater
    rater = Rater(id=rater_id, name=anonymous_name(rater_id), kind=ANONYMOUS)
    db.session.add(rater)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent request of the same browser made it first
        db.session.rollback()
        rater = db.session.get(Rater, rater_id)
        if rater is None:
            raise
    return rater


def find_rater(name: str) -> Rater | None:
    """The rater called `name`, if any."""
    return db.session.scalar(select(Rater).where(Rater.name == name))


def check_name(name: str) -> str:
    """`name` stripped, or RaterError when it is blank, too long or an anonymous one's."""
    name = name.strip()
    if not name:
        raise RaterError("A rater's name must not be blank.")
    if len(name) > MAX_NAME_CHARS:
        raise RaterError(f"A rater's name may be at most {MAX_NAME_CHARS} characters long.")
    if name.startswith(ANONYMOUS_PREFIX):
        raise RaterError(f"Names starting with {ANONYMOUS_PREFIX!r} are anonymous raters'.")
    return name


def invite_rater(name: str, email: str | None = None, admin: bool = False) -> Rater:
    """The named rater `name`, made if new; an existing one gets `email` and the admin role
    when given, and is enabled again if it was disabled. Flushed, not committed."""
    name = check_name(name)
    rater = find_rater(name)
    if rater is None:
        rater = Rater(name=name, kind=INVITE)
        db.session.add(rater)
    if email:
        rater.email = email.strip()
    if admin:
        rater.role = ADMIN
    rater.disabled_at = None
    db.session.flush()
    return rater


def disable_rater(name: str) -> Rater:
    """Disable the rater called `name` (committed): every session of theirs ends at its next
    request. RaterError when there is none."""
    rater = find_rater(name)
    if rater is None:
        raise RaterError(f"No rater is called {name!r}; `flask raters list` shows them all.")
    if rater.disabled_at is None:
        rater.disabled_at = utcnow()
        db.session.commit()
    return rater


def list_raters() -> list[Rater]:
    """Every rater, named ones first, then by name."""
    anonymous_last = (Rater.kind == ANONYMOUS).asc()
    return list(db.session.scalars(select(Rater).order_by(anonymous_last, Rater.name)))


def find_or_create_oidc_rater(sub: str, name: str | None, email: str | None) -> Rater:
    """The rater of an OpenID Connect subject, made on their first sign-in (committed).

    `name` and `email` come from the ID token: the name only for a new rater (a clash gets
    the e-mail or a number added), the e-mail each time. An e-mail in OIDC_ADMIN_EMAILS gives
    the admin role; leaving the list later takes no role away. Pass the e-mail only when the
    provider says it is verified.
    """
    rater = db.session.scalar(select(Rater).where(Rater.oidc_sub == sub))
    if rater is None:
        rater = Rater(kind=OIDC, oidc_sub=sub, name=_free_name(name, email, sub))
        db.session.add(rater)
    if email:
        rater.email = email
        if email.strip().lower() in current_app.config["OIDC_ADMIN_EMAILS"]:
            rater.role = ADMIN
    try:
        db.session.commit()
    except IntegrityError:  # the same person's first sign-in in two tabs at once
        db.session.rollback()
        rater = db.session.scalar(select(Rater).where(Rater.oidc_sub == sub))
        if rater is None:
            raise
    return rater


def _free_name(name: str | None, email: str | None, sub: str) -> str:
    """A rater name nobody has: the token's name, else its e-mail, else the subject."""
    base = " ".join((name or "").split()) or (email or "").strip() or f"oidc {sub}"
    if base.startswith(ANONYMOUS_PREFIX):
        base = "oidc " + base
    base = base[: MAX_NAME_CHARS - 12]
    candidates = [base]
    if email and email.strip() != base:
        candidates.append(f"{base} <{email.strip()}>"[: MAX_NAME_CHARS - 12])
    for candidate in candidates:
        if find_rater(candidate) is None:
            return candidate
    for number in range(2, 100):
        candidate = f"{base} ({number})"
        if find_rater(candidate) is None:
            return candidate
    return f"{base} ({new_id()[:8]})"
