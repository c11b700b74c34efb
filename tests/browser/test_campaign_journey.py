"""A campaign rated end to end in Chromium, on the real stack.

A campaign of three items, overlap 2, made with `flask campaigns create`; two raters in two
browser contexts (anonymous mode: each browser is a rater) finish it through the page: every
item streams, is voted on (keys for one rater, clicks for the other), the next item shows at
once, and "nothing left" at the end. Then an admin, signed in by an invite link, sees the
campaign's alpha on /admin/campaigns (the number `flask campaigns status --json` prints) and
the leaderboard on /admin. A second test covers the rest of a rater's page: the guidelines
shown once, a skip with its reason, thumbs on a campaign answer, and the A | B switch at
phone width.
"""

from __future__ import annotations

import json
import os
import re
from urllib.parse import urlsplit

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - only without the dev requirements
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed", allow_module_level=True)

from config import Config
from tests.browser.conftest import CSP_WATCH, DESKTOP, MOBILE
from tests.campaign_helpers import age_assignments

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.timeout(300)]

# Each prompt with the choice of the first and the second rater: two agreements and one
# disagreement, so Krippendorff's alpha (nominal) is 1 - (2/6) / (22/30) = 12/22.
PROMPTS = {
    "Name the three primary colours. #tokens=24": ("a", "a"),
    "What does a compiler do? #tokens=28": ("b", "b"),
    "Is a tomato a fruit? #tokens=20": ("tie", "a"),
}
ALPHA = round(12 / 22, 4)
KEYS = {"a": "1", "b": "2", "tie": "3", "both_bad": "4"}
GUIDELINES = """# How to rate

Prefer the answer that is **accurate**, then the clearer one.

<img src=x onerror="window.__pwned = 1">
"""
TOUCH = 44


def _create(runner, tmp_path, name: str, prompts, overlap: int) -> None:
    source = tmp_path / f"{name}.jsonl"
    source.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
    guidelines = tmp_path / f"{name}.md"
    guidelines.write_text(GUIDELINES)
    args = ["campaigns", "create", name, "--prompts", str(source), "--overlap", str(overlap)]
    result = runner.invoke(args=[*args, "--guidelines", str(guidelines)])
    assert result.exit_code == 0, result.output


class Rater:
    """One browser rating through the campaign page; records the items it was handed."""

    def __init__(self, duet) -> None:
        self.duet, self.page = duet, duet.page
        self.handed: list[dict] = []  # the JSON of each 200 from /next
        self.nexts: list[int] = []  # the status of every /next answer
        self.votes: list[dict] = []  # the body of every vote sent
        self.page.on("response", self._on_response)
        self.page.on("request", self._on_request)

    def _on_request(self, request) -> None:
        if request.method == "POST" and request.url.endswith("/feedback"):
            self.votes.append(request.post_data_json)

    def _on_response(self, response) -> None:
        if response.request.method == "POST" and response.url.endswith("/next"):
            self.nexts.append(response.status)
            if response.status == 200:
                self.handed.append(response.json())

    def enter(self, name: str) -> None:
        """Open the campaign from the sidebar's Campaigns entry."""
        entry = self.page.locator("#campaign-nav")
        expect(entry.get_by_role("heading", name="Campaigns")).to_be_visible()
        entry.get_by_role("link", name=re.compile(name)).click()
        expect(self.page.locator("#campaign-view")).to_be_visible()

    def current(self) -> str:
        """The id of the item's turn on screen (waits for one)."""
        turn = self.page.locator("#turn-list .turn.campaign-turn")
        expect(turn).to_have_count(1)
        return turn.get_attribute("data-turn-id")

    def prompt(self) -> str:
        return self.page.locator("#campaign-prompt .campaign-prompt-text").inner_text()


def _people(votes: int) -> str:
    if votes == 0:
        return "nobody has rated this one yet"
    return "1 person rated this one" if votes == 1 else f"{votes} people rated this one"


