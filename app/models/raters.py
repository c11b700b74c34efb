"""The people who chat and vote (raters), and the one-time links that sign them in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, db
from app.models.base import new_id, utcnow
from app.vocabulary import ADMIN, ANONYMOUS, RATER


class Rater(Model):
    """Someone who owns conversations and votes: an anonymous browser or a named person."""

    __tablename__ = "raters"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    # Unique, so the CLI and the exports can name a rater: anonymous ones are named after
    # their id (app/raters/accounts.py), OpenID Connect ones get a suffix on a clash.
    name: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16), default=RATER)
    kind: Mapped[str] = mapped_column(String(16), default=ANONYMOUS)
    # The OpenID Connect subject: with the issuer, the one stable key of a person.
    oidc_sub: Mapped[str | None] = mapped_column(String(255), unique=True)
    disabled_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)

    @property
    def is_admin(self) -> bool:
        """Whether the rater may use the admin area."""
        return self.role == ADMIN

    @property
    def disabled(self) -> bool:
        """Whether an admin has disabled the rater: none of their sessions works."""
        return self.disabled_at is not None


class Invite(Model):
    """A one-time sign-in link for a rater; only the SHA-256 of its token is kept."""

    __tablename__ = "invites"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    rater_id: Mapped[str] = mapped_column(ForeignKey("raters.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)

    rater: Mapped[Rater] = relationship()
