"""More signal per turn: thumbs on one response, a rater's corrected answer, a declined pair."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, db
from app.models.base import new_id, utcnow
from app.models.chat import Response, Turn


class Rating(Model):
    """A rater's thumbs up or down on one finished response, single or paired."""

    __tablename__ = "ratings"
    # Once per rater and response: a second thumbs is a 409, and a lost race on it too.
    __table_args__ = (UniqueConstraint("response_id", "rater_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[str] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    rater_id: Mapped[str] = mapped_column(ForeignKey("raters.id"), index=True)
    rating: Mapped[str] = mapped_column(String(8))  # app/vocabulary.py RATINGS
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        db.DateTime(timezone=True), default=utcnow, index=True
    )

    response: Mapped[Response] = relationship()


class Edit(Model):
    """A rater's corrected answer for a finished response; the latest one continues the chat."""

    __tablename__ = "edits"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    response_id: Mapped[str] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    rater_id: Mapped[str] = mapped_column(ForeignKey("raters.id"), index=True)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        db.DateTime(timezone=True), default=utcnow, index=True
    )

    response: Mapped[Response] = relationship()


class Skip(Model):
    """A rater declined to vote on a pair: counted, never exported as a preference."""

    __tablename__ = "skips"
    __table_args__ = (UniqueConstraint("turn_id", "rater_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    rater_id: Mapped[str] = mapped_column(ForeignKey("raters.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        db.DateTime(timezone=True), default=utcnow, index=True
    )

    turn: Mapped[Turn] = relationship()
