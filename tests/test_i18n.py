"""Translations: the server's words and the page's, in English and French.

The language is the best of LANGUAGES for the request's Accept-Language, English otherwise;
an error's `code` never changes with it, only its `message`. The page's scripts take their
words from app/static/js/strings.js, one object per language with the same message ids.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import config
from app.extensions import db
from app.models import Campaign
from tests.admin_helpers import admin_client
from tests.api_helpers import UNKNOWN_ID, assert_error, new_conversation, send
from tests.campaign_helpers import make_campaign

ROOT = Path(__file__).resolve().parent.parent
STRINGS_JS = ROOT / "app" / "static" / "js" / "strings.js"
CATALOGS = ROOT / "app" / "translations"
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


# --------------------------------------------------------------------------- JSON errors
def test_an_api_error_is_in_french_for_a_french_browser_with_the_same_code(client):
    english = assert_error(client.get(f"/api/conversations/{UNKNOWN_ID}"), 404, "not_found")
    french = assert_error(
        client.get(f"/api/conversations/{UNKNOWN_ID}", headers=FRENCH), 404, "not_found"
    )
    assert english["message"] == "No such conversation."
    assert french["message"] == "Conversation introuvable."


def test_a_message_with_values_is_translated_around_them(client):
    cid = new_conversation(client)
    response = client.post(
        f"/api/conversations/{cid}/turns",
        json={"content": "hi", "mode": "both"},
        headers={"Accept-Language": "fr"},
    )
    error = assert_error(response, 422, "invalid_mode")
    assert error["message"].startswith("«\u00a0mode\u00a0» doit valoir")
    assert "'auto', 'single', 'pair'" in error["message"]


def test_the_generic_errors_are_translated_too(client):
    unknown = assert_error(client.get("/api/no-such-route", headers=FRENCH), 404, "not_found")
    assert unknown["message"] == "Il n’y a rien à cette adresse."
    not_json = client.post(
        "/api/conversations", data="x", content_type="text/plain", headers=FRENCH
    )
    assert assert_error(not_json, 415, "not_json")["message"].startswith("Envoyez le corps en JSON")


def test_a_conflict_from_the_chat_layer_is_translated(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, mode="single")["id"]
    response = client.post(f"/api/turns/{tid}/feedback", json={"choice": "a"}, headers=FRENCH)
    error = assert_error(response, 409, "not_paired")
    assert error["message"] == "Seul un tour à deux réponses peut être évalué."


@pytest.mark.parametrize(
    "accept", [None, "", "de-DE,de;q=0.9", "en-GB,en;q=0.8,fr;q=0.5", "*", "fr;q=0"]
)
def test_english_is_the_default_and_wins_when_preferred(client, accept):
    headers = {"Accept-Language": accept} if accept is not None else {}
    error = assert_error(client.get(f"/api/conversations/{UNKNOWN_ID}", headers=headers), 404)
    assert error["message"] == "No such conversation."


@pytest.mark.settings(LANGUAGES=["en"])
def test_a_language_left_out_of_LANGUAGES_is_not_offered(client):
    error = assert_error(client.get(f"/api/conversations/{UNKNOWN_ID}", headers=FRENCH), 404)
    assert error["message"] == "No such conversation."
    assert '<html lang="en"' in client.get("/", headers=FRENCH).get_data(as_text=True)


def test_a_translated_answer_says_it_varies_by_language(client):
    response = client.get(f"/api/conversations/{UNKNOWN_ID}", headers=FRENCH)
    assert "Accept-Language" in response.headers.get("Vary", "")
    page = client.get("/", headers=FRENCH)
    assert "Accept-Language" in page.headers.get("Vary", "")


def test_a_campaign_error_is_in_french_with_the_same_code(campaign_app, client):
    cid = make_campaign(campaign_app)
    with campaign_app.app_context():
        db.session.get(Campaign, cid).closed_at = db.func.now()
        db.session.commit()
    english = assert_error(client.post(f"/api/campaigns/{cid}/next", json={}), 409)
    french = assert_error(
        client.post(f"/api/campaigns/{cid}/next", json={}, headers=FRENCH), 409, english["code"]
    )
    assert english["code"] == "campaign_closed"
    assert english["message"] == "This campaign is closed; it hands out no items."
    assert french["message"] == "Cette campagne est close\u00a0; elle ne distribue plus d’éléments."


# --------------------------------------------------------------------------- pages
def test_the_chat_page_is_in_french_for_a_french_browser(client):
    html = client.get("/", headers=FRENCH).get_data(as_text=True)
    assert '<html lang="fr"' in html  # the page's scripts pick their catalog from it
    for words in ("Nouvelle conversation", "Comparer deux réponses", "Envoyer", "Compris"):
        assert words in html, words
    assert "New conversation" not in html and "Compare two answers" not in html
    # The default data notice is translated; an admin's own DATA_NOTICE is shown as written.
    assert "Ne partagez rien de privé." in html


def test_the_chat_page_stays_english_by_default(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en"' in html and "New conversation" in html
    assert "Don't share anything private." in html or "Don&#39;t share anything private." in html


@pytest.mark.settings(DATA_NOTICE="Our own notice, as written.")
def test_an_admins_own_data_notice_is_shown_as_written(client):
    assert "Our own notice, as written." in client.get("/", headers=FRENCH).get_data(as_text=True)


@pytest.mark.settings(AUTH_MODE="invite")
def test_the_sign_in_page_is_in_french(client):
    html = client.get("/", headers=FRENCH).get_data(as_text=True)
    assert '<html lang="fr"' in html
    assert "Connectez-vous pour évaluer" in html
    assert "réservé aux évaluateurs invités" in html
    assert "<code>flask raters invite NAME</code>" in html  # markup kept, not escaped


def test_a_refused_sign_in_link_is_explained_in_french(client):
    response = client.get("/signin/not-a-real-token", headers=FRENCH)
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and '<html lang="fr"' in html
    assert "Ce lien de connexion n’est pas valide." in html
    assert "This sign-in link is not valid." in client.get("/signin/not-a-real-token").text


def test_the_admin_pages_are_in_french(app):
    admin = admin_client(app)
    pages = {
        "/admin": ("Classement", "votes sur 0 tours en paire", "Biais de position et longueur"),
        "/admin/raters": ("Évaluateurs", "s pour voter", "Signalements"),
        "/admin/export": ("Exporter les votes", "Jusqu’à (exclu)", "Télécharger"),
    }
    for path, words in pages.items():
        html = admin.get(path, headers=FRENCH).get_data(as_text=True)
        assert '<html lang="fr"' in html and "Connecté en tant que <strong>" in html, path
        for word in words:
            assert word in html, (path, word)


def test_the_campaigns_admin_page_is_in_french(campaign_app):
    admin = admin_client(campaign_app)
    empty = admin.get("/admin/campaigns", headers=FRENCH).get_data(as_text=True)
    assert "Aucune campagne pour l’instant" in empty and "No campaign yet" not in empty
    make_campaign(campaign_app, "sorting", items=2, overlap=2)
    html = admin.get("/admin/campaigns?rounds=200", headers=FRENCH).get_data(as_text=True)
    assert '<html lang="fr"' in html and "Connecté en tant que <strong>" in html
    for words in (
        "<title>Campagnes",
        "1 campagnes\u00a0: des jeux de prompts",
        "l’alpha de Krippendorff",
        "Recouvrement",
        "Alpha (IC à 95\u00a0%)",
        "0 sur 2 (0%)",
        "— (aucun élément avec deux votes)",
        "politique d’appariement",
        ">majorité</a>",
        "sorting\u00a0: évaluateurs",
        "Personne n’a encore voté ni passé d’élément.",
    ):
        assert words in html, words
    for english in ("Campaigns", "Overlap", "pairing policy", "majority<", "Nobody has voted"):
        assert english not in html, english


# --------------------------------------------------------------------------- the catalogs
def _js_catalogs() -> dict[str, dict[str, str]]:
    """Each `const xx = { "id": "text", ... };` of strings.js, read as the JS engine would."""
    source = STRINGS_JS.read_text(encoding="utf-8")
    catalogs = {}
    for lang, body in re.findall(r"^const (\w\w) = \{\n(.*?)^\};", source, re.M | re.S):
        entries = re.findall(r'^\s*"([^"]+)":\s*"((?:[^"\\]|\\.)*)",?\s*$', body, re.M)
        lines = [ln for ln in body.splitlines() if ln.strip() and not ln.strip().startswith("//")]
        assert len(entries) == len(lines), f"{lang}: a line of strings.js is not read as an entry"
        ids = [key for key, _ in entries]
        assert len(ids) == len(set(ids)), f"{lang}: an id appears twice"
        catalogs[lang] = dict(entries)
    exported = re.search(r"export const catalogs = \{ ([\w, ]+) \};", source)
    assert exported and set(exported.group(1).split(", ")) == set(catalogs)
    return catalogs


def _placeholders(text: str, pattern: str) -> list[str]:
    return sorted(re.findall(pattern, text))


def test_every_page_string_id_is_in_every_language_with_the_same_placeholders():
    catalogs = _js_catalogs()
    assert set(catalogs) == {"en", "fr"}
    english = catalogs["en"]
    assert len(english) > 100
    for lang, catalog in catalogs.items():
        assert set(catalog) == set(english), (lang, set(english) ^ set(catalog))
        for key, text in catalog.items():
            assert text.strip(), (lang, key)
            assert _placeholders(text, r"\{\w+\}") == _placeholders(english[key], r"\{\w+\}"), (
                lang,
                key,
            )
    untranslated = [k for k in english if catalogs["fr"][k] == english[k] and " " in english[k]]
    assert not untranslated, untranslated


def _french_po():
    with (CATALOGS / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po)


def test_every_server_message_has_a_french_translation_with_the_same_placeholders():
    catalog = _french_po()
    messages = [m for m in catalog if m.id]
    assert len(messages) > 150
    for message in messages:
        assert message.string, f"untranslated: {message.id!r}"
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
        pattern = r"%\(\w+\)s|%%"
        assert _placeholders(message.string, pattern) == _placeholders(message.id, pattern), (
            message.id
        )


def test_the_committed_mo_file_is_the_compiled_po_file():
    with (CATALOGS / "fr" / "LC_MESSAGES" / "messages.mo").open("rb") as mo:
        compiled = {m.id: m.string for m in read_mo(mo) if m.id}
    written = {m.id: m.string for m in _french_po() if m.id}
    assert compiled == written, "run scripts/translations"


def test_the_catalog_holds_every_string_the_code_marks(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            *("-k", "_l", "-k", "lazy_gettext", "-o", str(template), "app"),
        ],
        cwd=ROOT,
        check=True,
    )
    with template.open("rb") as pot:
        marked = {m.id for m in read_po(pot) if m.id}
    translated = {m.id for m in _french_po() if m.id}
    assert marked - translated == set(), "new strings: run scripts/translations and translate"
    assert translated - marked == set(), "strings no longer used: run scripts/translations"


# --------------------------------------------------------------------------- the setting
def test_LANGUAGES_takes_only_languages_duet_ships(monkeypatch):
    monkeypatch.setenv("LANGUAGES", "fr, EN, fr")
    assert config._languages() == ["fr", "en"]
    monkeypatch.setenv("LANGUAGES", "en,de")
    with pytest.raises(config.ConfigError, match="LANGUAGES lists de"):
        config._languages()
    monkeypatch.delenv("LANGUAGES")
    assert config._languages() == ["en", "fr"]
