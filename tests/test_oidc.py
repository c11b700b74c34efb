"""OpenID Connect sign-in against a real provider (panva's oidc-provider, started here by node):
the code flow with PKCE, `state` and `nonce`, the ID token's checks, and every refused callback
leaving the browser without a session. Duet runs in process (Flask's test client), the
provider as a real server, the person at it scripted (tests/oidc).
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import requests
from sqlalchemy import select

from app.extensions import db
from app.models import Rater
from app.raters.oidc import (
    CODE_REFUSED,
    STATE_UNKNOWN,
    TOKEN_REFUSED,
)
from tests.oidc import sign_in
from tests.oidc.duet import (
    CALLBACK,
    OTHER_CALLBACK,
    begin,
    callback,
    me,
    oidc,
    rater_count,
    refused,
    session_of,
)

# --------------------------------------------------------------------------- the journey


@oidc
def test_login_redirects_to_the_provider_with_pkce_state_and_nonce(app, client, provider):
    url = begin(client)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == provider.issuer
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == "duet"
    assert query["redirect_uri"] == CALLBACK
    assert set(query["scope"].split()) == {"openid", "profile", "email"}
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url of a SHA-256
    assert len(query["state"]) >= 20 and len(query["nonce"]) >= 20
    # The code verifier and the nonce stay on the server; the cookie only names the state.
    held = session_of(app, client)
    assert list(held) == [f"_state_oidc_{query['state']}"]
    assert list(held[f"_state_oidc_{query['state']}"]) == ["exp"]
    assert me(client) is None


@oidc
def test_a_person_signs_in_at_the_provider_and_is_a_rater_of_duet(app, client, provider):
    authorize = begin(client)
    assert any(k.startswith("_state_oidc_") for k in session_of(app, client))
    response = callback(client, sign_in(authorize, "ada", CALLBACK))
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/"
    rater = me(client)
    assert rater["name"] == "Ada Lovelace" and rater["role"] == "rater"
    assert set(session_of(app, client)) == {"rater_id", "_permanent"}  # nothing kept
    with app.app_context():
        stored = db.session.get(Rater, rater["id"])
        assert (stored.kind, stored.oidc_sub, stored.email) == ("oidc", "ada", "ada@example.test")
    # Signed in, the API answers; signed out, it does not.
    assert client.get("/api/conversations").status_code == 200
    assert client.post("/api/signout").status_code == 204
    assert me(client) is None
    assert client.get("/api/conversations").status_code == 401


@oidc
def test_the_subject_is_the_key_from_any_browser(app, provider):
    ids = set()
    for _ in range(2):
        client = app.test_client()
        assert callback(client, sign_in(begin(client), "ada", CALLBACK)).status_code == 303
        ids.add(me(client)["id"])
    assert len(ids) == 1 and rater_count(app) == 1


@oidc
def test_a_verified_email_in_oidc_admin_emails_makes_an_admin(app, provider):
    grace, mallory = app.test_client(), app.test_client()
    assert callback(grace, sign_in(begin(grace), "grace", CALLBACK)).status_code == 303
    assert me(grace)["role"] == "admin"
    # Mallory's provider account claims Grace's e-mail, unverified: no admin, no e-mail.
    assert callback(mallory, sign_in(begin(mallory), "mallory", CALLBACK)).status_code == 303
    assert me(mallory)["role"] == "rater"
    with app.app_context():
        assert db.session.scalar(select(Rater.email).where(Rater.oidc_sub == "mallory")) is None


# --------------------------------------------------------------------------- forged callbacks


@oidc
def test_a_callback_without_or_with_a_wrong_state_signs_nobody_in(app, client, provider):
    back = sign_in(begin(client), "ada", CALLBACK)
    query = parse_qs(urlsplit(back).query)
    code = query["code"][0]
    iss = query["iss"][0]
    refused(
        client.get("/auth/callback", query_string={"code": code, "iss": iss}), says=STATE_UNKNOWN
    )
    forged = {"code": code, "state": "forged-state", "iss": iss}
    refused(client.get("/auth/callback", query_string=forged), says=STATE_UNKNOWN)
    assert me(client) is None and rater_count(app) == 0


@oidc
def test_a_callback_in_another_browser_signs_nobody_in(app, provider):
    """Login CSRF: an attacker's own callback URL, opened in the victim's browser."""
    attacker, victim = app.test_client(), app.test_client()
    back = sign_in(begin(attacker), "ada", CALLBACK)
    refused(callback(victim, back), says=STATE_UNKNOWN)
    assert me(victim) is None
    begin(victim)  # even with a sign-in of its own in progress
    refused(callback(victim, back), says=STATE_UNKNOWN)
    assert me(victim) is None and rater_count(app) == 0


@oidc
def test_a_replayed_callback_signs_nobody_in(app, provider):
    """The same code and state twice, the second time with the cookie as it was before the
    first: the state was used up on the server, so no cookie can bring it back."""
    browser = app.test_client()
    back = sign_in(begin(browser), "ada", CALLBACK)
    cookie = browser.get_cookie("session").value
    assert callback(browser, back).status_code == 303
    replay = app.test_client()
    replay.set_cookie("session", cookie, domain="localhost")
    refused(callback(replay, back), says=STATE_UNKNOWN)
    assert me(replay) is None
    refused(callback(browser, back), says=STATE_UNKNOWN)  # and in the browser that used it


@oidc
def test_a_stolen_code_with_a_fresh_state_signs_nobody_in(app, provider):
    """A code presented with another sign-in's state: the provider refuses it (used once,
    and the PKCE verifier is not the one its challenge was made from)."""
    victim, attacker = app.test_client(), app.test_client()
    stolen = parse_qs(urlsplit(sign_in(begin(victim), "ada", CALLBACK)).query)["code"][0]
    state = parse_qs(urlsplit(begin(attacker)).query)["state"][0]
    query = {"code": stolen, "state": state, "iss": provider.issuer}
    refused(attacker.get("/auth/callback", query_string=query), says=CODE_REFUSED)
    assert me(attacker) is None and rater_count(app) == 0


@oidc
def test_a_code_issued_to_another_client_signs_nobody_in(app, client, provider):
    """The provider issued the code to the other client: Duet's exchange is refused."""
    other_url = begin(client).replace("client_id=duet", "client_id=other")
    other_url = other_url.replace(
        requests.utils.quote(CALLBACK, safe=""), requests.utils.quote(OTHER_CALLBACK, safe="")
    )
    back = sign_in(other_url, "ada", OTHER_CALLBACK)
    query = urlsplit(back).query  # a valid code and Duet's own state, for the other client
    refused(client.get(f"/auth/callback?{query}"), says=CODE_REFUSED)
    assert me(client) is None and rater_count(app) == 0


