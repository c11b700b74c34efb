"""Signing in through an OpenID Connect provider: Authlib's Flask client, and the checks
Authlib leaves to the application.

Authlib (authorize_redirect / authorize_access_token, 1.9) does: discovery, `state` bound to
the browser's session, PKCE S256 (`code_challenge_method`), a `nonce` when the scope has
`openid`, the code exchange with the client secret, and the ID token's signature against the
provider's JWKS, `iss`, `exp`, `iat`, `azp`, `at_hash` and `nonce`. It does not, by itself:

- check `aud` (its default claims options name `iss` only; a token whose single audience is
  another client passes as long as its `azp` is ours): `aud` must name our client id here;
- insist on an ID token (without one in the token response it verifies nothing and returns
  the token): here no ID token is no sign-in;
- make `state` single use on the server: a copy of the cookie from before the callback
  still holds it. Here the state's data lives in Redis and is read and deleted at once;
- compare the discovery document's `issuer` with OIDC_ISSUER (OpenID Connect Discovery,
  section 4.3), nor the `iss` of the authorization response (RFC 9207, against mix-up);
- limit the ID token's algorithms to asymmetric ones.

The key of a rater is the token's `sub`; `name` and `email` come from the ID token, or from
the UserInfo endpoint when the ID token leaves them out (its `sub` must be the same), and the
e-mail is used only when the provider says it is verified (it decides who is admin).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.base_client import (  # type: ignore[import-untyped]
    MismatchingStateError,
    OAuthError,
)
from authlib.integrations.flask_client import OAuth  # type: ignore[import-untyped]
from authlib.oidc.core import CodeIDToken  # type: ignore[import-untyped]
from flask import current_app, request, session
from flask.sansio.app import App
from flask_babel import gettext as _
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from app.extensions import redis_client
from app.vocabulary import OIDC

log = logging.getLogger(__name__)

NAME = "oidc"  # Authlib's name for the provider (its session keys are `_state_oidc_...`)
SCOPE = "openid profile email"
_EXTENSION = "duet.oidc"
_STATE_PREFIX = "duet:oidc:"
# Seconds a sign-in may take at the provider (typing a password, a second factor).
STATE_SECONDS = 600
# Seconds to wait for the provider (discovery, keys, token, user info) before giving up.
TIMEOUT = 10
# Seconds of clock difference with the provider tolerated on `exp` and `iat`.
LEEWAY = 60


def N_(message: str) -> str:
    """A message marked for the catalogs (Babel extracts N_), translated where it is raised."""
    return message


# What a refused callback says, for people (in English; `_()` at the raise site translates).
STATE_UNKNOWN = N_("This sign-in answer does not belong to this browser or was used already.")
CODE_REFUSED = N_("The sign-in provider refused this sign-in answer.")
TOKEN_REFUSED = N_("The sign-in provider's answer could not be verified.")
NO_ID_TOKEN = N_("The sign-in provider's answer has no ID token.")
OTHER_ISSUER = N_("This sign-in answer comes from another provider.")
_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class SignInRefused(Exception):
    """The sign-in cannot go on; `status` and the message (for people) say why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in."""

    sub: str
    name: str | None
    email: str | None  # None unless the provider says it is verified


class _StateStore:
    """Authlib's cache for the data of each sign-in in progress (code verifier, nonce,
    redirect URI), in Redis. Reading a state's data deletes it in the same transaction, so
    each state completes one callback, however many copies of the cookie there are."""

    def get(self, key: str) -> str | None:
        pipe = redis_client.get().pipeline(transaction=True)
        pipe.get(_STATE_PREFIX + key)
        pipe.delete(_STATE_PREFIX + key)
        value, _deleted = pipe.execute()
        return value

    def set(self, key: str, value: str, expires: int | None = None) -> None:
        redis_client.get().set(_STATE_PREFIX + key, value, ex=expires or STATE_SECONDS)

    def delete(self, key: str) -> None:
        redis_client.get().delete(_STATE_PREFIX + key)


class _IdToken(CodeIDToken):
    """Authlib's ID token claims of the code flow, refusing symmetric or `none` algorithms."""

    def validate(self, now: int | None = None, leeway: int = 0) -> None:
        if self.header.get("alg") not in ALGORITHMS:
            raise JoseError(f"ID token signed with {self.header.get('alg')!r}")
        super().validate(now=now, leeway=leeway)


def init_app(app: App) -> None:
    """Register the provider's client on `app` when AUTH_MODE is `oidc` (nothing is fetched
    from the provider until the first sign-in)."""
    if app.config["AUTH_MODE"] != OIDC:
        return
    oauth = OAuth(app, cache=_StateStore())
    client = oauth.register(
        NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=app.config["OIDC_ISSUER"] + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "default_timeout": TIMEOUT,
        },
    )
    client.framework.expires_in = STATE_SECONDS
    app.extensions[_EXTENSION] = client


