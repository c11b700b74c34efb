"""Regenerate docs/screenshot.png (a voted pair on a desktop) and docs/screenshot-phone.png
(a pair waiting for its vote on a phone, with the A | B switch).

Not part of the normal run (the file name does not start with test_); run it on purpose:

    .venv/bin/python -m pytest tests/browser/docs_screenshot.py

The messages are chosen so that the fake model's answers avoid the emoji and CJK phrases,
which Chromium shows as empty boxes on machines without those fonts.
"""

from __future__ import annotations

import pytest

from config import Config
from tests.browser.conftest import MOBILE
from tests.stack import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.timeout(180)]

SCREENSHOT = ROOT / "docs" / "screenshot.png"
PHONE_SCREENSHOT = ROOT / "docs" / "screenshot-phone.png"
VIEWPORT = {"width": 1280, "height": 1100}  # the whole voted turn fits
EARLIER = ("What is a closure in JavaScript?", "Suggest a name for a coffee shop")
QUESTION = "Explain recursion in one paragraph, please."
PHONE_QUESTION = "Why is the sky blue?"


def _blur(duet) -> None:
    duet.page.evaluate("() => document.activeElement && document.activeElement.blur()")


def _scroll_to(duet, tid: str) -> None:
    """Scroll the turns (not the window, which would push the header away) to a turn."""
    duet.turn(tid).evaluate(
        """(el) => {
          const s = document.getElementById("turns");
          s.scrollTop += el.getBoundingClientRect().top - s.getBoundingClientRect().top - 12;
        }"""
    )


def test_docs_screenshot(new_duet):
    duet = new_duet(viewport=VIEWPORT).open()
    duet.page.get_by_role("button", name="Got it").click()  # the data notice, seen
    for message in EARLIER:  # a few past conversations in the sidebar
        duet.new_conversation()
        duet.wait_finished(duet.send(message))
    duet.new_conversation()
    tid = duet.send(QUESTION, pair=True)
    assert duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    vote = duet.turn(tid).locator(".vote")
    vote.locator('button[data-choice="a"]').click()  # choose first ...
    vote.locator(".vote-result").wait_for()
    for tag in Config.REASON_TAGS[2:4]:  # ... then say why
        vote.locator(f'button.tag-chip[data-tag="{tag}"]').click()
    vote.locator("textarea").fill("A is clearer and gets to the point.")
    vote.get_by_role("button", name="Save reason").click()
    vote.locator(".explain-status", has_text="saved").wait_for()
    _blur(duet)
    _scroll_to(duet, tid)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    duet.screenshot(SCREENSHOT)

    phone = new_duet(
        viewport=MOBILE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        storage_state=duet.page.context.storage_state(),  # the same rater, notice seen
    ).open()
    tid = phone.send(PHONE_QUESTION, pair=True)
    assert phone.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    phone.turn(tid).locator('.segmented button[data-show="b"]').tap()
    _blur(phone)
    _scroll_to(phone, tid)
    phone.screenshot(PHONE_SCREENSHOT)