@oidc
def test_an_id_token_for_another_audience_signs_nobody_in(app, client, provider, monkeypatch):
    """A real ID token the provider issued to the other client, with the nonce of Duet's
    sign-in, handed to Duet as if its token endpoint had answered it: refused."""
    authorize = begin(client)
    duet_query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    verifier = "v" * 64
    other = requests.Request(
        "GET",
        provider.issuer + "/auth",
        params={
            "client_id": "other",
            "redirect_uri": OTHER_CALLBACK,
            "response_type": "code",
            "scope": "openid",
            "nonce": duet_query["nonce"],
            "state": "other-state",
            "code_challenge": _s256(verifier),
            "code_challenge_method": "S256",
        },
    ).prepare()
    code = parse_qs(urlsplit(sign_in(other.url, "ada", OTHER_CALLBACK)).query)["code"][0]
    token = requests.post(
        provider.issuer + "/token",
        data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
              "redirect_uri": OTHER_CALLBACK},
        auth=("other", "other-secret"),
        timeout=10,
    ).json()  # fmt: skip
    assert "id_token" in token, token
    duet_client = app.extensions["duet.oidc"]
    monkeypatch.setattr(duet_client, "fetch_access_token", lambda **_: dict(token))
    query = {"code": "anything", "state": duet_query["state"], "iss": provider.issuer}
    refused(client.get("/auth/callback", query_string=query), says=TOKEN_REFUSED)
    assert me(client) is None and rater_count(app) == 0


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@oidc
def test_an_id_token_with_another_sign_ins_nonce_signs_nobody_in(app, client, provider):
    """The browser went to the provider with a nonce of its own choosing (say, one from an
    ID token it captured): the provider signs it into the token, and Duet refuses it."""
    authorize = begin(client)
    nonce = parse_qs(urlsplit(authorize).query)["nonce"][0]
    changed = authorize.replace(f"nonce={nonce}", "nonce=captured-elsewhere")
    refused(callback(client, sign_in(changed, "ada", CALLBACK)), says=TOKEN_REFUSED)
    assert me(client) is None and rater_count(app) == 0


@oidc
def test_each_state_completes_one_callback_and_stays_on_the_server(app, client, provider, r):
    """The state's data (code verifier, nonce) is in Redis until its callback, which deletes
    it: a replay is refused before Duet asks the provider anything."""
    authorize = begin(client)
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    key = f"duet:oidc:_state_oidc_{state}"
    assert 0 < r.ttl(key) <= 600
    back = sign_in(authorize, "ada", CALLBACK)
    cookie = client.get_cookie("session").value
    assert callback(client, back).status_code == 303
    assert not r.exists(key)
    duet_client = app.extensions["duet.oidc"]
    asked = []
    original = duet_client.fetch_access_token
    duet_client.fetch_access_token = lambda **kw: asked.append(kw) or original(**kw)
    replay = app.test_client()
    replay.set_cookie("session", cookie, domain="localhost")
    refused(callback(replay, back), says=STATE_UNKNOWN)
    assert asked == [] and me(replay) is None


# A key of the test's own stands in for the provider's: ID tokens made here, with one flaw
# each, reach Duet's checks as if the provider's token endpoint had answered them.