def _client() -> Any:
    return current_app.extensions[_EXTENSION]


def _metadata() -> dict[str, Any]:
    """The provider's discovery document (fetched once per process), checked."""
    issuer = current_app.config["OIDC_ISSUER"]
    try:
        metadata = _client().load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        log.warning("OpenID Connect discovery at %s failed: %r", issuer, exc)
        raise SignInRefused(
            503, _("The sign-in provider cannot be reached right now; try again in a moment.")
        ) from exc
    if str(metadata.get("issuer", "")).rstrip("/") != issuer:
        log.error("the provider names issuer %r, OIDC_ISSUER is %r", metadata.get("issuer"), issuer)
        raise SignInRefused(503, _("Sign-in is misconfigured: the provider is not OIDC_ISSUER."))
    missing = [key for key in _ENDPOINTS if key not in metadata]
    if missing:
        raise SignInRefused(
            503, _("The sign-in provider does not publish %(keys)s.", keys=", ".join(missing))
        )
    return metadata


def begin(redirect_uri: str) -> Response:
    """The redirect to the provider's authorization endpoint (code flow, PKCE S256, a fresh
    `state` and `nonce` kept for the callback)."""
    _metadata()
    try:
        return _client().authorize_redirect(redirect_uri)
    except (requests.RequestException, ValueError) as exc:
        raise SignInRefused(503, _("The sign-in provider cannot be reached right now.")) from exc


def finish() -> Identity:
    """The identity the provider's callback vouches for, every check passed; SignInRefused
    otherwise (the state is used up either way)."""
    metadata = _metadata()
    issuer = metadata["issuer"]
    if request.args.get("error"):
        _forget_state()
        raise SignInRefused(403, "The sign-in provider did not sign you in.")
    # RFC 9207: a provider that says it sends `iss` must have sent this one.
    iss_required = metadata.get("authorization_response_iss_parameter_supported") is True
    if request.args.get("iss", None if iss_required else issuer) != issuer:
        _forget_state()
        raise SignInRefused(400, _(OTHER_ISSUER))
    client = _client()
    claims_options = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client.client_id},
        "sub": {"essential": True},
        "nonce": {"essential": True},
    }
    try:
        token = client.authorize_access_token(
            claims_options=claims_options, claims_cls=_IdToken, leeway=LEEWAY
        )
    except MismatchingStateError as exc:  # no state, another browser's, or a used one
        log.warning("OpenID Connect callback with an unknown state")
        raise SignInRefused(400, _(STATE_UNKNOWN)) from exc
    except OAuthError as exc:  # the provider refused the code
        log.warning("OpenID Connect code refused by the provider: %s", exc.error)
        raise SignInRefused(400, _(CODE_REFUSED)) from exc
    except JoseError as exc:  # the ID token: signature, issuer, audience, expiry, nonce...
        log.warning("OpenID Connect ID token refused: %r", exc)
        raise SignInRefused(400, _(TOKEN_REFUSED)) from exc
    except (requests.RequestException, ValueError) as exc:
        log.warning("OpenID Connect token request failed: %r", exc)
        raise SignInRefused(503, _("The sign-in provider cannot be reached right now.")) from exc
    claims = token.get("userinfo")
    if not claims:  # no ID token in the answer: nothing says who signed in
        raise SignInRefused(400, _(NO_ID_TOKEN))
    return _identity(dict(claims))


def _forget_state() -> None:
    """Use up this callback's state (an answer that failed cannot be retried)."""
    state = request.args.get("state")
    if state:
        _client().framework.clear_state_data(session, state)


def _identity(claims: dict[str, Any]) -> Identity:
    """Name and verified e-mail from the ID token, or from UserInfo when it has none."""
    if not (claims.get("name") and claims.get("email")) and _metadata().get("userinfo_endpoint"):
        try:
            info = _client().userinfo()
        except (requests.RequestException, ValueError, OAuthError) as exc:
            log.warning("OpenID Connect user info failed, signing in without it: %r", exc)
            info = {}
        if info.get("sub") == claims["sub"]:  # else it is someone else's (OIDC Core 5.3.2)
            claims = {**info, **claims}
    email = claims.get("email") if claims.get("email_verified") is True else None
    name = claims.get("name") or claims.get("preferred_username")
    return Identity(
        sub=str(claims["sub"]),
        name=str(name) if name else None,
        email=str(email) if email else None,
    )
