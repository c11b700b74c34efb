"""axe-core's WCAG 2.2 AA rules on the chat page, in light and dark mode, at 1280 and 390 px.

The page shows what a rater meets: the data notice, a voted pair (winner, reveal, reason and
tags), a pair waiting for its vote, a failed pair with its retry and skip, and a single
answer with its thumbs form open; and a campaign (its guidelines, progress, the last vote,
the prompt with its system prompt, and a pair waiting for its vote). axe-core comes from npm
(package.json; `make lint` or scripts/eslint installs it); without it the test skips, except
in CI.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.browser.conftest import DESKTOP, MOBILE
from tests.stack import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.timeout(240)]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return {
    passed: result.passes.length,
    violations: result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
    })),
  };
}"""


@pytest.fixture(scope="module")
def axe_script() -> str:
    """The path of axe.min.js, or a skip (a failure in CI) without it."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail("axe-core is missing: run scripts/eslint (npm ci) first", pytrace=False)
        pytest.skip("axe-core is not installed (npm ci)")
    return str(AXE)


def _conversation(new_duet) -> tuple[str, dict]:
    """A conversation with every kind of turn; its id and the browser's cookies."""
    duet = new_duet().open()
    cid = duet.new_conversation()
    voted = duet.send("Which is clearer? #tokens=25", pair=True)
    duet.wait_finished(voted, "ab")
    vote = duet.turn(voted).locator(".vote")
    vote.locator('button[data-choice="a"]').click()
    vote.locator(".vote-result").wait_for()
    vote.locator("button.tag-chip").first.click()
    failed = duet.send("Broken #fail=http500", pair=True)
    duet.wait_finished(failed, "ab")
    single = duet.send("A single answer #tokens=15")
    duet.wait_finished(single)
    waiting = duet.send("Waiting for a vote #tokens=20", pair=True)
    duet.wait_finished(waiting, "ab")
    return cid, duet.page.context.storage_state()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_chat_page_has_no_axe_violations(new_duet, axe_script, scheme):
    cid, cookies = _conversation(new_duet)
    problems = {}
    for name, viewport in (("1280", DESKTOP), ("390", MOBILE)):
        duet = new_duet(
            viewport=viewport, color_scheme=scheme, storage_state=cookies, bypass_csp=True
        ).open(f"/#c={cid}")
        page = duet.page
        single = page.locator(".turn.single").last
        single.locator('button[data-rating="up"]').click()  # the thumbs form, open
        page.locator(".rate-form:not([hidden])").wait_for()
        page.add_script_tag(path=axe_script)  # inline: allowed by bypass_csp for this test only
        result = page.evaluate(RUN_AXE, WCAG_22_AA)
        assert result["passed"] >= 10, result  # axe really looked at the page
        if result["violations"]:
            problems[f"{scheme} {name}px"] = result["violations"]
    assert not problems, problems


def _campaign(runner, tmp_path, stack) -> str:
    """A campaign of two items (a system prompt, markdown guidelines) that every browser
    rates; its id."""
    source = tmp_path / "prompts.jsonl"
    source.write_text(
        "".join(
            json.dumps({"prompt": f"Question {i} #tokens=20", "system_prompt": "Be brief."}) + "\n"
            for i in (1, 2)
        )
    )
    guidelines = tmp_path / "guidelines.md"
    guidelines.write_text("# Rating\n\nPrefer the **accurate** answer.\n\n- then the clearer one\n")
    args = ["campaigns", "create", "a11y", "--prompts", str(source), "--overlap", "4"]
    result = runner.invoke(args=[*args, "--guidelines", str(guidelines)])
    assert result.exit_code == 0, result.output
    return stack.client().get("/api/campaigns").json()["campaigns"][0]["id"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_campaign_page_has_no_axe_violations(
    new_duet, axe_script, scheme, stack, campaign_app, runner, tmp_path
):
    campaign_id = _campaign(runner, tmp_path, stack)
    problems = {}
    for name, viewport in (("1280", DESKTOP), ("390", MOBILE)):
        duet = new_duet(viewport=viewport, color_scheme=scheme, bypass_csp=True)
        duet.open(f"/#campaign={campaign_id}")
        page = duet.page
        # One item voted (the line about it shows), the next one's pair waiting for a vote,
        # with the guidelines open (the first time) and a tag pressed.
        first = page.locator("#turn-list .turn").get_attribute("data-turn-id")
        duet.wait_finished(first, "ab")
        page.keyboard.press("2")
        duet.turn(first).wait_for(state="detached")
        page.locator("#campaign-last:not([hidden])").wait_for()
        second = page.locator("#turn-list .turn").get_attribute("data-turn-id")
        duet.wait_finished(second, "ab")
        duet.turn(second).locator(".vote button.tag-chip").first.click()
        assert page.locator("#campaign-guidelines").get_attribute("open") is not None
        page.add_script_tag(path=axe_script)  # inline: allowed by bypass_csp for this test only
        result = page.evaluate(RUN_AXE, WCAG_22_AA)
        assert result["passed"] >= 10, result
        if result["violations"]:
            problems[f"{scheme} {name}px"] = result["violations"]
    assert not problems, problems
