"""The chat page on a phone (390 px) and on a desktop: where the two answers and the vote go.

On a desktop the panes sit side by side with each answer's vote button under it; on a phone
an A | B switch shows one answer at a time in the same place, and what a thumb taps is at
least 44 px tall.
"""

from __future__ import annotations

import os

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - only without the dev requirements
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed", allow_module_level=True)

from app.vocabulary import CHOICES
from tests.browser.conftest import DESKTOP, MOBILE

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.timeout(120)]

TOUCH = 44  # px: WCAG 2.2's 2.5.5 target size, and Apple's and Google's guidance


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box, f"{locator} is not rendered"
    return box


def _centre(box: dict) -> float:
    return box["x"] + box["width"] / 2


def _phone(new_duet, desktop):
    return new_duet(
        viewport=MOBILE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        storage_state=desktop.page.context.storage_state(),  # the same anonymous rater
    )


def test_each_vote_button_sits_under_its_answer_on_a_desktop(new_duet, artifacts):
    duet = new_duet(viewport=DESKTOP).open()
    duet.new_conversation()
    tid = duet.send("Two answers, one screen #tokens=30", pair=True)
    assert duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    a, b = _box(duet.pane(tid, "a")), _box(duet.pane(tid, "b"))
    assert abs(a["y"] - b["y"]) < 1 and b["x"] >= a["x"] + a["width"], (a, b)
    assert abs(a["width"] - b["width"]) < 1 and a["width"] > 400, (a, b)
    expect(duet.turn(tid).locator(".segmented")).to_be_hidden()  # both answers fit

    vote = duet.turn(tid).locator(".vote")
    button = {c: _box(vote.locator(f'button[data-choice="{c}"]')) for c in CHOICES}
    assert (
        a["x"] <= button["a"]["x"]
        and button["a"]["x"] + button["a"]["width"] <= a["x"] + a["width"]
    )
    assert (
        b["x"] <= button["b"]["x"]
        and button["b"]["x"] + button["b"]["width"] <= b["x"] + b["width"]
    )
    middle = (a["x"] + b["x"] + b["width"]) / 2
    below = button["tie"]["y"] >= button["a"]["y"] + button["a"]["height"]
    assert below and button["tie"]["y"] == button["both_bad"]["y"], button
    pair_centre = (button["tie"]["x"] + button["both_bad"]["x"] + button["both_bad"]["width"]) / 2
    assert abs(pair_centre - middle) < 2, (pair_centre, middle)
    duet.screenshot(artifacts / "pair-desktop-vote.png")


def test_a_phone_compares_the_two_answers_in_place_with_an_a_b_switch(new_duet, artifacts):
    desktop = new_duet(viewport=DESKTOP).open()
    cid = desktop.new_conversation()
    tid = desktop.send("Two answers, one screen #tokens=30", pair=True)
    assert desktop.wait_finished(tid, "ab") == {"a": "done", "b": "done"}

    phone = _phone(new_duet, desktop).open(f"/#c={cid}")
    page = phone.page
    turn = phone.turn(tid)
    switch = turn.locator(".segmented")
    expect(switch).to_be_visible()
    expect(phone.pane(tid, "a")).to_be_visible()
    expect(phone.pane(tid, "b")).to_be_hidden()
    a, top = _box(phone.pane(tid, "a")), _box(turn)["y"]
    assert a["x"] >= 0 and a["x"] + a["width"] <= MOBILE["width"], a
    assert page.evaluate("() => document.documentElement.scrollWidth") <= MOBILE["width"]
    turn.evaluate("(el) => el.scrollIntoView({block: 'start'})")
    phone.screenshot(artifacts / "pair-mobile.png")

    switch.locator('button[data-show="b"]').tap()
    expect(switch.locator('button[data-show="b"]')).to_have_attribute("aria-pressed", "true")
    expect(phone.pane(tid, "a")).to_be_hidden()
    expect(phone.pane(tid, "b")).to_be_visible()
    b = _box(phone.pane(tid, "b"))
    a_top, b_top = a["y"] - top, b["y"] - _box(turn)["y"]
    assert abs(b["x"] - a["x"]) < 1 and abs(b_top - a_top) < 1, (a, b)  # in place
    expect(phone.pane(tid, "b").locator(".pane-body")).to_contain_text(phone.raw(tid, "b")[:20])

    for choice in CHOICES:
        button = turn.locator(f'.vote button[data-choice="{choice}"]')
        button.scroll_into_view_if_needed()
        expect(button).to_be_enabled()
        box = _box(button)
        assert box["x"] >= 0 and box["x"] + box["width"] <= MOBILE["width"], (choice, box)
        assert box["height"] >= TOUCH, f"{choice}: too small to tap ({box})"
    turn.locator(".vote").evaluate("(el) => el.scrollIntoView({block: 'end'})")
    phone.screenshot(artifacts / "pair-mobile-vote.png")
    with page.expect_response(lambda r: r.url.endswith(f"/turns/{tid}/feedback")) as sent:
        turn.locator('.vote button[data-choice="both_bad"]').tap()
    assert sent.value.status == 201
    expect(turn.locator(".vote-result")).to_contain_text("You found both bad")
    assert phone.api_turn(tid, cid)["feedback"]["choice"] == "both_bad"


def test_what_a_thumb_taps_on_a_phone_is_at_least_44_px(new_duet):
    phone = new_duet(viewport=MOBILE, is_mobile=True, has_touch=True).open()
    page = phone.page
    tid = phone.send("One answer #tokens=10")  # the first message makes the conversation
    phone.wait_finished(tid)
    targets = {
        "menu": page.locator("#sidebar-toggle"),
        "send": page.locator("#send"),
        "compare": page.locator('label[for="mode-pair"]'),
        "copy": phone.pane(tid, "a").locator("button.copy"),
        "thumbs up": phone.pane(tid, "a").locator('button[data-rating="up"]'),
    }
    for name, target in targets.items():
        box = _box(target)
        assert box["height"] >= TOUCH and box["width"] >= TOUCH, f"{name}: {box}"
