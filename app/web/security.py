"""Protection from other sites and from scripts: origins, rate limits, response headers."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter import RouteLimit
from flask_limiter.util import get_remote_address
from redis.exceptions import RedisError
from werkzeug.middleware.proxy_fix import ProxyFix

from app.errors import ApiError
from app.extensions import limiter
from app.raters import current_rater
from app.vocabulary import ANONYMOUS

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Production is served over HTTPS only (config.py marks its cookies Secure): browsers are
# to keep to HTTPS for a year, subdomains included.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    """Trust the configured proxies, check origins, limit rates, and set security headers."""
    hops = app.config["PROXY_FIX_X_FOR"]
    if hops:
        # Flask's documented way to wrap the WSGI app; mypy objects to replacing a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    limiter.init_app(app)
    app.before_request(_check_origin)
    app.after_request(_retry_after)
    app.after_request(_security_headers)


def client_key() -> str:
    """Rate-limit key: the session's rater; the address for a request that has none yet."""
    rater = current_rater()
    return "rater:" + rater.id if rater is not None else ip_key()


def ip_key() -> str:
    """Rate-limit key: the address the request came from."""
    return "ip:" + (get_remote_address() or "")


def limited_per_rater_only() -> bool:
    """Whether this request is limited as its rater's alone, not also as its address's.

    So for a signed-in named rater (invite or OpenID Connect; an admin signed in on an
    anonymous deployment too): the limits per address are for anonymous clients, which cost
    nothing to make, and would starve a team of raters behind one NAT. Not so with
    LIMIT_NAMED_BY_ADDRESS (for a sign-in anyone can pass, where accounts cost nothing either).
    """
    if current_app.config["LIMIT_NAMED_BY_ADDRESS"]:
        return False
    rater = current_rater()
    return rater is not None and rater.kind != ANONYMOUS


def client_limit(setting: str, scope: str) -> RouteLimit:
    """The limit in `setting` per client (rater), one budget across all it decorates.

    Shared, with a scope of its own: flask-limiter counts an unshared limit per endpoint, so
    on a blueprint it would give a client the whole limit again on every route. And it does
    not override the blueprint's limits (flask-limiter's default), which a route's call
    counts against as well."""
    return limiter.shared_limit(
        lambda: current_app.config[setting],
        scope=scope,
        key_func=client_key,
        override_defaults=False,
    )


def address_limit(setting: str, scope: str) -> RouteLimit:
    """The limit in `setting` per address, one budget across all it decorates, for anonymous
    clients only (see `limited_per_rater_only`, and `client_limit` on sharing)."""
    return limiter.shared_limit(
        lambda: current_app.config[setting],
        scope=scope,
        key_func=ip_key,
        exempt_when=limited_per_rater_only,
        override_defaults=False,
    )


def allowed_origin(origin: str) -> bool:
    """Whether a browser `Origin` may act on this server: its own, or a configured one."""
    configured = current_app.config["ALLOWED_ORIGINS"]
    if origin in configured:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:  # not even a URL: certainly not ours
        return False
    return parts.netloc == request.host and parts.scheme in ("http", "https")


def _check_origin() -> None:
    """Refuse state changes and websockets that a browser sent on another site's behalf.

    Requests without `Origin` or `Referer` come from non-browser clients, which cannot ride
    a user's cookie, so they pass.
    """
    is_socket = request.headers.get("Upgrade", "").lower() == "websocket"
    if request.method in ("GET", "HEAD", "OPTIONS") and not is_socket:
        return
    origin = request.headers.get("Origin")
    if origin is None and request.referrer:
        try:
            parts = urlsplit(request.referrer)
            origin = f"{parts.scheme}://{parts.netloc}"
        except ValueError:
            origin = request.referrer
    if origin is not None and not allowed_origin(origin):
        raise ApiError(403, "forbidden_origin", _("Requests from this origin are not allowed."))


def _retry_after(response) -> ResponseReturnValue:
    """On a 429, `Retry-After`: the seconds until the window of the limit that was hit ends.

    Only here is the window read back from Redis; answers within the limits carry no
    rate-limit headers (RATELIMIT_HEADERS_ENABLED is off in config.py).
    """
    if response.status_code != 429 or "Retry-After" in response.headers:
        return response
    if "retry_after" in g:  # refused by a cap, not a limit (app/web/fairness.py)
        response.headers["Retry-After"] = str(g.retry_after)
        return response
    breached = limiter.current_limit
    if breached is None:
        return response
    try:
        seconds = breached.reset_at - time.time()
    except RedisError:  # gone since the hit: the whole window is the safe answer
        seconds = breached.limit.get_expiry()
    response.headers["Retry-After"] = str(max(1, int(seconds)))
    return response


def _security_headers(response) -> ResponseReturnValue:
    """Headers that keep pages and model output from being turned against the user."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config["DUET_ENV"] == "production":
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    if (request.path + "/").startswith("/api/"):
        # Conversations are private, errors momentary: no cache along the way keeps either.
        response.headers["Cache-Control"] = "no-store"
    return response
