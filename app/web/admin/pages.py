"""The admin pages: the leaderboard, the raters, the campaigns, and the export form, rendered
on the server."""

from __future__ import annotations

from flask import current_app, render_template

from app.campaigns.store import list_campaigns
from app.export.formats import FORMATS
from app.export.selection import TRIGGERS
from app.raters import current_rater, list_raters
from app.vocabulary import ANONYMOUS
from app.web.admin import admin_required, bp, charts
from app.web.admin import params as p
from app.web.admin.api import stats_options

_NO_STORE = {"Cache-Control": "no-store"}


def _page(template: str, **context):
    page = render_template(template, me=current_rater(create=False), **context)
    return page, 200, _NO_STORE


@bp.get("/admin")
@admin_required
def leaderboard_page():
    """Ratings plain and length-controlled with their intervals, win rates, bias, length."""
    # Imported here: NumPy, which the chat never needs (see app/web/admin/api.py).
    from app.stats import compute

    options = stats_options()
    stats = compute(**options)
    bounds = [
        bound
        for row in stats.leaderboard
        for ci in (row.ci95, row.controlled_ci95)
        if ci is not None
        for bound in ci
    ]
    scale = charts.rating_scale(bounds)
    bars = {
        row.competitor: (
            charts.bar(scale, row.rating, row.ci95),
            charts.bar(scale, row.controlled_rating, row.controlled_ci95),
        )
        for row in stats.leaderboard
    }
    bias = stats.position_bias
    return _page(
        "admin/leaderboard.html",
        stats=stats,
        options=options,
        scale=scale,
        centre=scale.x(1000.0),
        bars=bars,
        bias_bar=charts.bar(charts.SHARE, bias.a_share, bias.ci95),
        half=charts.SHARE.x(0.5),
        heat=charts.heat,
        width=charts.WIDTH,
    )


@bp.get("/admin/raters")
@admin_required
def raters_page():
    """Each rater's votes, timing, position bias, ties, agreement and flags."""
    from app.stats.rater_quality import Thresholds, rater_report  # NumPy: see above

    report = rater_report(Thresholds.from_config(current_app.config))
    bias_bars = {
        r.id: charts.bar(charts.SHARE, r.position_bias.a_share, r.position_bias.ci95)
        for r in report.raters
    }
    return _page(
        "admin/raters.html",
        report=report,
        bias_bars=bias_bars,
        half=charts.SHARE.x(0.5),
        width=charts.WIDTH,
    )


@bp.get("/admin/campaigns")
@admin_required
def campaigns_page():
    """Each campaign's figures as `flask campaigns status NAME --json` prints them (items,
    votes, skips, done share, alpha with its interval, pairwise agreement, each rater's)."""
    from app.campaigns.agreement import BOOTSTRAP_ROUNDS  # NumPy: see above
    from app.campaigns.status import status

    rounds = p.integer("rounds", BOOTSTRAP_ROUNDS, 0, 100_000)
    seed = p.integer("seed", 0, -(2**31), 2**31 - 1)
    reports = [status(campaign, rounds, seed) for campaign in list_campaigns()]
    return _page("admin/campaigns.html", reports=reports, rounds=rounds)


@bp.get("/admin/export")
@admin_required
def export_page():
    """A form for GET /api/admin/export: the CLI's options, the file as a download."""
    named = [r.name for r in list_raters() if r.kind != ANONYMOUS]
    return _page("admin/export.html", formats=list(FORMATS), triggers=TRIGGERS, raters=named)