def _rate_one(rater: Rater, index: int, expected, by_keys: bool) -> str:
    """Stream the item on screen, check its answers and progress, vote, and see the next
    item (or "nothing left") at once; returns the prompt rated."""
    page, duet = rater.page, rater.duet
    tid = rater.current()
    prompt = rater.prompt()
    handed = rater.handed[-1]
    assert handed["turn"]["id"] == tid and handed["item"]["prompt"] == prompt
    assert duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    for slot in "ab":  # every answer streamed in full, as the model wrote it
        raw = duet.raw(tid, slot)
        assert raw == expected(prompt, raw), (slot, raw)
        expect(duet.pane(tid, slot).locator(".pane-body")).not_to_be_empty()
    mine = handed["campaign"]["mine"]
    expect(page.locator("#campaign-progress")).to_have_text(
        f"{mine} of 3 done, {_people(handed['item']['votes'])}"
    )
    expect(page.locator("#stop")).to_be_hidden()  # a shared turn cannot be stopped
    choice = PROMPTS[prompt][index]
    vote = duet.turn(tid).locator(".vote")
    asked_next = rater.page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/next"), timeout=5_000
    )
    with asked_next as following:  # right after the vote: no click, no reload
        if by_keys:
            vote.locator("button.tag-chip").first.click()  # a tag and a reason go with it
            vote.locator("textarea").fill("More to the point.")
            vote.locator("textarea").blur()
            page.keyboard.press(KEYS[choice])
        else:
            vote.locator(f'button[data-choice="{choice}"]').click()
    if following.value.status == 200:  # the next item, on screen at once
        expect(duet.turn(following.value.json()["turn"]["id"])).to_be_visible(timeout=3_000)
    else:
        expect(page.locator("#campaign-done")).to_be_visible(timeout=3_000)
    last = page.locator("#campaign-last")
    expect(last).to_contain_text(re.compile(r"You (preferred|called|found)"))
    expect(last).to_contain_text("alpha")  # the models, revealed with the vote
    return prompt


def test_two_raters_finish_a_campaign_then_the_admin_sees_alpha(
    new_duet, browser, stack, campaign_app, runner, expected, tmp_path
):
    _create(runner, tmp_path, "journey", PROMPTS, overlap=2)
    raters = [Rater(new_duet().open()), Rater(new_duet().open())]
    for rater in raters:  # both at once: each has an item streaming live
        rater.enter("journey")
        guidelines = rater.page.locator("#campaign-guidelines")
        expect(guidelines).to_have_attribute("open", "")  # the first time: open
        expect(guidelines.get_by_role("heading", name="How to rate")).to_be_visible()
        expect(guidelines.locator("strong")).to_have_text("accurate")
        rater.current()
    first_items = {r.handed[0]["item"]["id"] for r in raters}
    assert len(first_items) == 2  # two different items, each generated for its rater

    rated: list[list[str]] = [[], []]
    for _round in range(3):
        for index, rater in enumerate(raters):
            rated[index].append(_rate_one(rater, index, expected, by_keys=index == 0))
    for body, prompt in zip(raters[0].votes, rated[0], strict=True):  # keys, a tag, a reason
        assert body == {
            "choice": PROMPTS[prompt][0],
            "reason": "More to the point.",
            "tags": [Config.REASON_TAGS[0]],
        }
    for index, rater in enumerate(raters):
        assert sorted(rated[index]) == sorted(PROMPTS)  # every item, once
        assert [v["choice"] for v in rater.votes] == [PROMPTS[p][index] for p in rated[index]]
        assert rater.nexts[-1] == 204
        done = rater.page.locator("#campaign-done")
        expect(done).to_be_visible()
        expect(done).to_contain_text("Nothing left to rate")
        expect(rater.page.locator("#campaign-progress")).to_have_text("3 of 3 done")
        expect(rater.page.locator("#turn-list .turn")).to_have_count(0)
        assert rater.page.evaluate("() => window.__pwned") is None

    status = runner.invoke(args=["campaigns", "status", "journey", "--json"])
    assert status.exit_code == 0, status.output
    figures = json.loads(status.stdout)
    assert figures["votes"] == 6 and figures["done"] == 3
    assert figures["agreement"]["alpha"] == ALPHA

    invite = runner.invoke(args=["raters", "invite", "judge", "--admin"])
    assert invite.exit_code == 0, invite.output
    context = browser.new_context(viewport={**DESKTOP, "height": 1200}, locale="en-US")
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    try:
        page.goto(stack.url + urlsplit(invite.stdout.strip().splitlines()[-1]).path)
        page.goto(stack.url + "/admin/campaigns")
        row = page.locator('tr[data-campaign="journey"]')
        alpha = row.locator("[data-alpha]")
        assert float(alpha.get_attribute("data-alpha")) == figures["agreement"]["alpha"]
        expect(alpha).to_contain_text(f"{ALPHA:.3f}")
        low, high = figures["agreement"]["alpha_ci95"]
        expect(alpha).to_contain_text(f"{low:.3f} to {high:.3f}")
        expect(row.locator("td.votes")).to_have_text("6")
        expect(row.locator("td.done")).to_have_text("3 of 3 (100%)")
        expect(row.locator("td.agreement")).to_have_text("67%")
        per_rater = page.locator('table[data-campaign="journey"] tbody tr')
        expect(per_rater).to_have_count(2)
        for i in range(2):
            expect(per_rater.nth(i).locator("td.votes")).to_have_text("3")
        assert page.evaluate("() => window.__cspViolations") == []

        page.goto(stack.url + "/admin?rounds=100")
        board = page.locator("table.leaderboard tbody tr th")
        assert sorted(board.all_inner_texts()) == ["alpha", "beta"]
        expect(page.locator(".admin-lead").first).to_contain_text("6 votes on 3 paired turns")
        assert page.evaluate("() => window.__cspViolations") == []
    finally:
        context.close()


