"""Real-browser fixtures: Chromium driven by Playwright against the running stack.

One Chromium per session; each test gets a fresh context (so a new cookie, a new anonymous
client) and a page that has loaded the app. Chromium is Debian's (/usr/bin/chromium, or
DUET_TEST_CHROMIUM); browsers are never downloaded. Without Chromium or Playwright the tests
skip, except in CI (CI set), where that is a failure.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fake_llm import expected_text
from tests.stack import ROOT

CHROMIUM = os.environ.get("DUET_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = ROOT / "tests" / "artifacts"
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}
# The tests read the page's English words: a context speaks en-US (navigator.languages and
# Accept-Language) unless a test asks for another locale (test_ui_french.py).
LOCALE = "en-US"
TERMINAL = ("done", "error", "cancelled")
# Runs before the page's own scripts (outside its CSP): records what the CSP blocks, such
# as an inline event handler that model output managed to smuggle into the page.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const what = `${e.violatedDirective} blocked ${e.blockedURI || "inline"}: ${e.sample}`;
  window.__cspViolations.push(what);
});
"""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the UI in a real browser (Chromium)")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_api():
    """The Playwright driver (sync API), or a skip when it is missing outside CI."""
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium, or DUET_TEST_CHROMIUM)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements-dev.txt)")
    expect.set_options(timeout=10_000)  # a busy CI machine is slow to paint
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_api) -> Iterator:
    """One headless Chromium for the whole session."""
    chromium = playwright_api.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/artifacts/: screenshots of this run (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class Duet:
    """One browser tab on the app, with helpers that read the UI's window.duet hooks."""

    def __init__(self, page, stack_url: str) -> None:
        self.page, self.url = page, stack_url
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.console_errors: list[str] = []
        self.sockets: list[tuple[str, list[dict]]] = []  # (url, messages received) per socket
        self.requests: list[str] = []  # every URL the page requested
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", self._on_console)
        page.on("websocket", self._on_websocket)
        page.on("request", lambda request: self.requests.append(request.url))

    def _on_websocket(self, ws) -> None:
        received: list[dict] = []
        self.sockets.append((ws.url, received))
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

    def sockets_of(self, tid: str) -> list[tuple[str, list[dict]]]:
        """The sockets the page opened for a turn, in order, with what each received."""
        return [(url, got) for url, got in self.sockets if url.split("?")[0].endswith(f"/{tid}")]

    def _on_console(self, message) -> None:
        # HTTP errors show up as "Failed to load resource"; tests check those answers themselves.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(message.text)

    def csp_violations(self) -> list[str]:
        """What the page's Content-Security-Policy blocked so far (since the last load)."""
        return self.page.evaluate("() => window.__cspViolations || []")

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    # ------------------------------------------------------------ navigation

    def open(self, path: str = "/") -> Duet:
        """Load the page and wait until the app has initialised."""
        self.page.goto(self.url + path)
        self.page.wait_for_function("() => window.duet && window.duet.ready")
        self.page.evaluate("() => window.duet.ready")
        return self

    def new_conversation(self) -> str:
        """Click "New conversation"; returns the id the UI opened."""
        self.page.click("#new-conversation")
        handle = self.page.wait_for_function("() => window.duet.currentConversationId()")
        return handle.json_value()

    # ------------------------------------------------------------ sending

    def send(self, content: str, pair: bool = False) -> str:
        """Type a message, set the compare switch, press Send; returns the new turn's id."""
        from playwright.sync_api import expect

        page = self.page
        page.fill("#composer textarea", content)
        switch = page.locator("#mode-pair")
        if switch.is_checked() != pair:
            page.click('label[for="mode-pair"]')  # the visible switch, as a user does
        (expect(switch).to_be_checked if pair else expect(switch).not_to_be_checked)()
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith("/turns")
        ) as started:
            page.click("#send")
        response = started.value
        assert response.status == 202, response.text()
        body = response.json()
        assert body["paired"] is pair, body
        tid = body["id"]
        page.wait_for_selector(f'.turn[data-turn-id="{tid}"]')
        return tid

    # ------------------------------------------------------------ reading

    def turn(self, tid: str):
        """The turn's <li> as a locator."""
        return self.page.locator(f'.turn[data-turn-id="{tid}"]')

    def pane(self, tid: str, slot: str):
        """One pane of a turn."""
        return self.turn(tid).locator(f'.pane[data-slot="{slot}"]')

    def raw(self, tid: str, slot: str) -> str | None:
        """The exact text the UI assembled for a slot."""
        return self.page.evaluate("([t, s]) => window.duet.rawText(t, s)", [tid, slot])

    def status(self, tid: str, slot: str) -> str | None:
        """The slot's status as the UI holds it."""
        return self.page.evaluate("([t, s]) => window.duet.status(t, s)", [tid, slot])

    def seq(self, tid: str, slot: str) -> int | None:
        """The last seq the UI holds for a slot."""
        return self.page.evaluate("([t, s]) => window.duet.seq(t, s)", [tid, slot])

    def wait_seq(self, tid: str, slots: str, at_least: int, timeout: float = 15_000) -> None:
        """Wait until every slot holds at least `at_least` tokens."""
        self.page.wait_for_function(
            "([t, slots, n]) => [...slots].every((s) => window.duet.seq(t, s) >= n)",
            arg=[tid, slots, at_least],
            timeout=timeout,
        )

    def wait_finished(self, tid: str, slots: str = "a", timeout: float = 30_000) -> dict:
        """Wait until every slot's pane shows a final status; returns {slot: status}."""
        self.page.wait_for_function(
            """([t, slots, terminal]) => [...slots].every((s) => {
                const turn = document.querySelector(`.turn[data-turn-id="${t}"]`);
                const pane = turn && turn.querySelector(`.pane[data-slot="${s}"]`);
                return pane && terminal.includes(pane.dataset.status)
                    && terminal.includes(window.duet.status(t, s));
            })""",
            arg=[tid, slots, list(TERMINAL)],
            timeout=timeout,
        )
        return {s: self.status(tid, s) for s in slots}

    def api_conversation(self, cid: str | None = None) -> dict:
        """GET /api/conversations/<cid> with this browser's cookie."""
        cid = cid or self.page.evaluate("() => window.duet.currentConversationId()")
        response = self.page.request.get(f"{self.url}/api/conversations/{cid}")
        assert response.status == 200, response.text()
        return response.json()

    def api_turn(self, tid: str, cid: str | None = None) -> dict:
        """One turn as the API returns it."""
        return next(t for t in self.api_conversation(cid)["turns"] if t["id"] == tid)

    def screenshot(self, path: Path, **kwargs) -> None:
        """A screenshot with the caret and animations frozen, so runs look alike."""
        self.page.screenshot(path=str(path), animations="disabled", caret="hide", **kwargs)


