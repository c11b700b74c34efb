"""The OpenID Connect journey in Chromium: Duet in AUTH_MODE=oidc (gunicorn and a Celery
worker) and a real provider (panva's oidc-provider, tests/oidc) on another loopback address,
so another site to the browser, as a real provider is.

Open Duet -> its sign-in link -> the provider's sign-in page -> its consent page -> back to
Duet, signed in as the provider's account; a conversation works; signing out ends it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import CSP_WATCH, DESKTOP, LOCALE, Duet
from tests.conftest import STACK_REDIS_URL, Stack, stack_env
from tests.oidc import PASSWORD, Provider
from tests.stack import start_web, start_worker

pytestmark = pytest.mark.browser

_base, _db = STACK_REDIS_URL.rsplit("/", 1)
OIDC_REDIS_URL = f"{_base}/{int(_db) - 8}"
CLIENT = {"client_id": "duet-browser", "client_secret": "duet-browser-secret"}


@pytest.fixture(scope="module")
def oidc_site(own_database, endpoints, run_dir: Path) -> Iterator[tuple[Stack, Provider]]:
    """Duet in `oidc` mode and the provider with Duet's redirect URI registered. The provider's
    address is chosen first, for Duet's settings; it starts once Duet's address is known."""
    logs = run_dir / "logs"
    logs.mkdir(exist_ok=True)
    provider = Provider()
    env = stack_env(
        own_database("oidc"),
        endpoints,
        run_dir,
        REDIS_URL=OIDC_REDIS_URL,
        AUTH_MODE="oidc",
        OIDC_ISSUER=provider.issuer,
        OIDC_CLIENT_ID=CLIENT["client_id"],
        OIDC_CLIENT_SECRET=CLIENT["client_secret"],
        OIDC_ADMIN_EMAILS="grace@example.test",
    )
    worker = start_worker(env, logs, name="worker-oidc", concurrency=4)
    try:
        web, url = start_web(env, logs, workers=1, threads=8)
    except BaseException:
        worker.stop()
        raise
    try:
        provider.start([{**CLIENT, "redirect_uris": [f"{url}/auth/callback"]}], logs)
        yield Stack(url, env, {"web": web, "worker": worker}, run_dir), provider
    finally:
        provider.stop()
        web.stop()
        worker.stop()


@pytest.fixture
def tab(browser, oidc_site) -> Iterator[Duet]:
    """A fresh browser on Duet; no script errors, dialogs or CSP violations on Duet's pages."""
    stack, _provider = oidc_site
    context = browser.new_context(viewport=DESKTOP, locale=LOCALE)
    context.set_default_timeout(15_000)
    context.add_init_script(CSP_WATCH)
    duet = Duet(context.new_page(), stack.url)
    yield duet
    problems = [f"page error: {e}" for e in duet.errors] + [f"dialog: {d}" for d in duet.dialogs]
    if not duet.page.is_closed() and duet.page.url.startswith(stack.url):
        problems += [f"CSP violation: {v}" for v in duet.csp_violations()]
    context.close()
    assert not problems, problems


def me(duet: Duet) -> dict:
    response = duet.page.request.get(f"{duet.url}/api/me")
    assert response.status == 200, response.text()
    return response.json()


def test_a_rater_signs_in_through_the_provider_chats_and_signs_out(tab, oidc_site, expected):
    stack, provider = oidc_site
    page = tab.page
    # Not signed in: the page says how, and the API refuses.
    page.goto(stack.url + "/")
    sign_in = page.get_by_role("link", name="Sign in")
    assert sign_in.get_attribute("href") == "/auth/login"
    assert me(tab) == {"auth_mode": "oidc", "rater": None}
    assert page.request.get(f"{stack.url}/api/conversations").status == 401

    # The provider's own pages, on its own site.
    sign_in.click()
    page.wait_for_url(f"{provider.issuer}/interaction/**")
    page.fill('input[name="login"]', "grace")
    page.fill('input[name="password"]', PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{provider.issuer}/interaction/**")
    page.get_by_role("button", name="Continue").click()  # consent: profile and e-mail

    # Back on Duet, signed in, in the chat.
    page.wait_for_url(stack.url + "/")
    page.wait_for_function("() => window.duet && window.duet.ready")
    signed_in = me(tab)["rater"]
    assert signed_in["name"] == "Grace Hopper" and signed_in["role"] == "admin"

    tab.new_conversation()
    tid = tab.send("Hello from a signed-in rater")
    assert tab.wait_finished(tid, "a") == {"a": "done"}
    answer = tab.raw(tid, "a")
    assert answer == expected("Hello from a signed-in rater", answer)
    assert [t["id"] for t in tab.api_conversation()["turns"]] == [tid]

    # Signing out ends the session: the API refuses again and the page offers sign-in.
    status = page.evaluate("async () => (await fetch('/api/signout', {method: 'POST'})).status")
    assert status == 204
    assert me(tab)["rater"] is None
    assert page.request.get(f"{stack.url}/api/conversations").status == 401
    page.goto(stack.url + "/")
    assert page.get_by_role("link", name="Sign in").is_visible()


def test_a_refused_sign_in_shows_a_page_and_signs_nobody_in(tab, oidc_site):
    """The person declines at the provider: Duet's callback gets `error=access_denied`."""
    stack, provider = oidc_site
    page = tab.page
    page.goto(stack.url + "/auth/login")
    page.wait_for_url(f"{provider.issuer}/interaction/**")
    page.fill('input[name="login"]', "ada")
    page.fill('input[name="password"]', PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{provider.issuer}/interaction/**")
    with page.expect_response(lambda r: r.url.startswith(stack.url + "/auth/callback")) as back:
        page.get_by_role("link", name="[ Cancel ]").click()
    assert back.value.status == 403
    assert page.get_by_role("heading", name="You are not signed in").is_visible()
    assert "Traceback" not in page.content()
    assert me(tab)["rater"] is None