def test_guidelines_once_skip_thumbs_and_the_phone_switch(
    new_duet, stack, campaign_app, runner, tmp_path, artifacts
):
    prompts = ["Say hello. #tokens=18", "Say goodbye. #tokens=18"]
    _create(runner, tmp_path, "phone", prompts, overlap=1)
    rater = Rater(
        new_duet(viewport=MOBILE, is_mobile=True, has_touch=True, device_scale_factor=2).open()
    )
    page, duet = rater.page, rater.duet
    page.locator("#sidebar-toggle").click()  # on a phone the entry is in the drawer
    rater.enter("phone")
    expect(page.locator("#sidebar")).not_to_have_class(re.compile(r"\bopen\b"))
    tid = rater.current()
    assert duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}

    switch = duet.turn(tid).locator(".segmented")
    expect(switch).to_be_visible()  # one answer at a time, A | B
    expect(duet.pane(tid, "b")).to_be_hidden()
    switch.locator('button[data-show="b"]').click()
    expect(duet.pane(tid, "b")).to_be_visible()
    expect(duet.pane(tid, "a")).to_be_hidden()
    duet.screenshot(artifacts / "campaign-phone.png")
    for target in (
        switch.locator("button").first,
        duet.turn(tid).locator('button[data-choice="a"]'),
        duet.turn(tid).locator("button.skip-open"),
        page.locator("#campaign-guidelines summary"),
    ):
        box = target.bounding_box()
        assert box and box["height"] >= TOUCH, (target, box)

    thumbs = duet.pane(tid, "b").locator('button[data-rating="up"]')
    thumbs.click()
    with page.expect_response(lambda r: r.url.endswith("/rating")) as rated:
        duet.pane(tid, "b").locator("button.rate-send").click()
    assert rated.value.status == 201, rated.value.text()
    expect(duet.pane(tid, "b").locator(".rated-note")).to_have_text("You rated this answer good.")

    vote = duet.turn(tid).locator(".vote")
    vote.locator("button.skip-open").click()
    vote.locator("input.skip-reason").fill("I cannot judge this one.")
    with page.expect_response(lambda r: r.url.endswith("/skip")) as skipped:
        vote.locator("button.skip-confirm").click()
    assert skipped.value.status == 201
    assert skipped.value.request.post_data_json == {"reason": "I cannot judge this one."}
    expect(page.locator("#campaign-last")).to_have_text("You skipped the last item.")
    expect(duet.turn(tid)).to_have_count(0, timeout=3_000)  # the next item, at once
    second = rater.current()
    assert rater.prompt() != rater.handed[0]["item"]["prompt"]

    # Back later (a reload): the guidelines stay folded, the same unfinished item returns.
    page.reload()
    page.wait_for_function("() => window.duet && window.duet.ready")
    page.evaluate("() => window.duet.ready")
    expect(page.locator("#campaign-view")).to_be_visible()
    expect(page.locator("#campaign-guidelines")).not_to_have_attribute("open", "")
    assert rater.current() == second


def test_an_item_that_went_to_others_is_said_so_and_the_next_comes(
    new_duet, stack, campaign_app, runner, tmp_path
):
    _create(runner, tmp_path, "late", ["Be late. #tokens=12"], overlap=1)
    rater = Rater(new_duet().open())
    rater.enter("late")
    tid = rater.current()
    assert rater.duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    # The rater waits past CAMPAIGN_ASSIGNMENT_TIMEOUT; the place goes to someone else, who votes.
    age_assignments(campaign_app, 2 * 1800)
    other = stack.client()
    campaign_id = other.get("/api/campaigns").json()["campaigns"][0]["id"]
    handed = other.post(f"/api/campaigns/{campaign_id}/next")
    assert handed.status_code == 200 and handed.json()["turn"]["id"] == tid
    assert other.post(f"/api/turns/{tid}/feedback", {"choice": "b"}).status_code == 201

    page = rater.page
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as refused:
        rater.duet.turn(tid).locator('button[data-choice="a"]').click()
    assert refused.value.status == 409
    assert refused.value.json()["error"]["code"] == "assignment_expired"
    notice = page.locator("#campaign-notice")
    expect(notice).to_have_text(
        "The last item waited too long for your vote and went to other raters. "
        "Here is the next one."
    )
    expect(page.locator("#error-banner")).to_be_hidden()  # said once, in the campaign's words
    expect(page.locator("#campaign-done")).to_be_visible()  # and there is no next one
    assert rater.nexts[-1] == 204
