"""OpenID Connect: the ID token's signature, issuer, audience, expiry and nonce, refusals at
the provider, and the routes in other modes and when the provider is away."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from app.raters.oidc import (
    NO_ID_TOKEN,
    OTHER_ISSUER,
    TOKEN_REFUSED,
)
from tests.oidc import Provider, sign_in
from tests.oidc.duet import (
    CALLBACK,
    DUET,
    SETTINGS,
    begin,
    callback,
    logs_in,
    me,
    oidc,
    rater_count,
    refused,
    session_of,
)

KEY = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
STRANGER = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
# A symmetric key in the key set (a provider should publish none): HS256 is still refused.
SHARED = OctKey.generate_key(256, parameters={"kid": "shared"})


def _id_token(claims: dict, key: RSAKey | OctKey = KEY) -> str:
    alg = "HS256" if isinstance(key, OctKey) else "RS256"
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


FLAWS = {
    "none": ({}, KEY),
    # Authlib alone takes this one: a single audience other than us, `azp` ours.
    "audience": ({"aud": ["other"], "azp": "duet"}, KEY),
    "azp": ({"aud": ["duet", "other"], "azp": "other"}, KEY),
    "issuer": ({"iss": "http://evil.test"}, KEY),
    "expired": ({"exp": int(time.time()) - 600, "iat": int(time.time()) - 900}, KEY),
    "issued later": ({"iat": int(time.time()) + 600}, KEY),
    "nonce": ({"nonce": "someone-elses"}, KEY),
    "no nonce": ({"nonce": None}, KEY),
    "signature": ({}, STRANGER),
    "symmetric": ({}, SHARED),
    "no id token": ({}, None),
}


@oidc
@pytest.mark.parametrize("flaw", list(FLAWS))
def test_the_id_tokens_signature_issuer_audience_expiry_and_nonce_are_checked(
    app, client, provider, monkeypatch, flaw
):
    nonce = parse_qs(urlsplit(begin(client)).query)["nonce"][0]
    state = next(iter(session_of(app, client))).removeprefix("_state_oidc_")
    now = int(time.time())
    claims = {"iss": provider.issuer, "sub": "ada", "aud": "duet", "exp": now + 300,
              "iat": now, "nonce": nonce, "name": "Ada", "email": "ada@example.test"}  # fmt: skip
    changes, key = FLAWS[flaw]
    claims = {k: v for k, v in {**claims, **changes}.items() if v is not None}
    duet_client = app.extensions["duet.oidc"]
    jwks = {"keys": [KEY.as_dict(private=False), SHARED.as_dict(private=True)]}
    monkeypatch.setattr(duet_client, "fetch_jwk_set", lambda force=False: jwks)
    # Providers that can sign with the client secret list HS256 too (Keycloak does).
    metadata = duet_client.load_server_metadata()
    monkeypatch.setitem(metadata, "id_token_signing_alg_values_supported", ["RS256", "HS256"])
    answer = {"access_token": "at", "token_type": "Bearer"}
    if key is not None:
        answer["id_token"] = _id_token(claims, key)
    monkeypatch.setattr(duet_client, "fetch_access_token", lambda **_: dict(answer))
    query = {"code": "c", "state": state, "iss": provider.issuer}
    response = client.get("/auth/callback", query_string=query)
    if flaw == "none":
        assert response.status_code == 303, response.text
        assert me(client)["name"] == "Ada"
    else:
        refused(response, says=NO_ID_TOKEN if flaw == "no id token" else TOKEN_REFUSED)
        assert me(client) is None and rater_count(app) == 0


@oidc
def test_authlib_alone_takes_an_id_token_for_another_audience(app, provider, monkeypatch):
    """Why Duet checks `aud` itself: Authlib 1.9's default claims options check only `iss`."""
    now = int(time.time())
    claims = {"iss": provider.issuer, "sub": "ada", "aud": ["other"], "azp": "duet",
              "exp": now + 300, "iat": now, "nonce": "n"}  # fmt: skip
    duet_client = app.extensions["duet.oidc"]
    jwks = {"keys": [KEY.as_dict(private=False)]}
    monkeypatch.setattr(duet_client, "fetch_jwk_set", lambda force=False: jwks)
    with app.test_request_context():
        taken = duet_client.parse_id_token({"id_token": _id_token(claims)}, nonce="n")
    assert taken["aud"] == ["other"]


@oidc
def test_an_answer_naming_another_issuer_signs_nobody_in(app, client, provider):
    back = sign_in(begin(client), "ada", CALLBACK)
    forged = back.replace("iss=", "iss=http%3A%2F%2Fevil.test&was=")
    refused(callback(client, forged), says=OTHER_ISSUER)
    assert me(client) is None
    # This provider says it always sends `iss`: an answer without it is not its.
    back = sign_in(begin(client), "ada", CALLBACK)
    query = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items() if k != "iss"}
    refused(client.get("/auth/callback", query_string=query), says=OTHER_ISSUER)
    assert me(client) is None


@oidc
def test_a_refusal_at_the_provider_signs_nobody_in(app, client, provider):
    state = parse_qs(urlsplit(begin(client)).query)["state"][0]
    refused(client.get(f"/auth/callback?error=access_denied&state={state}"), 403)
    assert me(client) is None


@oidc
def test_a_disabled_rater_cannot_sign_in(app, client, runner, provider):
    assert callback(client, sign_in(begin(client), "ada", CALLBACK)).status_code == 303
    assert runner.invoke(args=["raters", "disable", "Ada Lovelace"]).exit_code == 0
    again = app.test_client()
    refused(callback(again, sign_in(begin(again), "ada", CALLBACK)), 403)
    assert me(again) is None


# --------------------------------------------------------------------------- other modes, outages


def test_the_routes_exist_only_in_oidc_mode(client):
    assert client.get("/auth/login").status_code == 404
    assert client.get("/auth/callback?code=x&state=y").status_code == 404


@pytest.mark.settings(**{**SETTINGS, "OIDC_ISSUER": "http://127.0.0.1:1"})  # nothing listens
def test_a_provider_that_cannot_be_reached_gets_a_clear_page(client):
    started = time.monotonic()
    for path in ("/auth/login", "/auth/callback?code=x&state=y"):
        response = client.get(path)
        refused(response, 503)
        assert "cannot be reached" in response.text
    assert time.monotonic() - started < 10
    assert me(client) is None


SECOND = Provider()  # a provider of its own, stopped halfway through a sign-in


@pytest.mark.settings(**{**SETTINGS, "OIDC_ISSUER": SECOND.issuer})
def test_a_provider_gone_before_the_callback_gets_a_clear_page(app, client, run_dir):
    SECOND.start([DUET], logs_in(run_dir))
    try:
        back = sign_in(begin(client), "ada", CALLBACK)
    finally:
        SECOND.stop()
    response = callback(client, back)
    refused(response, 503)
    assert "cannot be reached" in response.text
    assert me(client) is None and rater_count(app) == 0
