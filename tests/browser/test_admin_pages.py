"""The admin pages in Chromium: what an admin sees, under the page's CSP, and the screenshots
in docs/ (tests/artifacts/admin-*.png; copy them to docs/ when the pages change)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import CSP_WATCH, DESKTOP, LOCALE
from tests.stored_votes import _close_connections  # noqa: F401
from tests.synthetic_raters import add_arena, add_crowd

pytestmark = pytest.mark.browser


@pytest.fixture
def arena(app):
    with app.app_context():
        crowd = add_crowd()
        add_arena([crowd["honest-1"], crowd["honest-2"]], 400, seed=3)


def test_an_admin_sees_the_leaderboard_and_the_raters(browser, stack, runner, arena, artifacts):
    result = runner.invoke(args=["raters", "invite", "boss", "--admin"])
    assert result.exit_code == 0, result.output
    link = urlsplit(result.stdout.strip().splitlines()[-1]).path
    context = browser.new_context(viewport={**DESKTOP, "height": 1400}, locale=LOCALE)
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    try:
        page.goto(stack.url + link)  # signs in, then the chat
        page.goto(stack.url + "/admin?rounds=200")
        assert page.locator("h2#board-title").inner_text() == "Leaderboard"
        rows = page.locator("table.leaderboard tbody tr")
        assert rows.count() == 3
        # gamma tops the plain ratings by length alone; held equal, alpha is ahead of it.
        ranked = [rows.nth(i).locator("th").inner_text() for i in range(3)]
        assert ranked[0] == "gamma"
        controlled = {
            name: int(rows.nth(i).locator("td").nth(3).inner_text().split()[0])
            for i, name in enumerate(ranked)
        }
        assert controlled["alpha"] > controlled["gamma"]
        assert page.locator("svg.bars rect.ci.controlled").count() == 3
        assert "left out" in page.locator("#reroll-note").inner_text()
        assert page.evaluate("() => window.__cspViolations") == []
        page.screenshot(path=str(artifacts / "admin-leaderboard.png"), full_page=True)

        page.goto(stack.url + "/admin/raters")
        flagged = page.locator("tr.flagged th")
        assert sorted(flagged.all_inner_texts()) == ["always-a", "speedy", "tie-lover"]
        assert page.evaluate("() => window.__cspViolations") == []
        page.screenshot(path=str(artifacts / "admin-raters.png"), full_page=True)
    finally:
        context.close()
