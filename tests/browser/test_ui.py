"""The chat page in a real browser (Chromium via Playwright) against the real stack.

What the user sees and does: two answers streaming side by side, the vote, re-roll, stop,
reload, hostile model output and a dropped websocket. The layout on a phone is in
test_ui_phone.py; rating (thumbs, edits, reasons, retry, skip) in test_ui_rating.py.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlsplit

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - only without the dev requirements
    if os.environ.get("CI"):
        raise
    pytest.skip(
        "playwright is not installed (pip install -r requirements-dev.txt)",
        allow_module_level=True,
    )

from app import vocabulary
from app.vocabulary import CHOICES
from tests.browser.conftest import endpoint_of

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.timeout(120)]

# One look at a paired turn, taken in a single animation frame, as soon as both panes show
# text or one of them has left "streaming" (so a serial, one-after-the-other stream is caught).
SNAPSHOT_WHEN_BOTH_LIVE = """(t) => {
  const turn = document.querySelector(`.turn[data-turn-id="${t}"]`);
  if (!turn) return null;
  const panes = [...turn.querySelectorAll(".pane")].map((p) => ({
    slot: p.dataset.slot,
    status: p.dataset.status,
    shown: p.querySelector(".pane-body").textContent.trim().length,
    held: (window.duet.rawText(t, p.dataset.slot) || "").length,
  }));
  const bothShown = panes.length === 2 && panes.every((p) => p.shown > 0 && p.held > 0);
  const oneEnded = panes.some((p) => p.status !== "streaming");
  if (!bothShown && !oneEnded) return null;
  return {
    panes,
    buttonsDisabled: [...turn.querySelectorAll(".vote button[data-choice]")].map((b) => b.disabled),
    stopShown: !document.getElementById("stop").hidden,
  };
}"""


# Records every data-status that pane A of turn t shows (the re-roll replaces the turn's DOM).
WATCH_STATUS_OF_A = """(t) => {
  window.__statusesOfA = [];
  const record = () => {
    const pane = document.querySelector(`.turn[data-turn-id="${t}"] .pane[data-slot="a"]`);
    if (pane) window.__statusesOfA.push(pane.dataset.status);
  };
  new MutationObserver(record).observe(document.getElementById("turn-list"),
    {subtree: true, childList: true, attributes: true, attributeFilter: ["data-status"]});
}"""


def _vote(duet, tid: str, choice: str, reason: str = "") -> None:
    vote = duet.turn(tid).locator(".vote")
    if reason:
        vote.locator("textarea").fill(reason)
    with duet.page.expect_response(lambda r: r.url.endswith(f"/turns/{tid}/feedback")) as sent:
        vote.locator(f'button[data-choice="{choice}"]').click()
    assert sent.value.status == 201, sent.value.text()


def test_the_page_reads_the_allowed_values_from_the_server_as_data(duet):
    # Data in an attribute of <html>, not an inline <script>, however inert.
    read = "() => JSON.parse(document.documentElement.dataset.vocabulary)"
    assert duet.page.evaluate(read) == vocabulary.as_json()


def test_a_pair_streams_live_side_by_side_and_takes_a_vote(duet, expected, artifacts):
    page = duet.page
    cid = duet.new_conversation()
    content = "Compare two answers, please #tokens=80 #delay=0.03"
    tid = duet.send(content, pair=True)

    live = page.wait_for_function(SNAPSHOT_WHEN_BOTH_LIVE, arg=tid).json_value()
    assert [p["status"] for p in live["panes"]] == ["streaming", "streaming"], live
    assert all(p["shown"] and p["held"] for p in live["panes"]), live
    assert live["buttonsDisabled"] == [True] * len(CHOICES), live
    assert live["stopShown"], live
    duet.screenshot(artifacts / "pair-desktop-streaming.png")

    assert duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    buttons = duet.turn(tid).locator(".vote button[data-choice]")
    expect(buttons).to_have_count(len(CHOICES))
    # The page takes the choices, in order, from the server (app/vocabulary.py).
    assert buttons.evaluate_all("els => els.map((b) => b.dataset.choice)") == list(CHOICES)
    for choice in CHOICES:
        expect(duet.turn(tid).locator(f'.vote button[data-choice="{choice}"]')).to_be_enabled()
    texts = {slot: duet.raw(tid, slot) for slot in "ab"}
    for slot, text in texts.items():
        assert text == expected(content, text), f"slot {slot} differs from what was streamed"
    names = {slot: endpoint_of(text) for slot, text in texts.items()}
    assert set(names.values()) == {"alpha", "beta"}
    expect(duet.turn(tid).locator(".model-name")).to_have_count(2)
    for slot in "ab":
        expect(duet.pane(tid, slot).locator(".model-name")).to_be_hidden()  # not before the vote

    _vote(duet, tid, "b", reason="B kept it short")

    expect(duet.turn(tid).locator(".vote-result")).to_have_text(
        f"You preferred B: {names['b']} over {names['a']}"
    )
    expect(duet.turn(tid).locator('.vote button[data-choice="b"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    for choice in CHOICES:
        expect(duet.turn(tid).locator(f'.vote button[data-choice="{choice}"]')).to_be_disabled()
    for slot in "ab":
        model = duet.pane(tid, slot).locator(".model-name")
        expect(model).to_be_visible()
        expect(model).to_contain_text(f"{slot.upper()}: {names[slot]}")
    duet.screenshot(artifacts / "pair-desktop.png")

    saved = duet.api_turn(tid, cid)
    assert saved["feedback"]["choice"] == "b"
    assert saved["feedback"]["reason"] == "B kept it short"
    for response in saved["responses"]:
        assert response["status"] == "done"
        assert response["content"] == texts[response["slot"]]
        assert response["endpoint"] == names[response["slot"]]


def test_a_reroll_turns_a_single_answer_into_a_pair(duet, expected):
    page = duet.page
    cid = duet.new_conversation()
    content = "Give me one fact #tokens=60 #delay=0.02"
    tid = duet.send(content)  # compare switch off; the stack never samples a pair
    assert duet.wait_finished(tid, "a") == {"a": "done"}
    original = duet.raw(tid, "a")
    assert original == expected(content, original)
    expect(duet.turn(tid)).to_have_class(re.compile(r"\bsingle\b"))
    expect(duet.turn(tid).locator(".vote")).to_have_count(0)

    reroll = duet.turn(tid).locator(".reroll")
    expect(reroll).to_be_visible()
    page.evaluate(WATCH_STATUS_OF_A, tid)  # every status pane A shows from now on
    with page.expect_response(lambda r: r.url.endswith(f"/turns/{tid}/reroll")) as sent:
        reroll.click()
    assert sent.value.status == 202, sent.value.text()

    expect(duet.turn(tid)).to_have_class(re.compile(r"\bpaired\b"))
    expect(duet.turn(tid).locator(".pane")).to_have_count(2)
    during = page.wait_for_function(
        """(t) => {
          const b = window.duet.status(t, "b"), text = window.duet.rawText(t, "b") || "";
          if (b === "streaming" && !text) return null;
          const pane = document.querySelector(`.turn[data-turn-id="${t}"] .pane[data-slot="b"]`);
          return {b, pane: pane.dataset.status, text, a: window.duet.rawText(t, "a"),
                  voteDisabled: document.querySelector(
                    `.turn[data-turn-id="${t}"] .vote button[data-choice="tie"]`).disabled};
        }""",
        arg=tid,
    ).json_value()
    assert during["b"] == during["pane"] == "streaming", during
    assert during["voteDisabled"], during
    assert original.startswith(during["a"]), "A must only ever show the original answer"

    assert duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    assert duet.raw(tid, "a") == original
    assert set(page.evaluate("() => window.__statusesOfA")) == {"done"}, "A flickered"
    challenger = duet.raw(tid, "b")
    assert challenger == expected(content, challenger)
    assert endpoint_of(challenger) != endpoint_of(original)

    _vote(duet, tid, "tie")

    expect(duet.turn(tid).locator(".vote-result")).to_have_text(
        f"You called it a tie: {endpoint_of(original)} and {endpoint_of(challenger)}"
    )
    saved = duet.api_turn(tid, cid)
    assert saved["paired"] is True and saved["trigger"] == "reroll"
    assert saved["feedback"]["choice"] == "tie"
    contents = {r["slot"]: r["content"] for r in saved["responses"]}
    assert contents == {"a": original, "b": challenger}


@pytest.mark.parametrize("how", ["click", "escape"])
def test_stop_cancels_both_answers_mid_stream(duet, expected, artifacts, how):
    page = duet.page
    cid = duet.new_conversation()
    content = "A very long answer #tokens=400 #delay=0.05"
    tid = duet.send(content, pair=True)
    duet.wait_seq(tid, "ab", 5)
    expect(page.locator("#stop")).to_be_visible()

    if how == "click":
        page.click("#stop")
    else:
        page.keyboard.press("Escape")

    assert duet.wait_finished(tid, "ab", timeout=10_000) == {"a": "cancelled", "b": "cancelled"}
    texts = {}
    for slot in "ab":
        expect(duet.pane(tid, slot)).to_have_attribute("data-status", "cancelled")
        texts[slot] = duet.raw(tid, slot)
        full = expected(content, texts[slot])
        assert full.startswith(texts[slot]) and len(texts[slot]) < len(full), "not stopped midway"
    for choice in CHOICES:
        expect(duet.turn(tid).locator(f'.vote button[data-choice="{choice}"]')).to_be_disabled()
    expect(page.locator("#stop")).to_be_hidden()
    expect(page.locator("#send")).to_be_visible()
    expect(page.locator("#composer textarea")).to_be_enabled()
    duet.screenshot(artifacts / f"pair-stopped-{how}.png")

    saved = duet.api_turn(tid, cid)
    for response in saved["responses"]:
        assert response["status"] == "cancelled"
        assert response["content"] == texts[response["slot"]]


def test_a_reload_shows_the_conversation_votes_and_models_again(duet, new_duet, expected):
    page = duet.page
    cid = duet.new_conversation()
    first, second = "Which answer is better? #tokens=150", "And a follow-up #tokens=15"
    tid1 = duet.send(first, pair=True)
    assert duet.wait_finished(tid1, "ab") == {"a": "done", "b": "done"}
    _vote(duet, tid1, "a", reason="A is clearer")
    expect(duet.turn(tid1).locator(".vote-result")).to_be_visible()
    # The vote grew by its result line: the view, which was at the bottom, stays there.
    scroller = page.locator("#turns").bounding_box()
    vote = duet.turn(tid1).locator(".vote").bounding_box()
    assert vote["y"] + vote["height"] <= scroller["y"] + scroller["height"] + 0.5, (vote, scroller)
    tid2 = duet.send(second)
    assert duet.wait_finished(tid2, "a") == {"a": "done"}
    before = {(t, s): duet.raw(t, s) for t, s in ((tid1, "a"), (tid1, "b"), (tid2, "a"))}
    models = duet.turn(tid1).locator(".model-name").all_inner_texts()
    assert len(models) == 2 and all(models)

    page.reload()
    page.evaluate("() => window.duet.ready")

    assert page.evaluate("() => window.duet.currentConversationId()") == cid
    expect(page.locator(".turn")).to_have_count(2)
    assert page.locator(".turn").evaluate_all("els => els.map((e) => e.dataset.turnId)") == [
        tid1,
        tid2,
    ]
    expect(duet.turn(tid1).locator(".user-text")).to_have_text(first)
    expect(duet.turn(tid2).locator(".user-text")).to_have_text(second)
    for (t, s), text in before.items():
        assert duet.raw(t, s) == text
        assert text == expected(first if t == tid1 else second, text)
        expect(duet.pane(t, s)).to_have_attribute("data-status", "done")
        expect(duet.pane(t, s).locator(".pane-body")).not_to_be_empty()
    # The conversation moved on: the vote is folded to one line that names the models.
    names = [m.split(":")[1].split("·")[0].strip() for m in models]
    summary = duet.turn(tid1).locator(".vote-summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_text(f"You preferred A: {names[0]} over {names[1]}")
    expect(duet.turn(tid1).locator(".vote-buttons")).to_be_hidden()
    expect(duet.turn(tid1).locator('.vote button[data-choice="a"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    for choice in CHOICES:
        expect(duet.turn(tid1).locator(f'.vote button[data-choice="{choice}"]')).to_be_disabled()
    expect(duet.turn(tid1).locator(".vote textarea")).to_have_value("A is clearer")
    expect(duet.turn(tid1).locator(".model-name")).to_have_text(models)
    current = page.locator(f'#conversation-list a[data-conversation-id="{cid}"]')
    expect(current).to_have_attribute("aria-current", "page")

    # Without the #c= fragment the page opens the latest conversation.
    duet.open("/")
    assert page.evaluate("() => window.duet.currentConversationId()") == cid
    expect(page.locator(".turn")).to_have_count(2)

    # Another browser (another cookie) is told the conversation does not exist.
    stranger = new_duet().open(f"/#c={cid}")
    expect(stranger.page.locator("#error-text")).to_have_text(
        "That conversation could not be found."
    )
    expect(stranger.page.locator(".turn")).to_have_count(0)


SPELLED_OUT = '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script>'


def test_model_output_with_html_is_shown_as_text_never_run(duet):
    page = duet.page
    # The fake echoes the first 60 characters of the message ("[alpha] You said: <message>").
    hostile = "<img src=x onerror=__pwned=1><script>__pwned=2</script>"
    clicky = "[click me](javascript:alert(4)) <svg onload=alert(5)>"
    assert len(hostile) <= 60 and len(clicky) <= 60
    duet.new_conversation()

    tid1 = duet.send(hostile, pair=True)
    assert duet.wait_finished(tid1, "ab") == {"a": "done", "b": "done"}
    tid2 = duet.send(clicky)
    assert duet.wait_finished(tid2, "a") == {"a": "done"}
    tid3 = duet.send(SPELLED_OUT)  # too long to be echoed whole: the user bubble has it all
    assert duet.wait_finished(tid3, "a") == {"a": "done"}

    shown = {tid1: hostile, tid2: "<svg onload=alert(5)>", tid3: '<img src=x onerror="window'}
    for tid, slot, message in (
        (tid1, "a", hostile),
        (tid1, "b", hostile),
        (tid2, "a", clicky),
        (tid3, "a", SPELLED_OUT[:60]),
    ):
        assert message in duet.raw(tid, slot)
        body = duet.pane(tid, slot).locator(".pane-body")
        expect(body).to_contain_text(shown[tid])
        expect(body.locator("img, script, svg, iframe, [onerror], [onload]")).to_have_count(0)
    for tid, message in ((tid1, hostile), (tid2, clicky), (tid3, SPELLED_OUT)):
        expect(duet.turn(tid).locator(".user-text")).to_have_text(message)
        expect(duet.turn(tid).locator(".user-text *")).to_have_count(0)
    link = duet.pane(tid2, "a").locator(".pane-body a", has_text="click me")
    if link.count():  # the markdown link may be kept, but never with a javascript: target
        assert not (link.get_attribute("href") or "").lower().startswith("javascript:")
        link.click()  # would raise an alert if the href survived

    page.wait_for_timeout(300)  # room for a late onerror/onload
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    assert page.locator("#turn-list script, #turn-list img").count() == 0
    assert not [u for u in duet.requests if urlsplit(u).path == "/x"], "the <img> was loaded"
    assert duet.dialogs == []
    assert duet.csp_violations() == [], "an inline script or handler reached the page"
    title = page.locator("#conversation-list .conversation-title").first
    expect(title).to_contain_text("<img")
    expect(title.locator("*")).to_have_count(0)


def test_a_dropped_socket_resumes_from_the_last_seq(duet, expected):
    page = duet.page
    duet.new_conversation()
    content = "Survive a dropped connection #tokens=150 #delay=0.03"
    tid = duet.send(content, pair=True)

    # Drop the open socket once both slots hold 15 tokens (checked and done in one go).
    held = page.wait_for_function(
        """(t) => {
          const ws = window.duet.sockets.get(t);
          const seq = (s) => window.duet.seq(t, s);
          if (!ws || ws.readyState !== WebSocket.OPEN || seq("a") < 15 || seq("b") < 15) {
            return null;
          }
          const held = {a: seq("a"), b: seq("b"), url: ws.url,
                        status: [window.duet.status(t, "a"), window.duet.status(t, "b")]};
          const notice = document.querySelector(`.turn[data-turn-id="${t}"] .reconnecting`);
          window.__noticeShown = false;
          new MutationObserver(() => { window.__noticeShown ||= !notice.hidden; })
            .observe(notice, {attributes: true, attributeFilter: ["hidden"]});
          ws.close();
          return held;
        }""",
        arg=tid,
    ).json_value()
    assert held["status"] == ["streaming", "streaming"], "dropped too late"

    assert duet.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    for slot in "ab":
        text = duet.raw(tid, slot)
        assert text == expected(content, text), f"slot {slot}: repeated or missing text"
    assert page.evaluate("() => window.__noticeShown"), "no 'Reconnecting…' while it was away"
    expect(duet.turn(tid).locator(".reconnecting")).to_be_hidden()
    sockets = duet.sockets_of(tid)
    urls = [url for url, _ in sockets]
    # The first connection replays everything; every connection takes joined tokens.
    assert parse_qs(urlsplit(urls[0]).query) == {"join_tokens": ["1"]}, urls
    dropped = urls.index(held["url"])
    assert len(sockets) > dropped + 1, f"no reconnect after the drop: {urls}"
    # Every reconnect resumes after what the page held: no seq repeated, none skipped.
    for number, (url, received) in enumerate(sockets[1:], start=1):
        query = parse_qs(urlsplit(url).query)
        for slot in "ab":
            after = int(query[f"after_{slot}"][0])
            if number == dropped + 1:
                assert after >= held[slot] > 0, (url, held)
            seqs = [
                seq
                for m in received
                if m["type"] == "token" and m["slot"] == slot
                for seq in range(m.get("first_seq", m["seq"]), m["seq"] + 1)
            ]
            assert seqs == list(range(after + 1, after + 1 + len(seqs))), (url, seqs[:5])
    assert sockets[-1][1][-1] == {"type": "end"}
