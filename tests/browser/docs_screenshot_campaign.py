"""Regenerate docs/screenshot-campaign.png: a rater inside a campaign on a desktop (its
guidelines, progress, the last vote, the prompt and its two answers, a tag and a reason
chosen before the vote).

Not part of the normal run (the file name does not start with test_); run it on purpose:

    .venv/bin/python -m pytest tests/browser/docs_screenshot_campaign.py

The prompts are chosen so that the fake model's answers avoid the emoji and CJK phrases,
which Chromium shows as empty boxes on machines without those fonts.
"""

from __future__ import annotations

import json

import pytest

from config import Config
from tests.stack import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.timeout(240)]

SCREENSHOT = ROOT / "docs" / "screenshot-campaign.png"
VIEWPORT = {"width": 1280, "height": 1180}
SYSTEM = "Answer for a curious twelve-year-old, in a few sentences."
PROMPTS = [
    "Why is the sky blue?",
    "What makes bread rise?",
    "Why does ice float on water?",
    "How does a bicycle stay upright?",
]
GUIDELINES = """Pick the answer a **curious twelve-year-old** would learn the most from.

- Accuracy first: a wrong fact loses, however well written.
- Then clarity: plain words, short sentences, an example if it helps.
- *Tie* when you cannot choose; *both bad* when neither would do.
"""


def _helper_votes(stack, campaign_id: str, choices: str) -> None:
    """Another rater (an API client) rates every item it is handed: stream it, vote."""
    rater = stack.client()
    for choice in choices:
        handed = rater.post(f"/api/campaigns/{campaign_id}/next")
        assert handed.status_code == 200, handed.text
        tid = handed.json()["turn"]["id"]
        assert rater.stream(tid).events[-1] == {"type": "end"}
        assert rater.post(f"/api/turns/{tid}/feedback", {"choice": choice}).status_code == 201


def test_docs_screenshot_campaign(new_duet, stack, campaign_app, runner, tmp_path):
    source = tmp_path / "prompts.jsonl"
    source.write_text(
        "".join(json.dumps({"prompt": p, "system_prompt": SYSTEM}) + "\n" for p in PROMPTS)
    )
    guidelines = tmp_path / "guidelines.md"
    guidelines.write_text(GUIDELINES)
    args = ["campaigns", "create", "explain-it-simply", "--prompts", str(source)]
    args += ["--overlap", "3", "--guidelines", str(guidelines), "--pair", "alpha,beta"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    campaign_id = next(c["id"] for c in stack.client().get("/api/campaigns").json()["campaigns"])
    _helper_votes(stack, campaign_id, "abab")
    _helper_votes(stack, campaign_id, "aabb")

    duet = new_duet(viewport=VIEWPORT).open()
    page = duet.page
    page.get_by_role("button", name="Got it").click()  # the data notice, seen
    page.locator("#campaign-list a").click()
    for step in range(2):  # one item voted (the line above the prompt), the next one shown
        tid = page.locator("#turn-list .turn").get_attribute("data-turn-id")
        assert duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
        if step == 0:
            page.keyboard.press("1")
            duet.turn(tid).wait_for(state="detached")
    vote = duet.turn(tid).locator(".vote")
    for tag in Config.REASON_TAGS[:2]:
        vote.locator(f'button.tag-chip[data-tag="{tag}"]').click()
    vote.locator("textarea").fill("A explains why, with an example.")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.evaluate("() => { document.getElementById('turns').scrollTop = 0; }")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    duet.screenshot(SCREENSHOT)
