"""Regenerate docs/screenshot.png: a finished, voted pair in a desktop browser.

Not part of the normal run (the file name does not start with test_); run it on purpose:

    .venv/bin/python -m pytest tests/browser/docs_screenshot.py

The messages are chosen so that the fake model's answers avoid the emoji and CJK phrases,
which Chromium shows as empty boxes on machines without those fonts.
"""

from __future__ import annotations

import pytest

from tests.stack import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.timeout(120)]

SCREENSHOT = ROOT / "docs" / "screenshot.png"
VIEWPORT = {"width": 1280, "height": 880}  # the whole voted turn fits
EARLIER = ("What is a closure in JavaScript?", "Suggest a name for a coffee shop")
QUESTION = "Explain recursion in one paragraph, please."


def test_docs_screenshot(new_duet):
    duet = new_duet(viewport=VIEWPORT).open()
    for message in EARLIER:  # a few past conversations in the sidebar
        duet.new_conversation()
        duet.wait_finished(duet.send(message))
    duet.new_conversation()
    tid = duet.send(QUESTION, pair=True)
    assert duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    vote = duet.turn(tid).locator(".vote")
    vote.locator("textarea").fill("A is clearer and gets to the point.")
    vote.locator('button[data-choice="a"]').click()
    vote.locator(".vote-result").wait_for()
    duet.page.evaluate("() => document.activeElement && document.activeElement.blur()")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    duet.screenshot(SCREENSHOT)