@pytest.fixture
def new_duet(browser, stack) -> Iterator[Callable[..., Duet]]:
    """Make a fresh browser (new context: new cookie, new anonymous client) on the app.

    Every page must end without uncaught script errors, console errors (other than HTTP
    error answers), dialogs or Content-Security-Policy violations.
    """
    made: list[tuple[object, Duet]] = []

    def make(viewport: dict | None = None, **context_options) -> Duet:
        context_options.setdefault("locale", LOCALE)
        context = browser.new_context(viewport=viewport or DESKTOP, **context_options)
        context.set_default_timeout(15_000)
        context.add_init_script(CSP_WATCH)
        duet = Duet(context.new_page(), stack.url)
        made.append((context, duet))
        return duet

    yield make
    problems = []
    for context, duet in made:
        try:
            if not duet.page.is_closed():
                problems += [f"CSP violation: {v}" for v in duet.csp_violations()]
        finally:
            context.close()
        problems += [f"page error: {e}" for e in duet.errors]
        problems += [f"dialog: {d}" for d in duet.dialogs]
        problems += [f"console error: {e}" for e in duet.console_errors]
    assert not problems, problems


@pytest.fixture
def duet(new_duet) -> Duet:
    """A desktop browser that has loaded the app."""
    return new_duet().open()


@pytest.fixture
def expected(endpoints) -> Callable[..., str]:
    """expected(content, text): the exact answer of the endpoint that `text` comes from.

    The fake starts every answer with "[name]"; the context is the user message alone.
    """

    def answer(content: str, text: str | None, context: list[dict] | None = None) -> str:
        assert text and text.startswith("[") and "]" in text, f"not a fake answer: {text!r}"
        name = text[1 : text.index("]")]
        endpoint = next(e for e in endpoints if e["name"] == name)
        messages = context or [{"role": "user", "content": content}]
        return expected_text(name, messages, endpoint["params"])

    return answer


def endpoint_of(text: str) -> str:
    """The endpoint a fake answer came from: "[alpha] ..." -> "alpha"."""
    return text[1 : text.index("]")]
