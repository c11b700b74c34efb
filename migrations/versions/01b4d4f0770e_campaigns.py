"""campaigns: prompt sets, their items and assignments; one vote per rater and turn

A campaign item's turn is voted on by several raters, so a vote is unique per turn and
rater instead of per turn (a chat turn is still voted on only by its owner: one vote).
Downgrading keeps the first vote of each turn and drops the others.

Revision ID: 01b4d4f0770e
Revises: c7e2a9d41f08
Create Date: 2026-12-08 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "01b4d4f0770e"
down_revision = "c7e2a9d41f08"
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed: matches app/models/campaigns.py and Feedback's index in app/models/chat.py.
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("guidelines", sa.Text(), nullable=True),
        sa.Column("overlap", sa.Integer(), nullable=False),
        sa.Column("pair", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "campaign_items",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(length=1000), nullable=False),
        sa.Column("turn_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["turn_id"], ["turns.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "position"),
        sa.UniqueConstraint("turn_id"),
    )
    op.create_table(
        "campaign_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("rater_id", sa.String(length=64), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["campaign_items.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rater_id"], ["raters.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "rater_id"),
    )
    op.create_index(
        "ix_campaign_assignments_rater_id", "campaign_assignments", ["rater_id"], unique=False
    )
    # Indexes only, no table re-created: SQLite keeps every vote as it is.
    op.create_index(
        "ix_feedback_turn_id_rater_id", "feedback", ["turn_id", "rater_id"], unique=True
    )
    op.drop_index("ix_feedback_turn_id", table_name="feedback")


def downgrade():
    # Reviewed: the schema of c7e2a9d41f08; campaigns go, and each turn keeps its first vote.
    op.execute(
        "DELETE FROM feedback WHERE id NOT IN "
        "(SELECT first_id FROM (SELECT MIN(id) AS first_id FROM feedback GROUP BY turn_id) AS f)"
    )
    op.create_index("ix_feedback_turn_id", "feedback", ["turn_id"], unique=True)
    op.drop_index("ix_feedback_turn_id_rater_id", table_name="feedback")
    op.drop_index("ix_campaign_assignments_rater_id", table_name="campaign_assignments")
    op.drop_table("campaign_assignments")
    op.drop_table("campaign_items")
    op.drop_table("campaigns")
