"""The statistics as text for a terminal, and as a leaderboard plot."""

from __future__ import annotations

from pathlib import Path

from app.process.files import atomic_file
from app.stats import Stats


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def render(stats: Stats) -> str:
    """The report printed by `flask preferences stats`."""
    lines = [
        f"Votes: {stats.votes:,} on {stats.paired_turns:,} paired turns "
        f"(vote rate {_rate(stats.vote_rate)} votes per paired turn)",
        "",
        f"  {'trigger':<12}{'paired turns':>14}{'votes':>10}{'vote rate':>11}",
    ]
    for row in stats.by_trigger:
        lines.append(
            f"  {row.trigger:<12}{row.paired_turns:>14,}{row.votes:>10,}{_rate(row.vote_rate):>11}"
        )
    lines += ["", f"  {'choice':<12}{'votes':>10}{'share':>9}"]
    for choice, n in stats.by_choice.items():
        share = n / stats.votes if stats.votes else None
        lines.append(f"  {choice:<12}{n:>10,}{_percent(share):>9}")
    lines += ["", _position_bias(stats), ""]
    lines += _leaderboard(stats)
    lines += _verbosity(stats)
    lines += _win_rates(stats)
    if stats.include_reroll:
        lines += ["", "Re-roll votes are counted in position bias, ratings and win rates."]
    else:
        lines += [
            "",
            f"{stats.reroll_votes_left_out:,} re-roll votes are left out of position bias, "
            "ratings and win rates (biased by selection); --include-reroll counts them.",
        ]
    return "\n".join(lines)


def _position_bias(stats: Stats) -> str:
    bias = stats.position_bias
    if not bias.decisive_votes or bias.ci95 is None:
        return "Position bias: no decisive (a or b) votes yet."
    low, high = bias.ci95
    verdict = "no significant position bias"
    if low > 0.5:
        verdict = "slot A is favoured"
    elif high < 0.5:
        verdict = "slot B is favoured"
    return (
        f"Position bias: A wins {_percent(bias.a_share)} of {bias.decisive_votes:,} decisive "
        f"votes (95% CI {_percent(low)}–{_percent(high)}): {verdict}."
    )


def _leaderboard(stats: Stats) -> list[str]:
    if not stats.leaderboard:
        return ["Leaderboard: no votes between two different competitors yet."]
    width = max(len(stats.leaderboard_by), *(len(r.competitor) for r in stats.leaderboard))
    lines = [
        f"Leaderboard by {stats.leaderboard_by}: Bradley-Terry rating (400-point scale, "
        f"base 1000), 95% CI from {stats.bootstrap_rounds:,} bootstrap rounds",
        f"  {'#':>2}  {stats.leaderboard_by:<{width}}  {'rating':>6}  {'95% CI':>11}  "
        f"{'win rate':>8}  {'battles':>8}  {'W-L-T':>11}  {'both-bad':>8}",
    ]
    lines[-1] += f"  {'length-controlled':>17}"
    for rank, row in enumerate(stats.leaderboard, 1):
        rating, ci = _rating(row.rating, row.ci95)
        controlled = " ".join(_rating(row.controlled_rating, row.controlled_ci95))
        record = f"{row.wins}-{row.losses}-{row.ties}"
        lines.append(
            f"  {rank:>2}  {row.competitor:<{width}}  {rating:>6}  {ci:>11}  "
            f"{_percent(row.win_rate):>8}  {row.battles:>8,}  {record:>11}  {row.both_bad:>8,}"
            f"  {controlled:>17}"
        )
    lines.append(
        "  A tie counts as half a win; both-bad votes are counted apart and left out of "
        "ratings and win rates."
    )
    if stats.same_competitor_votes:
        lines.append(
            f"  {stats.same_competitor_votes:,} votes between a competitor and itself are left out."
        )
    return lines


def _rating(rating: float | None, ci95: tuple[float, float] | None) -> tuple[str, str]:
    if rating is None or ci95 is None:
        return "—", "—"
    return f"{rating:.0f}", f"{ci95[0]:.0f} – {ci95[1]:.0f}"


def _verbosity(stats: Stats) -> list[str]:
    lines = []
    control = stats.length_control
    if control.votes:
        shown = [
            f"{c.name} {c.coefficient:+.2f} ({c.ci95[0]:+.2f} to {c.ci95[1]:+.2f})"
            for c in control.covariates
            if c.coefficient is not None and c.ci95 is not None
        ]
        lines += [
            "",
            f"Length control, on {control.votes:,} votes: log-odds of winning per standard "
            "deviation of the answers' normalised difference (95% CI; positive: more wins):",
            "  " + ("; ".join(shown) or "no style feature differed between the answers"),
        ]
    ratio = stats.length_ratio
    if ratio.votes and ratio.mean is not None and ratio.median is not None:
        lines += [
            "",
            f"Length: the chosen answer has {ratio.mean:.2f}x the rejected one's words on average "
            f"(median {ratio.median:.2f}x) over {ratio.votes:,} decisive votes; it is the longer "
            f"one in {_percent(ratio.chosen_longer_share)} of them.",
        ]
    return lines


def _win_rates(stats: Stats) -> list[str]:
    matrix = stats.win_rates
    if len(matrix.competitors) < 2:
        return []
    names = matrix.competitors
    width = max(len(n) for n in names)
    lines = ["", "Win rates, row against column (battles):"]
    lines.append(f"  {'':<{width}}" + "".join(f"  {n[:14]:>14}" for n in names))
    for i, name in enumerate(names):
        cells = []
        for j in range(len(names)):
            rate = matrix.win_rate[i][j]
            cells.append("—" if rate is None else f"{_percent(rate)} ({matrix.battles[i][j]:,})")
        lines.append(f"  {name:<{width}}" + "".join(f"  {c:>14}" for c in cells))
    return lines


def plot(stats: Stats, path: Path) -> None:
    """Draw the leaderboard's ratings and 95 % intervals to a PNG file."""
    # matplotlib (and its font cache) loads only when a plot is asked for.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = [r for r in stats.leaderboard if r.rating is not None and r.ci95 is not None]
    rows.reverse()  # matplotlib draws the first row at the bottom: best goes on top
    # (the same filter again: a type checker does not carry it over from `rows`)
    bounds = [(r.rating, *r.ci95) for r in rows if r.rating is not None and r.ci95 is not None]
    ratings = [rating for rating, _, _ in bounds]
    below = [rating - low for rating, low, _ in bounds]
    above = [high - rating for rating, _, high in bounds]
    labels = [f"{r.competitor}  ({r.battles:,} battles)" for r in rows]

    figure, axes = pyplot.subplots(figsize=(8, 1.2 + 0.5 * len(rows)), layout="constrained")
    positions = range(len(rows))
    axes.errorbar(ratings, positions, xerr=[below, above], fmt="o", capsize=4, color="tab:blue")
    axes.axvline(1000, color="grey", linewidth=0.8, linestyle="--")
    for y, row in zip(positions, rows, strict=True):
        axes.annotate(
            f"{row.rating:.0f}",
            (row.rating, y),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=8,
        )
    axes.set_yticks(list(positions), labels)
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.set_xlabel("Bradley-Terry rating (400-point scale, base 1000), 95% bootstrap CI")
    axes.set_ylabel(stats.leaderboard_by.capitalize())
    axes.set_title(f"Duet preference leaderboard ({stats.votes:,} votes)")
    axes.grid(axis="x", alpha=0.3)
    try:
        with atomic_file(path) as file:
            figure.savefig(file, dpi=150, format="png")
    finally:
        pyplot.close(figure)
