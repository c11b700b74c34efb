"""Making, finding and closing campaigns."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.campaigns.sources import Prompt
from app.extensions import db
from app.models import CAMPAIGN_OWNER_ID, Campaign, CampaignItem, Rater, utcnow
from app.vocabulary import ANONYMOUS

MAX_NAME_CHARS = 200
MAX_GUIDELINES_CHARS = 100_000
MAX_OVERLAP = 100


class CampaignError(ValueError):
    """A campaign cannot be made, found or changed as asked; the message says why."""


def ensure_owner() -> None:
    """Make the system rater that owns the items' conversations (CAMPAIGN_OWNER_ID), if it
    is missing; race-safe, in the caller's transaction."""
    if db.session.get(Rater, CAMPAIGN_OWNER_ID) is not None:
        return
    owner = Rater(
        id=CAMPAIGN_OWNER_ID,
        name=f"anonymous-{CAMPAIGN_OWNER_ID}",  # the name anonymous raters have: id-based
        kind=ANONYMOUS,  # so rater reports, which list named raters and voters, leave it out
        disabled_at=utcnow(),  # and no session can ever act as it
    )
    try:
        with db.session.begin_nested():
            db.session.add(owner)
    except IntegrityError:
        pass  # made at the same moment by another request


def parse_pair(text: str, endpoints: list[dict]) -> list[str]:
    """`--pair A,B` as two configured endpoint names; CampaignError naming the unknown."""
    names = [n.strip() for n in text.split(",")]
    if len(names) != 2 or not all(names):
        raise CampaignError(f"--pair takes two endpoint names, ENDPOINT_A,ENDPOINT_B; got {text!r}")
    known = [e["name"] for e in endpoints]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CampaignError(
            f"--pair: no endpoint is called {', '.join(repr(n) for n in unknown)} in "
            f"MODEL_ENDPOINTS; the configured ones are {', '.join(known)}"
        )
    return names


def read_guidelines(path: Path) -> str:
    """The guidelines file's markdown; CampaignError when unreadable or too long."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CampaignError(f"--guidelines: {path} cannot be read as UTF-8 text ({exc})") from None
    if len(text) > MAX_GUIDELINES_CHARS:
        raise CampaignError(f"--guidelines: longer than {MAX_GUIDELINES_CHARS:,} characters")
    if "\x00" in text:
        raise CampaignError("--guidelines: the file contains a NUL character")
    return text.strip()


def create_campaign(
    name: str,
    prompts: list[Prompt],
    overlap: int = 1,
    guidelines: str | None = None,
    pair: list[str] | None = None,
    source: str = "",
) -> Campaign:
    """A new open campaign with one item per prompt, committed."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise CampaignError(f"A campaign's name must have 1 to {MAX_NAME_CHARS} characters.")
    if not 1 <= overlap <= MAX_OVERLAP:
        raise CampaignError(f"--overlap must be between 1 and {MAX_OVERLAP}, got {overlap}")
    if find_campaign(name) is not None:
        raise CampaignError(f"A campaign called {name!r} exists already.")
    campaign = Campaign(
        name=name, overlap=overlap, guidelines=guidelines or None, pair=pair, source=source[:1000]
    )
    campaign.items = [
        CampaignItem(
            position=i, prompt=p.prompt, system_prompt=p.system_prompt, origin=p.origin[:1000]
        )
        for i, p in enumerate(prompts)
    ]
    db.session.add(campaign)
    ensure_owner()
    try:
        db.session.commit()
    except IntegrityError:  # the same name, made at the same moment
        db.session.rollback()
        raise CampaignError(f"A campaign called {name!r} exists already.") from None
    return campaign


def find_campaign(name: str) -> Campaign | None:
    """The campaign called `name`, if any."""
    return db.session.scalar(select(Campaign).where(Campaign.name == name.strip()))


def campaign_named(name: str) -> Campaign:
    """The campaign called `name`; CampaignError listing the names when there is none."""
    campaign = find_campaign(name)
    if campaign is None:
        names = ", ".join(c.name for c in list_campaigns()) or "none yet"
        raise CampaignError(f"No campaign is called {name!r} (campaigns: {names}).")
    return campaign


def list_campaigns(only_open: bool = False) -> list[Campaign]:
    """Every campaign (or the open ones), oldest first."""
    query = select(Campaign).order_by(Campaign.created_at, Campaign.name)
    if only_open:
        query = query.where(Campaign.closed_at.is_(None))
    return list(db.session.scalars(query))


def close_campaign(campaign: Campaign) -> bool:
    """Stop handing out the campaign's items; False when it was closed already."""
    if campaign.closed_at is not None:
        return False
    campaign.closed_at = utcnow()
    db.session.commit()
    return True
