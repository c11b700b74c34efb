"""raters and invites; conversations and feedback belong to a rater

Each existing client id becomes an anonymous rater with that id (named
`anonymous-<id>`, created at its first conversation or vote), so every row is kept
and owned as before. Downgrading turns rater ids back into client ids.

Revision ID: b3f1c2d4e5a6
Revises: 8726099e87c6
Create Date: 2026-12-07 10:00:00.000000

"""

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b3f1c2d4e5a6"
down_revision = "8726099e87c6"
branch_labels = None
depends_on = None

# The tables whose owner column changes. Constraints take PostgreSQL's default names, so
# the schema is the same as one made from the models.
OWNED = ("conversations", "feedback")


def upgrade():
    # Reviewed: matches app/models/raters.py and app/models/chat.py.
    with _foreign_keys_off():
        op.create_table(
            "raters",
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("email", sa.String(length=320), nullable=True),
            sa.Column("role", sa.String(length=16), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("oidc_sub", sa.String(length=255), nullable=True),
            sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("name"),
            sa.UniqueConstraint("oidc_sub"),
        )
        op.create_table(
            "invites",
            sa.Column("token_hash", sa.String(length=64), nullable=False),
            sa.Column("rater_id", sa.String(length=64), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["rater_id"], ["raters.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("token_hash"),
        )
        op.create_index("ix_invites_rater_id", "invites", ["rater_id"], unique=False)

        # One anonymous rater per client id, in one statement however many there are,
        # created when the client first wrote something.
        op.execute(
            "INSERT INTO raters (id, name, role, kind, created_at) "
            "SELECT client_id, 'anonymous-' || client_id, 'rater', 'anonymous', MIN(created_at) "
            "FROM (SELECT client_id, created_at FROM conversations "
            "UNION ALL SELECT client_id, created_at FROM feedback) AS owners "
            "GROUP BY client_id"
        )
        for table in OWNED:
            # Indexes and the key apart from the renaming: a batch refers to columns by
            # the names they had when it began.
            op.drop_index(f"ix_{table}_client_id", table_name=table)
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.alter_column(
                    "client_id",
                    new_column_name="rater_id",
                    existing_type=sa.String(length=64),
                    existing_nullable=False,
                )
            op.create_index(f"ix_{table}_rater_id", table, ["rater_id"], unique=False)
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.create_foreign_key(
                    f"{table}_rater_id_fkey", "raters", ["rater_id"], ["id"]
                )


def downgrade():
    # Reviewed: the schema of 8726099e87c6; each rater id becomes the client id again.
    with _foreign_keys_off():
        for table in OWNED:
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.drop_constraint(f"{table}_rater_id_fkey", type_="foreignkey")
            op.drop_index(f"ix_{table}_rater_id", table_name=table)
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.alter_column(
                    "rater_id",
                    new_column_name="client_id",
                    existing_type=sa.String(length=64),
                    existing_nullable=False,
                )
            op.create_index(f"ix_{table}_client_id", table, ["client_id"], unique=False)
        op.drop_index("ix_invites_rater_id", table_name="invites")
        op.drop_table("invites")
        op.drop_table("raters")


@contextmanager
def _foreign_keys_off():
    """On SQLite, foreign keys off while batch mode re-creates the tables.

    Batch mode copies a table, drops the old one and renames the copy. With foreign keys
    on, SQLite empties a table it drops, and ON DELETE CASCADE would take every turn,
    response and vote with it. The pragma works only outside a transaction: so it is when
    this revision starts a `flask db upgrade` of its own; when an earlier revision ran in
    the same transaction, the database was empty, and the check refuses to go on if not.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        if bind.exec_driver_sql("SELECT count(*) FROM conversations").scalar():
            raise RuntimeError(
                "SQLite's foreign keys are still on inside this migration's transaction, "
                "and re-creating the tables would delete their rows: upgrade to 8726099e87c6 "
                "first, then run `flask db upgrade` again, so this revision runs on its own."
            )
    yield
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"rows without the row they refer to, after migrating: {broken}")
    # A no-op inside the transaction; the connection is the migration's alone, and every
    # new connection turns foreign keys on (app/sqlite.py).
    bind.exec_driver_sql("PRAGMA foreign_keys=ON")
