"""The page in French: Chromium set to fr-FR gets the template's words and the scripts' words
in French (one language, chosen by the server from Accept-Language and named in <html lang>),
and the server's error messages in French too."""

from __future__ import annotations

import os
import re

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

from tests.browser.conftest import endpoint_of

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.timeout(120)]

NBSP = "\u00a0"


@pytest.fixture
def french(new_duet):
    """A browser whose language is French (navigator.languages and Accept-Language)."""
    return new_duet(locale="fr-FR").open()


def test_a_french_browser_gets_the_page_in_french(french):
    page = french.page
    assert page.evaluate("() => navigator.language") == "fr-FR"
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#new-conversation")).to_contain_text("Nouvelle conversation")
    expect(page.locator("#send")).to_have_text("Envoyer")
    expect(page.locator(".switch-label")).to_have_text("Comparer deux réponses")
    expect(page.locator("#composer-input")).to_have_attribute("placeholder", "Écrire à Duet…")
    expect(page.locator("#empty-title")).to_have_text("Discutez, et parfois comparez")
    expect(page.locator("#data-notice")).to_contain_text("Ne partagez rien de privé.")
    expect(page.locator("#data-notice-dismiss")).to_have_text("Compris")


def test_a_pair_is_explained_voted_and_revealed_in_french(french):
    page = french.page
    french.new_conversation()
    tid = french.send("Deux réponses, s'il vous plaît #tokens=12", pair=True)
    turn = french.turn(tid)
    expect(turn.locator(".turn-note")).to_have_text(
        f"Vous avez demandé deux réponses{NBSP}: choisissez la meilleure{NBSP}; les modèles sont "
        "dévoilés après votre vote, et la conversation continue avec votre choix."
    )
    assert french.wait_finished(tid, "ab") == {"a": "done", "b": "done"}
    expect(turn.get_by_text(f"Quelle réponse est la meilleure{NBSP}?")).to_be_visible()
    expect(turn.locator('.vote button[data-choice="a"]')).to_contain_text("A est meilleure")
    expect(turn.locator('.vote button[data-choice="b"]')).to_contain_text("B est meilleure")
    expect(turn.locator(".tag-chip").first).to_have_text("exacte")  # a default tag, in French
    names = {slot: endpoint_of(french.raw(tid, slot)) for slot in "ab"}
    with page.expect_response(lambda r: r.url.endswith(f"/turns/{tid}/feedback")) as sent:
        turn.locator('.vote button[data-choice="b"]').click()
    assert sent.value.status == 201, sent.value.text()
    expect(turn.locator(".vote-result")).to_have_text(
        f"Vous avez préféré B{NBSP}: {names['b']} plutôt que {names['a']}"
    )
    english = re.compile(r"\b(You preferred|Which answer|is better|Streaming)\b")
    assert not english.search(page.locator("main").inner_text())


def test_the_servers_error_messages_reach_a_french_browser_in_french(french):
    # Asked as the page's scripts ask: the browser adds its own Accept-Language.
    status, body = french.page.evaluate(
        """async (url) => {
            const answer = await fetch(url);
            return [answer.status, await answer.json()];
        }""",
        french.url + "/api/conversations/" + "0" * 32,
    )
    assert status == 404
    assert body["error"] == {"code": "not_found", "message": "Conversation introuvable."}
