"""Duet's configuration: the one module that reads the environment."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import orjson

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("DUET_INSTANCE_PATH", BASE_DIR / "instance"))

# The two llama.cpp servers of Procfile.dev: one model process per slot, because a
# llama.cpp server interrupts a running stream when a second request arrives.
DEFAULT_MODEL_ENDPOINTS = [
    {
        "name": "gemma3-270m-t0.7",
        "base_url": "http://127.0.0.1:8091/v1",
        "model": "gemma-3-270m",
        "params": {"temperature": 0.7, "max_tokens": 256},
    },
    {
        "name": "gemma3-270m-t1.2",
        "base_url": "http://127.0.0.1:8092/v1",
        "model": "gemma-3-270m",
        "params": {"temperature": 1.2, "max_tokens": 256},
    },
]


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def _float(name: str, default: float, low: float | None = None, high: float | None = None) -> float:
    raw = _env(name)
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _int(name: str, default: int, low: int = 1) -> int:
    raw = _env(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < low:
        raise ConfigError(f"{name} must be at least {low}, got {value}")
    return value


def _json_object(name: str, default: dict) -> dict:
    raw = _env(name)
    if raw is None:
        return dict(default)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a JSON object")
    return value


def _url(name: str, default: str | None = None) -> str | None:
    """An http(s) URL setting, without a trailing slash."""
    raw = _env(name, default)
    if raw is None:
        return None
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must start with http:// or https://, got {raw!r}")
    return raw.rstrip("/")


def _words(name: str) -> list[str]:
    """A comma-separated list setting, each item stripped and lower-cased."""
    return [w.strip().lower() for w in (_env(name, "") or "").split(",") if w.strip()]


def _tags(name: str, default: list[str]) -> list[str]:
    """A JSON list of distinct, non-empty strings of at most 40 characters."""
    raw = _env(name)
    if raw is None:
        return list(default)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(value, list) or not all(
        isinstance(t, str) and t.strip() and len(t) <= 40 for t in value
    ):
        raise ConfigError(f"{name} must be a JSON list of strings of 1 to 40 characters")
    if len(set(value)) != len(value):
        raise ConfigError(f"{name} lists a tag twice")
    return value


def _data_notice(default: str) -> str:
    """DATA_NOTICE: the text, or "" when set to `off`."""
    value = _env("DATA_NOTICE", default) or ""
    return "" if value.lower() == "off" else value


# The languages Duet has catalogs for (app/translations, app/static/js/strings.js).
SHIPPED_LANGUAGES = ("en", "fr")


def _languages() -> list[str]:
    """LANGUAGES: the comma-separated languages to offer, each one Duet ships; English first
    is the fallback either way."""
    chosen = _words("LANGUAGES") or list(SHIPPED_LANGUAGES)
    unknown = [code for code in chosen if code not in SHIPPED_LANGUAGES]
    if unknown:
        raise ConfigError(
            f"LANGUAGES lists {', '.join(unknown)}; Duet ships {', '.join(SHIPPED_LANGUAGES)}"
        )
    return list(dict.fromkeys(chosen))


def database_url() -> str:
    """DATABASE_URL, or a SQLite file in the instance folder, ready for SQLAlchemy."""
    return normalise_database_url(
        _env("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'duet.sqlite3'}"
    )


def normalise_database_url(url: str) -> str:
    """Rewrite Heroku's `postgres://` (and plain `postgresql://`) for psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def model_endpoints() -> list[dict]:
    """MODEL_ENDPOINTS parsed and checked, or the bundled local models."""
    raw = _env("MODEL_ENDPOINTS")
    if raw is None:
        return [dict(e) for e in DEFAULT_MODEL_ENDPOINTS]
    try:
        endpoints = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"MODEL_ENDPOINTS is not valid JSON: {exc}") from None
    if not isinstance(endpoints, list) or not endpoints:
        raise ConfigError("MODEL_ENDPOINTS must be a non-empty JSON list of endpoints")
    names = set()
    for i, e in enumerate(endpoints):
        where = f"MODEL_ENDPOINTS[{i}]"
        if not isinstance(e, dict):
            raise ConfigError(f"{where} must be an object")
        for key in ("name", "base_url", "model"):
            if not isinstance(e.get(key), str) or not e[key].strip():
                raise ConfigError(f"{where} needs a non-empty string {key!r}")
        if not e["base_url"].startswith(("http://", "https://")):
            raise ConfigError(f"{where}.base_url must start with http:// or https://")
        if e["name"] in names:
            raise ConfigError(f"{where}.name {e['name']!r} is used twice")
        names.add(e["name"])
        if not isinstance(e.get("params", {}), dict):
            raise ConfigError(f"{where}.params must be an object")
        if e.get("api_key") is not None and not isinstance(e["api_key"], str):
            raise ConfigError(f"{where}.api_key must be a string")
    check_pairing_policy(endpoints)
    return endpoints


