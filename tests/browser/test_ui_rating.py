"""Rating in a real browser against the real stack: why there are two answers, the data
notice, choose then explain, the reveal, keys 1-4, folded old votes, retry and skip, and
thumbs, copy and edit on every finished answer.
"""

from __future__ import annotations

import os
import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - only without the dev requirements
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed", allow_module_level=True)

from config import Config
from tests.browser.conftest import endpoint_of

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.timeout(150)]

WHY_TWO = "the models are revealed after you vote, and the conversation goes on with your choice"


def _names(duet, tid: str) -> dict[str, str]:
    return {slot: endpoint_of(duet.raw(tid, slot)) for slot in "ab"}


def test_a_pair_says_why_it_is_there_and_the_data_notice_shows_once(new_duet):
    duet = new_duet().open()
    page = duet.page
    notice = page.locator("#data-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("used as training data")
    duet.new_conversation()
    tid = duet.send("Two answers please #tokens=10", pair=True)
    expect(duet.turn(tid).locator(".turn-note")).to_contain_text(WHY_TWO)

    page.get_by_role("button", name="Got it").click()
    expect(notice).to_be_hidden()
    duet.open("/")
    expect(notice).to_be_hidden()  # dismissed once, for this browser
    expect(new_duet().open().page.locator("#data-notice")).to_be_visible()  # another browser


def test_choose_then_explain_reveals_the_models_and_saves_the_reason(duet):
    page = duet.page
    cid = duet.new_conversation()
    tid = duet.send("Choose, then say why #tokens=30", pair=True)
    assert duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    names = _names(duet, tid)
    vote = duet.turn(tid).locator(".vote")
    with page.expect_response(lambda r: r.url.endswith(f"/turns/{tid}/feedback")) as sent:
        vote.locator('button[data-choice="b"]').click()  # no reason typed yet
    assert sent.value.status == 201, sent.value.text()

    result = vote.locator(".vote-result")
    expect(result).to_have_text(f"You preferred B: {names['b']} over {names['a']}")
    expect(duet.pane(tid, "b")).to_have_class(re.compile(r"\bwinner\b"))
    expect(duet.pane(tid, "a")).not_to_have_class(re.compile(r"\bwinner\b"))
    for slot in "ab":
        expect(duet.pane(tid, slot).locator(".model-name")).to_be_visible()
    reason = vote.locator("textarea.vote-reason")
    expect(reason).to_be_visible()
    expect(reason).to_be_enabled()  # the reason box stays open after the choice
    tag = Config.REASON_TAGS[2]
    vote.locator(f'button.tag-chip[data-tag="{tag}"]').click()
    reason.fill("B is shorter and still right")
    with page.expect_response(
        lambda r: r.url.endswith(f"/turns/{tid}/feedback") and r.request.method == "PATCH"
    ) as patched:
        vote.get_by_role("button", name="Save reason").click()
    assert patched.value.status == 200, patched.value.text()
    expect(vote.locator(".explain-status")).to_have_text("Reason saved.")
    saved = duet.api_turn(tid, cid)["feedback"]
    assert (saved["choice"], saved["reason"], saved["tags"]) == (
        "b",
        "B is shorter and still right",
        [tag],
    )


def test_keys_1_to_4_vote_when_the_message_box_is_empty(duet):
    page = duet.page
    cid = duet.new_conversation()
    tid = duet.send("Vote with a key #tokens=10", pair=True)
    assert duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    expect(duet.turn(tid).locator(".vote-keys")).to_contain_text(
        "1 = A, 2 = B, 3 = tie, 4 = both bad"
    )
    box = page.locator("#composer-input")
    box.fill("2 apples")  # typing a message: the digit is text, not a vote
    box.press("End")
    box.press("2")
    expect(box).to_have_value("2 apples2")
    assert duet.api_turn(tid, cid)["feedback"] is None
    box.fill("")
    with page.expect_response(lambda r: r.url.endswith(f"/turns/{tid}/feedback")) as sent:
        box.press("4")
    assert sent.value.status == 201
    expect(box).to_have_value("")
    assert duet.api_turn(tid, cid)["feedback"]["choice"] == "both_bad"


def test_a_failed_pair_is_retried_in_place_and_an_old_vote_folds_to_one_line(duet, expected):
    page = duet.page
    cid = duet.new_conversation()
    content = "Fail once, then answer #failfirst=http500 #tokens=20"
    tid = duet.send(content, pair=True)
    assert duet.wait_finished(tid, "ab") == {"a": "error", "b": "error"}
    for slot in "ab":
        error = duet.pane(tid, slot).locator(".pane-error")
        expect(error).to_be_visible()
        assert not re.search(r"alpha|beta|500", error.inner_text()), "the error names the model"
    expect(duet.turn(tid).locator(".vote-note")).to_contain_text("Try again, or skip")
    with page.expect_response(lambda r: r.url.endswith(f"/turns/{tid}/retry")) as sent:
        duet.pane(tid, "a").get_by_role("button", name="Try again").click()
    assert sent.value.status == 202, sent.value.text()
    page.wait_for_function(  # the page has taken the retry in (the 202 may come first)
        "(t) => ['a', 'b'].every((s) => window.duet.status(t, s) !== 'error')", arg=tid
    )
    assert duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    for slot in "ab":
        text = duet.raw(tid, slot)
        assert text == expected(content, text)
        expect(duet.pane(tid, slot).get_by_role("button", name="Try again")).to_be_hidden()
    duet.turn(tid).locator('.vote button[data-choice="a"]').click()
    expect(duet.turn(tid).locator(".vote-result")).to_be_visible()

    tid2 = duet.send("Fail for good #fail=http500", pair=True)
    assert duet.wait_finished(tid2, "ab") == {"a": "error", "b": "error"}
    folded = duet.turn(tid).locator(".vote-summary")
    expect(folded).to_be_visible()
    expect(folded).to_contain_text("You preferred A:")
    assert _box_height(folded) < 60, "the old vote is not one line"
    expect(duet.turn(tid).locator(".vote-buttons")).to_be_hidden()

    vote = duet.turn(tid2).locator(".vote")
    vote.get_by_role("button", name="Skip this pair").click()
    vote.get_by_label("Reason for skipping (optional)").fill("both broke")
    with page.expect_response(lambda r: r.url.endswith(f"/turns/{tid2}/skip")) as skipped:
        vote.get_by_role("button", name="Skip", exact=True).click()
    assert skipped.value.status == 201, skipped.value.text()
    expect(vote.locator(".vote-note")).to_have_text("You skipped this pair: both broke")
    assert duet.api_turn(tid2, cid)["skip"]["reason"] == "both broke"


def _box_height(locator) -> float:
    box = locator.bounding_box()
    assert box
    return box["height"]


def test_thumbs_copy_and_edit_on_a_single_answer_and_the_chat_goes_on_with_the_edit(
    new_duet, fake_llm
):
    duet = new_duet(permissions=["clipboard-read", "clipboard-write"]).open()
    page = duet.page
    cid = duet.new_conversation()
    tid = duet.send("Rate this one #tokens=12")
    assert duet.wait_finished(tid) == {"a": "done"}
    pane = duet.pane(tid, "a")
    original = duet.raw(tid, "a")

    pane.get_by_role("button", name="Copy").click()
    assert page.evaluate("() => navigator.clipboard.readText()") == original

    pane.get_by_role("button", name="Good answer").click()
    tag = Config.REASON_TAGS[1]
    pane.locator(f'button.tag-chip[data-tag="{tag}"]').click()
    pane.get_by_label("Why? (optional)").fill("to the point")
    with page.expect_response(lambda r: r.url.endswith("/rating")) as rated:
        pane.get_by_role("button", name="Send rating").click()
    assert rated.value.status == 201, rated.value.text()
    expect(pane.locator(".rated-note")).to_have_text("You rated this answer good.")
    expect(pane.get_by_role("button", name="Good answer")).to_have_attribute("aria-pressed", "true")
    rating = duet.api_turn(tid, cid)["responses"][0]["rating"]
    assert (rating["rating"], rating["tags"], rating["reason"]) == ("up", [tag], "to the point")

    fixed = "A corrected answer, written by the user."
    pane.get_by_role("button", name="Edit").click()
    pane.get_by_label("Your corrected answer").fill(fixed)
    with page.expect_response(lambda r: r.url.endswith("/edit")) as edited:
        pane.get_by_role("button", name="Save edit").click()
    assert edited.value.status == 201, edited.value.text()
    expect(pane.locator(".pane-body")).to_have_text(fixed)
    expect(pane.locator(".edited-badge")).to_be_visible()

    tid2 = duet.send("And then? #tokens=5")
    duet.wait_finished(tid2)
    sent = [
        body
        for path, body in fake_llm.requests
        if body["messages"][-1]["content"] == "And then? #tokens=5"
    ]
    assert sent and sent[-1]["messages"][-2] == {"role": "assistant", "content": fixed}

    duet.open(f"/#c={cid}")  # after a reload: the edit, the rating
    expect(duet.pane(tid, "a").locator(".pane-body")).to_have_text(fixed)
    expect(duet.pane(tid, "a").locator(".rated-note")).to_have_text("You rated this answer good.")


def test_thumbs_on_a_pair_before_the_vote_reveal_no_model(duet):
    page = duet.page
    cid = duet.new_conversation()
    tid = duet.send("Thumbs before the vote #tokens=10", pair=True)
    assert duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    pane = duet.pane(tid, "a")
    expect(pane.get_by_role("button", name="Edit")).to_be_hidden()  # not before the vote
    pane.get_by_role("button", name="Bad answer").click()
    with page.expect_response(lambda r: r.url.endswith("/rating")) as rated:
        pane.get_by_role("button", name="Send rating").click()
    assert rated.value.status == 201
    expect(pane.locator(".rated-note")).to_have_text("You rated this answer bad.")
    expect(duet.turn(tid).locator(".model-name")).to_have_count(2)
    for slot in "ab":
        expect(duet.pane(tid, slot).locator(".model-name")).to_be_hidden()
    assert duet.api_turn(tid, cid)["responses"][0]["rating"]["rating"] == "down"
