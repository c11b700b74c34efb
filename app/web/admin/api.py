"""The admin JSON calls: the leaderboard, rater quality, and exports as downloads."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from typing import BinaryIO, cast

from flask import current_app, jsonify, send_file

from app.errors import ApiError
from app.export.selection import ExportOptionError, ExportOptions, resolve, write_export
from app.web.admin import admin_required, bp
from app.web.admin import params as p

# An export is written to memory up to this size, then to a temporary file, and sent from
# there: the database cursor is not held open while a slow client downloads.
_SPOOL_BYTES = 8 << 20


def stats_options() -> dict:
    """The leaderboard's options from the query: rounds, seed, include_reroll (the CLI's)."""
    return {
        "rounds": p.integer("rounds", 1000, 0, 100_000),
        "seed": p.integer("seed", 0, -(2**31), 2**31 - 1),
        "include_reroll": p.flag("include_reroll"),
    }


@bp.get("/api/admin/leaderboard")
@admin_required
def leaderboard():
    """The same object as `flask preferences stats --json` with the same options."""
    # Imported here, as in the CLI: the statistics load NumPy, which the chat never needs,
    # and every web process imports this module.
    from app.stats import compute

    return jsonify(compute(**stats_options()).to_json())


@bp.get("/api/admin/raters")
@admin_required
def raters():
    """The same object as `flask preferences raters --json`."""
    from app.stats.rater_quality import Thresholds, rater_report  # NumPy: see leaderboard()

    return jsonify(rater_report(Thresholds.from_config(current_app.config)).to_json())


def export_options() -> ExportOptions:
    """The export's options from the query, named as the CLI names them."""
    return ExportOptions(
        format_name=p.text("format") or "trl",
        since=p.moment("since"),
        until=p.moment("until"),
        endpoint=p.text("endpoint"),
        trigger=p.text("trigger"),
        rater=p.text("rater"),
        exclude_flagged=p.flag("exclude_flagged"),
        unpaired=p.flag("unpaired"),
        with_edits=p.flag("with_edits"),
        first_turns=p.flag("first_turns"),
        campaign=p.text("campaign"),
        aggregate=p.text("aggregate"),
    )


@bp.get("/api/admin/export")
@admin_required
def export_download():
    """The export file as a download: the bytes `flask preferences export` writes."""
    try:
        options = export_options()
        fmt, vote_filter = resolve(options)
    except ExportOptionError as problem:
        name = problem.option.removeprefix("--").replace("-", "_")
        raise ApiError(422, "invalid_value", f"{name}: {problem.message}") from None
    # No context manager: send_file closes the file once the response is sent.
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
    # A binary file, though typeshed does not call SpooledTemporaryFile one.
    summary = write_export(fmt, vote_filter, options, cast(BinaryIO, spool)).summary
    spool.seek(0)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"duet-{fmt.name}-{stamp}.jsonl"
    response = send_file(
        spool, mimetype="application/jsonl", as_attachment=True, download_name=name
    )
    response.headers["X-Export-Summary"] = summary.line(name)
    return response