def check_pairing_policy(endpoints: list[dict]) -> None:
    """Each endpoint's `weight` is a number > 0, and its `opponents` name other configured
    endpoints that accept it back (app/chat/pairing.py reads both)."""
    by_name = {e["name"]: e for e in endpoints}
    for i, e in enumerate(endpoints):
        where = f"MODEL_ENDPOINTS[{i}]"
        weight = e.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ConfigError(f"{where}.weight must be a number, got {weight!r}")
        if not (0 < weight < float("inf")):
            raise ConfigError(f"{where}.weight must be greater than 0, got {weight}")
        opponents = e.get("opponents")
        if opponents is None:
            continue
        if not isinstance(opponents, list) or not opponents:
            raise ConfigError(
                f"{where}.opponents must be a non-empty list of endpoint names "
                "(leave it out to pair this endpoint with any other)"
            )
        for name in opponents:
            other = by_name.get(name) if isinstance(name, str) else None
            if other is None:
                known = ", ".join(repr(n) for n in by_name)
                raise ConfigError(f"{where}.opponents names {name!r}; the endpoints are {known}")
            if other is e:
                raise ConfigError(f"{where}.opponents names the endpoint itself")
            if other.get("opponents") is not None and e["name"] not in other["opponents"]:
                raise ConfigError(
                    f"{where}.opponents names {name!r}, whose own opponents leave "
                    f"{e['name']!r} out: they could never be paired"
                )


def _dev_secret_key(instance: Path) -> str:
    """A random key kept in the instance folder, so every local process signs alike."""
    path = instance / "dev-secret-key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        instance.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        try:
            with open(path, "x") as f:
                f.write(key)
        except FileExistsError:  # another process won the race
            return path.read_text().strip()
        return key


