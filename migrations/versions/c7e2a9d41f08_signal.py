"""more signal per turn: ratings, edits, skips, and tags on votes

Votes already cast get an empty tag list.

Revision ID: c7e2a9d41f08
Revises: b3f1c2d4e5a6
Create Date: 2026-12-08 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c7e2a9d41f08"
down_revision = "b3f1c2d4e5a6"
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed: matches app/models/signal.py and Feedback.tags in app/models/chat.py.
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.String(length=32), nullable=False),
        sa.Column("rater_id", sa.String(length=64), nullable=False),
        sa.Column("rating", sa.String(length=8), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rater_id"], ["raters.id"]),
        sa.ForeignKeyConstraint(["response_id"], ["responses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("response_id", "rater_id"),
    )
    op.create_index("ix_ratings_response_id", "ratings", ["response_id"], unique=False)
    op.create_index("ix_ratings_rater_id", "ratings", ["rater_id"], unique=False)
    op.create_index("ix_ratings_created_at", "ratings", ["created_at"], unique=False)
    op.create_table(
        "edits",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("response_id", sa.String(length=32), nullable=False),
        sa.Column("rater_id", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rater_id"], ["raters.id"]),
        sa.ForeignKeyConstraint(["response_id"], ["responses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_edits_response_id", "edits", ["response_id"], unique=False)
    op.create_index("ix_edits_rater_id", "edits", ["rater_id"], unique=False)
    op.create_index("ix_edits_created_at", "edits", ["created_at"], unique=False)
    op.create_table(
        "skips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("turn_id", sa.String(length=32), nullable=False),
        sa.Column("rater_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rater_id"], ["raters.id"]),
        sa.ForeignKeyConstraint(["turn_id"], ["turns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("turn_id", "rater_id"),
    )
    op.create_index("ix_skips_turn_id", "skips", ["turn_id"], unique=False)
    op.create_index("ix_skips_rater_id", "skips", ["rater_id"], unique=False)
    op.create_index("ix_skips_created_at", "skips", ["created_at"], unique=False)
    # A column added, not a table re-created: no batch mode, so SQLite keeps every vote as
    # is. The default fills the votes already cast, then is dropped where the database can
    # (the app always writes the list itself); SQLite keeps it, which is harmless.
    op.add_column(
        "feedback", sa.Column("tags", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
    )
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("feedback", "tags", server_default=None)


def downgrade():
    # Reviewed: the schema of b3f1c2d4e5a6; ratings, edits, skips and vote tags are dropped.
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("tags")
    for table, columns in (
        ("skips", ("created_at", "rater_id", "turn_id")),
        ("edits", ("created_at", "rater_id", "response_id")),
        ("ratings", ("created_at", "rater_id", "response_id")),
    ):
        for column in columns:
            op.drop_index(f"ix_{table}_{column}", table_name=table)
        op.drop_table(table)
