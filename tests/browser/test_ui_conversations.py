"""The chat page's housekeeping in a real browser: the Compare switch remembered, a status
line that follows the open conversation, rename, delete and search in the sidebar, no pile
of empty conversations, and who is signed in with a way to sign out.
"""

from __future__ import annotations

import os

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - only without the dev requirements
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed", allow_module_level=True)

from tests.admin_helpers import invite_link

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.timeout(120)]


def _new(duet) -> str:
    """Click "New conversation"; the id of the conversation it opened (or kept open)."""
    before = duet.page.evaluate("() => window.duet.currentConversationId()")
    if before is None:
        return duet.new_conversation()
    duet.page.click("#new-conversation")
    duet.page.wait_for_function(
        "(before) => window.duet.currentConversationId() !== before", arg=before
    )
    return duet.page.evaluate("() => window.duet.currentConversationId()")


def _listed(duet) -> list[str]:
    return duet.page.locator("#conversation-list .conversation-title").all_inner_texts()


def test_the_compare_switch_is_remembered_and_the_status_follows_the_conversation(duet):
    page = duet.page
    page.click('label[for="mode-pair"]')
    expect(page.locator("#mode-pair")).to_be_checked()
    duet.open("/")
    expect(page.locator("#mode-pair")).to_be_checked()  # after a reload
    page.click('label[for="mode-pair"]')
    duet.open("/")
    expect(page.locator("#mode-pair")).not_to_be_checked()

    duet.new_conversation()
    tid = duet.send("First #tokens=5")
    duet.wait_finished(tid)
    expect(page.locator("#status")).to_have_text("Done.")
    _new(duet)
    expect(page.locator("#status")).to_have_text("")  # not the other conversation's "Done."


def test_an_empty_new_conversation_is_reused_not_piled_up(duet):
    page = duet.page
    first = duet.new_conversation()
    tid = duet.send("Something #tokens=5")
    duet.wait_finished(tid)
    empty = _new(duet)
    page.locator(f'#conversation-list a[data-conversation-id="{first}"]').click()
    page.wait_for_function("(cid) => window.duet.currentConversationId() === cid", arg=first)
    page.click("#new-conversation")
    page.wait_for_function("(cid) => window.duet.currentConversationId() === cid", arg=empty)
    page.click("#new-conversation")
    listed = page.request.get(f"{duet.url}/api/conversations").json()["conversations"]
    assert [c["id"] for c in listed] == [empty, first]


def test_conversations_are_renamed_searched_and_deleted_from_the_sidebar(duet):
    page = duet.page
    zebra = duet.new_conversation()
    duet.wait_finished(duet.send("Tell me about zebras #tokens=5"))
    other = _new(duet)
    duet.wait_finished(duet.send("And about owls #tokens=5"))
    expect(page.locator("#conversation-list li")).to_have_count(2)

    row = page.locator("#conversation-list li").filter(has_text="zebras")
    row.get_by_role("button", name="Actions for").click()
    row.get_by_role("button", name="Rename").click()
    field = page.locator(".conv-rename-input")
    expect(field).to_be_focused()
    field.fill("Striped horses")
    with page.expect_response(lambda r: r.request.method == "PATCH") as renamed:
        field.press("Enter")
    assert renamed.value.status == 200, renamed.value.text()
    expect(page.locator("#conversation-list .conversation-title").last).to_have_text(
        "Striped horses"
    )
    assert duet.api_conversation(zebra)["title"] == "Striped horses"

    page.fill("#conversation-search", "owls")
    expect(page.locator("#conversation-list li")).to_have_count(1)
    assert _listed(duet) == ["And about owls #tokens=5"]
    page.fill("#conversation-search", "no such words")
    expect(page.locator("#conversation-list-empty")).to_have_text("No conversation matches.")
    page.fill("#conversation-search", "")
    expect(page.locator("#conversation-list li")).to_have_count(2)

    row = page.locator("#conversation-list li").filter(has_text="owls")
    row.get_by_role("button", name="Actions for").click()
    row.get_by_role("button", name="Delete").click()
    expect(row.locator(".conv-confirm")).to_contain_text("for good")
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        row.get_by_role("button", name="Delete", exact=True).last.click()
    assert deleted.value.status == 204
    expect(page.locator("#conversation-list li")).to_have_count(1)
    assert page.request.get(f"{duet.url}/api/conversations/{other}").status == 404
    # The open conversation was deleted: the next one opens.
    page.wait_for_function("(cid) => window.duet.currentConversationId() === cid", arg=zebra)


def test_the_header_names_who_is_signed_in_and_signs_them_out(duet, new_duet, runner):
    page = duet.page
    expect(page.locator(".account")).to_have_count(0)  # an anonymous browser: nobody to name
    ada = new_duet().open(invite_link(runner, "Ada Lovelace"))  # signs in, then the chat
    header = ada.page.locator(".app-header")
    expect(header.locator(".account-name")).to_have_text("Signed in as Ada Lovelace")
    with ada.page.expect_response(lambda r: r.url.endswith("/api/signout")) as out:
        header.get_by_role("button", name="Sign out").click()
    assert out.value.status == 204
    ada.page.wait_for_function("() => window.duet && window.duet.ready")
    expect(ada.page.locator(".account")).to_have_count(0)  # anonymous again, after the reload
    me = ada.page.request.get(f"{ada.url}/api/me").json()
    assert me["rater"]["name"].startswith("anonymous-")