class Config:
    """Settings for a running Duet, read from the environment once at start-up."""

    DUET_ENV = _env("DUET_ENV", "development")
    TESTING = False
    INSTANCE_PATH = INSTANCE_DIR
    MIGRATIONS_DIR = BASE_DIR / "migrations"

    SECRET_KEY = _env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = database_url()
    # orjson reads JSON columns (a turn's context, sampling params) several times faster,
    # which is most of what an export of many votes spends.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "json_deserializer": orjson.loads}
    REDIS_URL = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
    PREFERENCE_SAMPLE_RATE = _float("PREFERENCE_SAMPLE_RATE", 0.1, 0.0, 1.0)
    # What the page tells every new browser once about the use of what it sends; "off" shows
    # nothing (for a deployment whose raters agreed to it elsewhere).
    DATA_NOTICE = _data_notice(
        "Votes, ratings, edits and conversations are stored and used as training data for "
        "language models. Don't share anything private."
    )
    # The languages of the page and of the API's error messages, picked per request from
    # Accept-Language; English when none of them fits.
    LANGUAGES = _languages()

    # Limits on what a user can send.
    MAX_MESSAGE_CHARS = _int("MAX_MESSAGE_CHARS", 16_000)
    MAX_SYSTEM_PROMPT_CHARS = _int("MAX_SYSTEM_PROMPT_CHARS", 8_000)
    MAX_REASON_CHARS = _int("MAX_REASON_CHARS", 2_000)
    # The tags a vote or a thumbs rating may carry, offered by the page as buttons.
    REASON_TAGS = _tags(
        "REASON_TAGS", ["accurate", "helpful", "clear", "concise", "safe", "well formatted"]
    )
    # A vote's reason and tags stay editable this long after it was cast (choose, then say why).
    FEEDBACK_EDIT_SECONDS = _int("FEEDBACK_EDIT_SECONDS", 900, low=0)
    # A campaign item handed to a rater who has not voted on it (nor skipped it) this many
    # seconds later goes back to the pool; a vote after that counts only if a place is free.
    CAMPAIGN_ASSIGNMENT_TIMEOUT = _int("CAMPAIGN_ASSIGNMENT_TIMEOUT", 1800)
    # Longest corrected answer (POST /api/responses/<rid>/edit).
    MAX_EDIT_CHARS = _int("MAX_EDIT_CHARS", 32_000)
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 256 * 1024)
    MAX_TURNS_PER_CONVERSATION = _int("MAX_TURNS_PER_CONVERSATION", 200)
    # Context sent to the model, in characters: the oldest exchanges are dropped beyond it.
    MAX_CONTEXT_CHARS = _int("MAX_CONTEXT_CHARS", 32_000)

    # Generation: what is asked of the model and how long it may take.
    MAX_TOKENS = _int("MAX_TOKENS", 1024)
    GENERATION_CONNECT_TIMEOUT = _float("GENERATION_CONNECT_TIMEOUT", 5.0, 0.1)
    GENERATION_READ_TIMEOUT = _float("GENERATION_READ_TIMEOUT", 60.0, 0.1)
    GENERATION_TOTAL_TIMEOUT = _float("GENERATION_TOTAL_TIMEOUT", 600.0, 1.0)
    # A slot whose task no worker has started within this time ends in `error`.
    GENERATION_QUEUE_TIMEOUT = _float("GENERATION_QUEUE_TIMEOUT", 300.0, 1.0)
    # A running slot holds a lease its worker renews; a lapsed lease means the worker died.
    SLOT_LEASE_SECONDS = _float("SLOT_LEASE_SECONDS", 6.0, 1.0)
    # How often a slot whose worker died is restarted before it ends in `error`, and how
    # long a restart may wait for a worker.
    SLOT_RESTARTS = _int("SLOT_RESTARTS", 1, low=0)
    SLOT_RESTART_WAIT = _float("SLOT_RESTART_WAIT", 12.0, 1.0)
    # How often each worker process looks for such slots when no socket is watching them.
    SLOT_SWEEP_INTERVAL = _float("SLOT_SWEEP_INTERVAL", 10.0, 0.5)
    # How long a running generation rides out an unreachable Redis (a restart, say),
    # retrying its writes, before it fails.
    REDIS_OUTAGE_GRACE = _float("REDIS_OUTAGE_GRACE", 30.0, 0.0)
    # Second sampling setting of a pair when only one endpoint is configured.
    ALTERNATE_PARAMS = _json_object("ALTERNATE_PARAMS", {"temperature": 1.2})

    # Redis buffers of streamed events, replayed to late or reconnecting sockets.
    STREAM_TTL = _int("STREAM_TTL", 24 * 3600)
    # A worker process writes the tokens of all its slots to Redis in rounds, starting one at
    # most this often: after a quiet moment a token goes at once; under load a round carries
    # the tokens of that time for one round trip. 0 starts a round as soon as one ends.
    STREAM_PUBLISH_INTERVAL_MS = _float("STREAM_PUBLISH_INTERVAL_MS", 1.0, 0.0, 100.0)

    # Rate limits (flask-limiter syntax, ";" between limits), kept in Redis. Generous for a
    # person, tight enough to stop a script.
    RATELIMIT_ENABLED = (_env("RATELIMIT_ENABLED") or "true").lower() not in ("0", "false", "no")
    RATELIMIT_STORAGE_URI = REDIS_URL
    RATELIMIT_KEY_PREFIX = "duet:ratelimit"
    # No X-RateLimit-* headers: Flask-Limiter reads the window back from Redis for every
    # answer to fill them (two round trips per API call); app/web/security.py sets Retry-After
    # on a 429, the one header the contract promises.
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_SWALLOW_ERRORS = True  # Redis down: the request fails on its own, with a 503
    RATELIMIT_API = _env("RATELIMIT_API", "120/minute;3000/hour")
    RATELIMIT_TURNS = _env("RATELIMIT_TURNS", "20/minute;300/hour")
    RATELIMIT_PER_IP = _env("RATELIMIT_PER_IP", "600/minute")
    # Messages and re-rolls per address, whatever the cookie: a script cannot buy more by
    # starting fresh sessions. Ten people's worth of RATELIMIT_TURNS, so that a team of
    # raters behind one NAT is not held back; raise it for a bigger team.
    RATELIMIT_TURNS_PER_IP = _env("RATELIMIT_TURNS_PER_IP", "200/minute;3000/hour")
    # Generations running at once (a pair is two, queued ones count), per client and per
    # address: slow answers cannot pile up on the model endpoint. Per address generously,
    # for the same team behind one NAT. 0: no cap. Both apply while RATELIMIT_ENABLED.
    GENERATIONS_PER_CLIENT = _int("GENERATIONS_PER_CLIENT", 6, low=0)
    GENERATIONS_PER_ADDRESS = _int("GENERATIONS_PER_ADDRESS", 40, low=0)
    # The limits and caps per address are for anonymous clients: a signed-in named rater
    # (invite, OpenID Connect) is limited as a rater only, so a team behind one NAT is not
    # starved. True: named raters count against their address as well (for a sign-in that
    # anyone can pass, where a script could make accounts as freely as cookies).
    LIMIT_NAMED_BY_ADDRESS = (_env("LIMIT_NAMED_BY_ADDRESS") or "").lower() in ("1", "true", "yes")
    # Origins besides the server's own allowed to post and open sockets (comma-separated).
    ALLOWED_ORIGINS = [o.strip() for o in (_env("ALLOWED_ORIGINS", "") or "").split(",") if o]
    # How many proxies in front set X-Forwarded-For/-Proto/-Host (1 on Heroku).
    PROXY_FIX_X_FOR = _int("PROXY_FIX_X_FOR", 0, low=0)

    # Who may use Duet: `anonymous` (anyone, a rater per browser), `invite` (named raters
    # signed in by one-time links) or `oidc` (named raters signed in through OpenID Connect).
    # The same values as app/vocabulary.py's AUTH_MODES, which this module cannot import.
    AUTH_MODE = (_env("AUTH_MODE", "anonymous") or "").lower()
    # The base of the links `flask raters invite` prints.
    PUBLIC_URL = _url("PUBLIC_URL", f"http://127.0.0.1:{_int('PORT', 5000)}")
    # The OpenID Connect provider (discovery at $OIDC_ISSUER/.well-known/openid-configuration);
    # required when AUTH_MODE=oidc.
    OIDC_ISSUER = _url("OIDC_ISSUER")
    OIDC_CLIENT_ID = _env("OIDC_CLIENT_ID")
    OIDC_CLIENT_SECRET = _env("OIDC_CLIENT_SECRET")
    # E-mails (as the provider reports them, compared without case) that get the admin role.
    OIDC_ADMIN_EMAILS = _words("OIDC_ADMIN_EMAILS")

    # A socket is pinged every 25 s (and closed when a pong does not come back by the next
    # ping). The protocol has no client messages: one over 4 KB closes the socket with 1009,
    # and app/web/socket_server.py keeps none and closes a client that sends many.
    SOCK_SERVER_OPTIONS = {"ping_interval": 25, "max_message_size": 4096}
    # Open websockets at once per client (rater) and per address, across all web processes.
    # A person mid-pair holds one; a team behind one NAT shares the address's cap.
    WS_MAX_PER_CLIENT = _int("WS_MAX_PER_CLIENT", 16)
    WS_MAX_PER_ADDRESS = _int("WS_MAX_PER_ADDRESS", 256)
    # Websocket opens (each replays the turn from the start) per client and per address:
    # past them the upgrade is refused with HTTP 429, as an API call would be.
    RATELIMIT_WS = _env("RATELIMIT_WS", "60/minute;1000/hour")
    RATELIMIT_WS_PER_IP = _env("RATELIMIT_WS_PER_IP", "600/minute")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # True in production, set by finalise()
    PERMANENT_SESSION_LIFETIME = 365 * 24 * 3600

    # Rater quality (flask preferences raters, /admin/raters): a vote cast sooner after both
    # answers began to show than their words at this pace is too fast to have read them
    # (a careful reader manages 4-5 words a second: 15 is skimming at three times that).
    READING_FLOOR_WORDS_PER_SECOND = _float("READING_FLOOR_WORDS_PER_SECOND", 15.0, 0.1)
    # A rater is flagged only with at least this many votes (or shared items), and: too_fast
    # when this share of their votes beat the reading floor; always_tie when this share are
    # tie or both-bad; low_agreement when agreeing with others on shared items less often.
    RATER_FLAG_MIN_VOTES = _int("RATER_FLAG_MIN_VOTES", 20)
    RATER_FLAG_FAST_SHARE = _float("RATER_FLAG_FAST_SHARE", 0.3, 0.0, 1.0)
    RATER_FLAG_TIE_SHARE = _float("RATER_FLAG_TIE_SHARE", 0.6, 0.0, 1.0)
    RATER_FLAG_MIN_AGREEMENT = _float("RATER_FLAG_MIN_AGREEMENT", 0.5, 0.0, 1.0)

    LOG_LEVEL = _env("LOG_LEVEL", "INFO")

    CELERY = {
        "broker_url": REDIS_URL,
        "result_backend": None,
        # One backend object for all threads instead of one per thread: Celery 5.6 scans
        # every installed package's entry points to build one (~25 ms), which each new
        # thread of the worker's pool and of gunicorn paid on its first task
        # (celery/celery#9527). The disabled backend keeps nothing, so sharing it is safe.
        "result_backend_thread_safe": True,
        "task_ignore_result": True,
        "task_acks_late": True,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,  # keep Duet's key=value log lines
        "broker_connection_retry_on_startup": True,
        # After a broker reconnect Celery lowers the prefetch count and raises it back as
        # tasks finish, up to what the gevent pool misreports as its size (the greenlets
        # running): the worker stayed at one generation at a time. This consumer measures
        # against the concurrency (worker/consumer.py; a name, so `app` imports no worker).
        "worker_consumer": "worker.consumer:Consumer",
        # Longer than the longest generation, so a running task is never delivered twice.
        "broker_transport_options": {"visibility_timeout": int(GENERATION_TOTAL_TIMEOUT) + 600},
    }

    @classmethod
    def finalise(cls, settings: dict) -> None:
        """Check and complete settings that depend on each other; refuse bad production set-ups."""
        if not settings.get("SECRET_KEY"):
            if settings.get("DUET_ENV") == "production":
                raise ConfigError(
                    "SECRET_KEY is not set. In production Duet refuses to start without it: "
                    'set SECRET_KEY to a long random string (python -c "import secrets; '
                    'print(secrets.token_hex(32))").'
                )
            settings["SECRET_KEY"] = _dev_secret_key(Path(settings["INSTANCE_PATH"]))
        if settings.get("DUET_ENV") == "production":
            settings["SESSION_COOKIE_SECURE"] = True  # production is served over HTTPS
        Path(settings["INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)
        check_auth(settings)
        if "MODEL_ENDPOINTS" not in settings:
            settings["MODEL_ENDPOINTS"] = model_endpoints()
        else:  # given directly (tests, an embedding app): the policy is checked all the same
            check_pairing_policy(settings["MODEL_ENDPOINTS"])


AUTH_MODES = ("anonymous", "invite", "oidc")
OIDC_SETTINGS = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET")


def check_auth(settings: dict) -> None:
    """AUTH_MODE is known, and `oidc` comes with its provider's settings."""
    mode = settings.setdefault("AUTH_MODE", "anonymous")  # settings built without Config
    if mode not in AUTH_MODES:
        raise ConfigError(f"AUTH_MODE must be one of {', '.join(AUTH_MODES)}; got {mode!r}")
    if mode == "oidc":
        missing = [name for name in OIDC_SETTINGS if not settings.get(name)]
        if missing:
            raise ConfigError(
                f"AUTH_MODE=oidc needs {', '.join(missing)}: the provider's issuer URL (its "
                "discovery document is at $OIDC_ISSUER/.well-known/openid-configuration) "
                "and the client id and secret it issued for Duet."
            )
