"""`flask campaigns ...`: make prompt sets for several raters each, follow and close them."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.campaigns.sources import SourceError, read_prompts
from app.campaigns.store import (
    CampaignError,
    campaign_named,
    close_campaign,
    create_campaign,
    list_campaigns,
    parse_pair,
    read_guidelines,
)
from app.export import json_line

campaigns = AppGroup(
    "campaigns",
    help="Campaigns: a set of prompts, each answered by one pair and rated by K raters.\n\n"
    "Run `flask campaigns COMMAND --help` for each command's options.",
)
# app/campaigns/agreement.py's default, spelled here so that building the CLI (which every
# web and worker process does) does not load NumPy.
BOOTSTRAP_ROUNDS = 1000


@campaigns.command("create")
@click.argument("name")
@click.option(
    "--prompts",
    "source",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="JSONL, CSV, an InstructLab qna.yaml, or a taxonomy directory.",
)
@click.option(
    "--overlap",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    metavar="K",
    help="How many different raters rate each item.",
)
@click.option(
    "--guidelines",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE.md",
    help="Markdown shown to the raters before they start.",
)
@click.option(
    "--pair",
    metavar="ENDPOINT_A,ENDPOINT_B",
    help="The two endpoints every item compares (default: the pairing policy).",
)
def create_command(
    name: str, source: Path, overlap: int, guidelines: Path | None, pair: str | None
) -> None:
    """Make the campaign NAME from a file of prompts; prints how many items it has.

    \b
    --prompts reads:
      FILE.jsonl  one {"prompt": str, "system_prompt": str?} per line
      FILE.csv    a `prompt` column, optionally `system_prompt`
      qna.yaml    an InstructLab taxonomy file (schema version 3): each seed
                  example's question; a knowledge file's questions are asked
                  with their seed example's context, first
      DIRECTORY   every qna.yaml under it (a taxonomy tree)

    The same prompt text counts once. Every record is checked first: a bad one is
    reported with its file and line (or record), and nothing is created.

    \b
    Example:
      flask campaigns create granite-vs-base --prompts taxonomy/ --overlap 3 \\
          --guidelines rating.md --pair granite-tuned,granite-base
    """
    try:
        endpoints = current_app.config["MODEL_ENDPOINTS"]
        names = parse_pair(pair, endpoints) if pair is not None else None
        text = read_guidelines(guidelines) if guidelines is not None else None
        prompts = read_prompts(source)
        campaign = create_campaign(name, prompts, overlap, text, names, str(source))
    except (CampaignError, SourceError) as problem:
        raise click.ClickException(str(problem)) from None
    versus = f", pair {names[0]} vs {names[1]}" if names else ""
    click.echo(
        f"Campaign {campaign.name!r}: {len(prompts)} items, each rated by {overlap} "
        f"rater{'s' if overlap != 1 else ''}{versus}."
    )


@campaigns.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
def list_command(as_json: bool) -> None:
    """List the campaigns, oldest first: name, open or closed, items, overlap, pair."""
    for campaign in list_campaigns():
        line = {
            "id": campaign.id,
            "name": campaign.name,
            "open": campaign.is_open,
            "items": len(campaign.items),
            "overlap": campaign.overlap,
            "pair": campaign.pair,
        }
        if as_json:
            click.echo(json_line(line), nl=False)  # U+2028 and kin escaped
        else:
            state = "open" if campaign.is_open else "closed"
            pair = " vs ".join(campaign.pair) if campaign.pair else "pairing policy"
            click.echo(
                f"{campaign.name}  {state}  {line['items']} items  overlap {campaign.overlap}  "
                f"{pair}"
            )


@campaigns.command("status")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option(
    "--rounds",
    type=click.IntRange(0, 100_000),
    default=BOOTSTRAP_ROUNDS,
    show_default=True,
    help="Bootstrap rounds for alpha's 95% interval.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
def status_command(name: str, as_json: bool, rounds: int, seed: int) -> None:
    """How far the campaign NAME is, and how well its raters agree.

    Items, votes, skips, items done (K votes) and their share, assignments waiting
    for a vote; per rater: votes, skips, and agreement with the others on shared
    items. Agreement: Krippendorff's alpha (nominal, over a / b / tie / both_bad)
    with a bootstrap 95% interval over the items, and pairwise percent agreement,
    over items with two or more votes.
    """
    from app.campaigns.status import status  # NumPy, for this command only

    try:
        campaign = campaign_named(name)
    except CampaignError as problem:
        raise click.ClickException(str(problem)) from None
    report = status(campaign, rounds, seed)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo(_status_text(report))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _status_text(report: dict) -> str:
    state = "open" if report["open"] else "closed"
    pair = " vs ".join(report["pair"]) if report["pair"] else "the pairing policy"
    agreement = report["agreement"]
    alpha = "—" if agreement["alpha"] is None else f"{agreement['alpha']:.3f}"
    interval = agreement["alpha_ci95"]
    if interval:
        alpha += f" (95% CI {interval[0]:.3f} to {interval[1]:.3f})"
    lines = [
        f"Campaign {report['name']!r} ({state}; overlap {report['overlap']}; {pair})",
        f"  items {report['items']}, done {report['done']} ({_percent(report['done_share'])}), "
        f"votes {report['votes']}, skips {report['skips']}, waiting for a vote "
        f"{report['waiting']}",
        f"  Krippendorff's alpha {alpha}; percent agreement "
        f"{_percent(agreement['percent_agreement'])}; over {agreement['items_compared']} items "
        f"with two or more votes",
        "  rater                          votes  skips  shared  agree",
    ]
    for rater in report["raters"]:
        lines.append(
            f"  {rater['name'][:30]:<30} {rater['votes']:>6} {rater['skips']:>6} "
            f"{rater['shared_items']:>7}  {_percent(rater['agreement']):>6}"
        )
    return "\n".join(lines)


@campaigns.command("close")
@click.argument("name")
def close_command(name: str) -> None:
    """Stop handing out the items of the campaign NAME (votes already cast stay)."""
    try:
        campaign = campaign_named(name)
    except CampaignError as problem:
        raise click.ClickException(str(problem)) from None
    if close_campaign(campaign):
        click.echo(f"Closed campaign {campaign.name!r}.")
    else:
        click.echo(f"Campaign {campaign.name!r} was closed already.")
