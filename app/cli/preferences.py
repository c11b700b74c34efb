"""`flask preferences ...`: admin commands over the collected feedback."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import AppGroup

from app.export.formats import FORMATS
from app.vocabulary import TRIGGERS

preferences = AppGroup(
    "preferences",
    help="Export, inspect and purge the collected preference votes.\n\n"
    "Run `flask preferences COMMAND --help` for each command's options.",
)


class IsoTime(click.ParamType):
    """An ISO 8601 date or date-time, returned in UTC; without an offset it is taken as UTC."""

    name = "ISO-8601"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO 8601 date or date-time; "
                "write e.g. 2026-11-01, 2026-11-01T09:30 or 2026-11-01T09:30:00+01:00",
                param,
                ctx,
            )
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


ISO_TIME = IsoTime()


@preferences.command("export")
@click.option(
    "--format",
    "format_name",
    type=click.Choice(list(FORMATS)),
    default="trl",
    show_default=True,
    help="Record layout; see above.",
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="File to write (replaced whole, only once complete), or - for stdout.",
)
@click.option("--since", type=ISO_TIME, help="Only votes cast at or after this time.")
@click.option("--until", type=ISO_TIME, help="Only votes cast before this time (exclusive).")
@click.option("--endpoint", metavar="NAME", help="Only votes where either response came from NAME.")
@click.option(
    "--trigger",
    type=click.Choice([t for t in TRIGGERS if t != "single"]),  # a single turn takes no vote
    help="Only votes on turns paired this way.",
)
@click.option("--rater", metavar="NAME", help="Only the votes of the rater called NAME.")
@click.option(
    "--exclude-flagged",
    is_flag=True,
    help="Leave out the votes of raters `flask preferences raters` flags.",
)
@click.option("--unpaired", is_flag=True, help="With --format trl: same as --format kto.")
@click.option(
    "--with-edits",
    is_flag=True,
    help="With trl, openai or sharegpt: also a pair per edit (the edit chosen over the original).",
)
@click.option(
    "--first-turns",
    is_flag=True,
    help="Only first exchanges, no earlier turns in the prompt (OpenAI's DPO trains on those).",
)
@click.option("--campaign", metavar="NAME", help="Only votes on the items of the campaign NAME.")
@click.option(
    "--aggregate",
    type=click.Choice(["majority"]),
    help="One pair per rated turn (campaign item), by a strict majority of its votes.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def export_command(
    format_name: str,
    output: str,
    since: datetime | None,
    until: datetime | None,
    endpoint: str | None,
    trigger: str | None,
    rater: str | None,
    exclude_flagged: bool,
    unpaired: bool,
    with_edits: bool,
    first_turns: bool,
    campaign: str | None,
    aggregate: str | None,
    quiet: bool,
) -> None:
    """Write the votes as JSON lines, one training record a line.

    Each record holds the whole context the model was sent for the rated turn
    (system prompt, earlier turns with the response that continued them, the
    rated user message) and the responses, oldest vote first.

    \b
    trl       {"prompt": [messages], "chosen": [assistant message],
               "rejected": [assistant message]}
    openai    {"input": {"messages": [messages]},
               "preferred_output": [assistant message],
               "non_preferred_output": [assistant message]}
    sharegpt  {"conversations": [{"from": "system"|"human"|"gpt", "value": ...}],
               "chosen": {"from": "gpt", "value": ...},
               "rejected": {"from": "gpt", "value": ...}}
    kto       {"prompt": [messages], "completion": [assistant message],
               "label": true|false}; a win gives two lines (winner true,
               loser false), both-bad two lines (both false); then a line
               per thumbs rating (up true, down false)
    kto-llamafactory
              {"messages": [messages, then the rated answer], "label": ...}:
              the kto lines in LLaMA-Factory's KTO layout (kto_tag)
    raw       every stored field: ids, prompt, both responses with endpoint,
              model, settings and finish reason, the vote, reason, timestamps;
              then a line per rating, edit and skip ({"record": "rating"...})

    chosen / preferred is the response voted for. Ties and both-bad votes are
    left out of trl, openai and sharegpt; kto leaves out ties; raw keeps all.
    Votes whose responses did not both finish are left out of all but raw.
    --with-edits adds a pair per corrected answer to trl, openai and sharegpt;
    --first-turns keeps votes (and edits, thumbs) on a conversation's first
    message only, as OpenAI's DPO wants (at least 10 examples per job).

    --rater NAME keeps one rater's votes; --exclude-flagged leaves out the votes
    of every rater `flask preferences raters` flags (noise: always A, too fast...).
    --campaign NAME keeps the votes on that campaign's items; --aggregate majority
    makes one vote of each item's votes: the choice of more than half of them (a
    split, with no such choice, is left out and counted; not with raw).

    Times are ISO 8601 (2026-11-01, 2026-11-01T09:30+01:00), UTC unless an offset
    is given; --since is inclusive, --until exclusive. A summary of what was written
    and skipped goes to stderr. The same data and options give the same bytes.

    \b
    Example:
      flask preferences export --format trl --since 2026-11-01 -o dpo.jsonl
    """
    # Imported when the command runs, not with the module: every web and worker process
    # builds the CLI, and none of them needs the export, NumPy or matplotlib.
    from app.export import count_votes
    from app.export.output import open_output
    from app.export.selection import ExportOptionError, ExportOptions, resolve, write_export
    from app.process.sigterm import exit_on_sigterm

    options = ExportOptions(
        format_name,
        since,
        until,
        endpoint,
        trigger,
        rater,
        exclude_flagged,
        unpaired,
        with_edits,
        first_turns,
        campaign,
        aggregate,
    )
    try:
        fmt, vote_filter = resolve(options)
    except ExportOptionError as problem:
        raise click.BadParameter(problem.message, param_hint=problem.option) from None
    if output != "-" and not Path(output).resolve().parent.is_dir():
        raise click.BadParameter(f"folder of {output!r} does not exist", param_hint="--output")

    bar = None
    if not quiet and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=count_votes(vote_filter), unit=" votes", file=sys.stderr, desc="export")
    try:
        with exit_on_sigterm(), open_output(output, sys.stdout.buffer) as out:
            progress = bar.update if bar else None
            result = write_export(fmt, vote_filter, options, out, progress)
    finally:
        if bar is not None:
            bar.close()
    summary, left_out, extra = result.summary, result.left_out, result.extra
    click.echo(summary.line(output), err=True)
    if left_out:
        click.echo(f"Left out {left_out['later turn']:,} votes on later turns.", err=True)
    if extra:
        made = ", ".join(f"{n:,} {kind}" for kind, n in sorted(extra.items()))
        click.echo(f"Also wrote {made}.", err=True)


@preferences.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.png",
    help="Also draw the leaderboard with its intervals to this PNG.",
)
@click.option(
    "--rounds",
    type=click.IntRange(0, 100_000),
    default=1000,
    show_default=True,
    help="Bootstrap rounds for the 95% intervals.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option(
    "--include-reroll",
    is_flag=True,
    help="Count re-roll votes in position bias, ratings and win rates too.",
)
def stats_command(
    as_json: bool, plot: Path | None, rounds: int, seed: int, include_reroll: bool
) -> None:
    """Report what the votes say.

    \b
    - totals by trigger (sampled, requested, reroll) and by choice;
    - vote rate: votes per paired turn;
    - position bias: the share of A wins among decisive (a or b) votes, with a
      Wilson 95% interval: a share far from 50% means voters favour a side;
    - leaderboard of endpoints (of sampling settings, when there is one endpoint):
      win rate, battles, wins-losses-ties, both-bad votes, and Bradley-Terry
      ratings as Chatbot Arena computes them: 400-point scale, mean 1000 (400
      points = 10-to-1 odds), 95% intervals from bootstrap resampling of votes.
      A tie counts as half a win; both-bad votes are only counted;
    - length-controlled ratings beside them (Chatbot Arena's style control: the
      answers' length and markdown differences as covariates, whose coefficients
      are shown), and the mean length ratio of chosen over rejected answers;
    - the head-to-head win-rate matrix.

    Re-roll votes are biased by selection (the user disliked the original, in
    slot A): they count in the totals only, unless --include-reroll.
    """
    from app.stats import compute  # here, not at the top: NumPy (see export_command)
    from app.stats.report import plot as draw
    from app.stats.report import render

    stats = compute(rounds=rounds, seed=seed, include_reroll=include_reroll)
    click.echo(json.dumps(stats.to_json(), indent=2) if as_json else render(stats))
    if plot is not None:
        if not any(row.rating is not None for row in stats.leaderboard):
            raise click.ClickException("nothing to plot: no votes between two competitors yet")
        draw(stats, plot)
        click.echo(f"Wrote the leaderboard plot to {plot}", err=True)


@preferences.command("raters")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def raters_command(as_json: bool) -> None:
    """Report how each rater votes, and flag votes that look like noise.

    \b
    Per rater: votes, thumbs ratings, skips; median seconds from both answers
    done to the vote (and per 100 words of answer); the share of votes cast
    faster than READING_FLOOR_WORDS_PER_SECOND allows; position bias (share of
    A among A/B votes, re-rolls left out) with a Wilson 95% interval; the share
    of tie and both-bad votes; agreement with other raters on shared items.

    \b
    Flags, each only from RATER_FLAG_MIN_VOTES votes on:
      position_bias  the interval of the A share excludes 50%
      too_fast       RATER_FLAG_FAST_SHARE of votes beat the reading floor
      always_tie     RATER_FLAG_TIE_SHARE of votes are tie or both-bad
      low_agreement  agrees on shared items less than RATER_FLAG_MIN_AGREEMENT

    `flask preferences export --exclude-flagged` leaves flagged raters out.
    """
    from flask import current_app

    from app.stats.rater_quality import Thresholds, rater_report  # NumPy: see export_command
    from app.stats.rater_report import render_raters

    report = rater_report(Thresholds.from_config(current_app.config))
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else render_raters(report))


@preferences.command("purge")
@click.option(
    "--before",
    required=True,
    type=ISO_TIME,
    help="Delete conversations created before this time (ISO 8601; UTC unless an offset).",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def purge_command(before: datetime, yes: bool) -> None:
    """Delete conversations created before a date, for a retention policy.

    A conversation goes whole, with all its turns, responses and votes, later
    turns included, and nothing else does. Shows what it would delete and asks
    first, unless given --yes. Export what you want to keep beforehand.

    Conversations are deleted a few hundred at a time, so chats going on meanwhile
    are not held up. If interrupted, what is gone is whole conversations; run the
    command again to delete the rest.

    \b
    Example (keep 90 days):
      flask preferences purge --before "$(date -u -d '90 days ago' +%F)"
    """
    from app.export.purge import count_purge, purge  # here, not at the top: see export_command
    from app.process.sigterm import exit_on_sigterm

    when = before.isoformat()
    planned = count_purge(before)
    if not planned.conversations:
        click.echo(f"Nothing to delete: no conversation was created before {when}.")
        return
    if not yes:
        click.confirm(
            f"Delete {planned.describe()} created before {when}? This cannot be undone.",
            abort=True,
        )
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=planned.conversations, unit=" conversations", file=sys.stderr)
    gone = 0

    def progress(n: int) -> None:
        nonlocal gone
        gone += n
        if bar is not None:
            bar.update(n)

    try:
        with exit_on_sigterm():
            done = purge(before, progress=progress)
    except (KeyboardInterrupt, SystemExit):
        click.echo(
            f"Interrupted after deleting {gone:,} of {planned.conversations:,} conversations "
            "(each whole); run the command again to delete the rest.",
            err=True,
        )
        raise
    finally:
        if bar is not None:
            bar.close()
    click.echo(f"Deleted {done.describe()} created before {when}.")
