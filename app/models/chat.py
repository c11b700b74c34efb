"""The chat tables: conversations, turns, responses (one per slot) and feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, db
from app.models.base import new_id, utcnow
from app.vocabulary import STREAMING, TERMINAL_STATUSES


class Conversation(Model):
    """A chat owned by one rater."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    rater_id: Mapped[str] = mapped_column(ForeignKey("raters.id"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="New conversation")
    system_prompt: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)

    turns: Mapped[list[Turn]] = relationship(
        back_populates="conversation", order_by="Turn.position", cascade="all, delete-orphan"
    )


class Turn(Model):
    """One user message and the one or two responses generated for it."""

    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("conversation_id", "position"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    content: Mapped[str] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(16))
    # The messages sent to the model for this turn, exactly as sent.
    context: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="turns")
    responses: Mapped[list[Response]] = relationship(
        back_populates="turn", order_by="Response.slot", cascade="all, delete-orphan"
    )
    # A chat turn takes one vote, its owner's; a campaign item's turn one per rater.
    votes: Mapped[list[Feedback]] = relationship(
        back_populates="turn", order_by="Feedback.id", cascade="all, delete-orphan"
    )

    @property
    def paired(self) -> bool:
        """Whether the turn has two responses to compare."""
        return len(self.responses) == 2

    def response(self, slot: str) -> Response | None:
        """The response in `slot`, if any."""
        return next((r for r in self.responses if r.slot == slot), None)

    @property
    def feedback(self) -> Feedback | None:
        """The vote on a chat turn (its owner's); of a campaign turn, the first one."""
        return self.votes[0] if self.votes else None

    @feedback.setter
    def feedback(self, vote: Feedback | None) -> None:
        self.votes = [] if vote is None else [vote]

    def vote_of(self, rater_id: str) -> Feedback | None:
        """`rater_id`'s vote on this turn, if any."""
        return next((v for v in self.votes if v.rater_id == rater_id), None)


class Response(Model):
    """One generated answer, in slot `a` or `b` of a turn."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("turn_id", "slot"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    slot: Mapped[str] = mapped_column(String(1))
    endpoint_name: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    max_tokens: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default=STREAMING)
    content: Mapped[str] = mapped_column(Text, default="")
    finish_reason: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    token_count: Mapped[int] = mapped_column(default=0)
    queued_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    first_token_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))

    turn: Mapped[Turn] = relationship(back_populates="responses")

    @property
    def finished(self) -> bool:
        """Whether the response has reached a terminal status."""
        return self.status in TERMINAL_STATUSES


class Feedback(Model):
    """A rater's vote on a paired turn: which response is better, and why."""

    __tablename__ = "feedback"
    # One vote per rater and turn (a chat turn's one rater is its owner: one vote); the
    # index also finds a turn's votes.
    __table_args__ = (Index("ix_feedback_turn_id_rater_id", "turn_id", "rater_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"))
    choice: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    # Each from REASON_TAGS; the reason and tags stay editable for FEEDBACK_EDIT_SECONDS.
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    rater_id: Mapped[str] = mapped_column(ForeignKey("raters.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(
        db.DateTime(timezone=True), default=utcnow, index=True
    )

    turn: Mapped[Turn] = relationship(back_populates="votes")
