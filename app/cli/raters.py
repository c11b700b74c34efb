"""`flask raters ...`: invite, list and disable the people who rate."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from app.export import json_line
from app.extensions import db
from app.raters import RaterError, create_invite, disable_rater, invite_rater, list_raters
from app.raters.invites import DEFAULT_HOURS

raters = AppGroup(
    "raters",
    help="Invite, list and disable raters.\n\n"
    "Run `flask raters COMMAND --help` for each command's options.",
)


@raters.command("invite")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Give the rater the admin role.")
@click.option("--email", metavar="E", help="The rater's e-mail address (shown to admins).")
@click.option(
    "--expires",
    "hours",
    type=click.FloatRange(min=0, min_open=True, max=24 * 365),
    default=DEFAULT_HOURS,
    show_default=True,
    metavar="HOURS",
    help="Hours until the link stops working.",
)
def invite_command(name: str, admin: bool, email: str | None, hours: float) -> None:
    """Print a one-time sign-in link for NAME.

    Makes the rater NAME if new; an existing one gets a new link (and --admin,
    --email if given; a disabled one is enabled again). The link signs one browser
    in, once, within --expires hours; it works in every AUTH_MODE, so an admin can
    sign in on an anonymous deployment too. Prints only the link:
    $PUBLIC_URL/signin/<token>. Only the token's SHA-256 is stored.

    \b
    Example:
      flask raters invite "Ada Lovelace" --email ada@example.org
    """
    try:
        rater = invite_rater(name, email=email, admin=admin)
    except RaterError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    token = create_invite(rater, hours)
    click.echo(f"{current_app.config['PUBLIC_URL']}/signin/{token}")


@raters.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per rater a line.")
def list_command(as_json: bool) -> None:
    """List the raters: named ones first, then anonymous ones, by name.

    Columns: name, role, kind (anonymous, invite, oidc), e-mail, and when the
    rater was disabled, if they were.
    """
    for rater in list_raters():
        row = {
            "id": rater.id,
            "name": rater.name,
            "role": rater.role,
            "kind": rater.kind,
            "email": rater.email,
            "created_at": _iso(rater.created_at),
            "disabled_at": _iso(rater.disabled_at),
        }
        if as_json:
            # As the export writes its lines: U+2028, U+2029 and U+0085 in a name escaped, so
            # that readers splitting on every Unicode line break see one rater a line.
            click.echo(json_line(row), nl=False)
        else:
            disabled = f"  disabled {row['disabled_at']}" if rater.disabled else ""
            email = f"  <{rater.email}>" if rater.email else ""
            click.echo(f"{rater.name}  {rater.role}  {rater.kind}{email}{disabled}")


@raters.command("disable")
@click.argument("name")
def disable_command(name: str) -> None:
    """Disable the rater NAME: each of their sessions gets 401 from its next request.

    Their conversations and votes stay. `flask raters invite NAME` enables them again.
    """
    try:
        rater = disable_rater(name)
    except RaterError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Disabled {rater.name}.")


def _iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC; SQLite's naive datetimes are UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.isoformat() + "Z"
    return moment.isoformat().replace("+00:00", "Z")
