"""Rater quality as text for a terminal (`flask preferences raters`)."""

from __future__ import annotations

from app.stats.rater_quality import RaterQuality, RaterReport


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _bias(rater: RaterQuality) -> str:
    bias = rater.position_bias
    if bias.ci95 is None:
        return "—"
    low, high = bias.ci95
    return f"{_percent(bias.a_share)} ({_percent(low)}–{_percent(high)})"


def render_raters(report: RaterReport) -> str:
    """The table printed by `flask preferences raters`."""
    limits = report.thresholds
    if not report.raters:
        return "Raters: nobody has voted yet."
    width = max(5, *(len(r.name) for r in report.raters))
    lines = [
        f"Raters: {len(report.raters):,}, flagged: {len(report.flagged_ids()):,}",
        "",
        f"  {'rater':<{width}}  {'votes':>6}  {'ratings':>7}  {'skips':>5}  {'s to vote':>9}  "
        f"{'s/100 w':>7}  {'fast':>5}  {'A share (95% CI)':>17}  {'tie/bad':>7}  "
        f"{'agree':>5}  flags",
    ]
    for r in report.raters:
        lines.append(
            f"  {r.name:<{width}}  {r.votes:>6,}  {r.ratings:>7,}  {r.skips:>5,}  "
            f"{_seconds(r.median_seconds_to_vote):>9}  "
            f"{_seconds(r.median_seconds_per_100_words):>7}  {_percent(r.fast_share):>5}  "
            f"{_bias(r):>17}  {_percent(r.tie_share):>7}  {_percent(r.agreement):>5}  "
            f"{', '.join(r.flags) or '-'}"
        )
    lines += [
        "",
        "  s to vote: median seconds from both answers done to the vote; s/100 w: the same per",
        "  100 words of the two answers; fast: votes cast sooner after both answers began to",
        f"  show than {limits.reading_words_per_second:g} words a second allows; A share: of A/B "
        "votes, re-rolls left out;",
        "  agree: on items other raters voted on too (campaign items with --overlap 2 or more).",
        f"  Flags need {limits.min_votes} votes: position_bias (the interval excludes 50%), "
        f"too_fast (fast >= {_percent(limits.fast_share)}),",
        f"  always_tie (tie/bad >= {_percent(limits.tie_share)}), low_agreement "
        f"(agree < {_percent(limits.min_agreement)}).",
    ]
    return "\n".join(lines)
