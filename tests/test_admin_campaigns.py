"""The admin area's campaigns: /admin/campaigns shows what `flask campaigns status --json`
prints for each campaign, and `GET /api/admin/export` takes `campaign` and `aggregate`,
byte for byte as the CLI's `--campaign` and `--aggregate`."""

from __future__ import annotations

import json
import re

import pytest

from tests.admin_helpers import admin_client
from tests.campaign_helpers import finish_pair, make_campaign, next_item, vote
from tests.test_campaign_export import rated  # noqa: F401 (the fixture: campaign "c", 3 raters)

CASES = [
    (["--campaign", "c"], "campaign=c"),
    (["--campaign", "c", "--aggregate", "majority"], "campaign=c&aggregate=majority"),
    (["--aggregate", "majority"], "aggregate=majority"),
    (["--format", "kto", "--campaign", "c"], "format=kto&campaign=c"),
    (["--format", "raw", "--campaign", "c"], "format=raw&campaign=c"),
]


def cli_bytes(runner, tmp_path, options: list[str]) -> tuple[bytes, str]:
    out = tmp_path / "cli.jsonl"
    result = runner.invoke(args=["preferences", "export", "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    return out.read_bytes(), result.stderr


@pytest.mark.usefixtures("rated")
@pytest.mark.parametrize(("options", "query"), CASES)
def test_campaign_downloads_are_byte_identical_to_the_cli(
    campaign_app, runner, tmp_path, options, query
):
    expected, _ = cli_bytes(runner, tmp_path, options)
    response = admin_client(campaign_app).get(f"/api/admin/export?{query}")
    body = response.get_data()
    response.close()
    assert response.status_code == 200, body
    assert body == expected
    everything, _ = cli_bytes(runner, tmp_path, [])
    assert body != everything  # the parameter was not ignored


@pytest.mark.usefixtures("rated")
def test_majority_download_says_what_it_left_out(campaign_app):
    response = admin_client(campaign_app).get("/api/admin/export?campaign=c&aggregate=majority")
    response.close()
    summary = response.headers["X-Export-Summary"]
    assert "skipped 2 votes (1 tie, 1 split (no majority))" in summary, summary


@pytest.mark.parametrize(
    ("query", "starts"),
    [
        ("campaign=nope", "campaign: no campaign is called 'nope'"),
        ("aggregate=mean", "aggregate: must be majority"),
        ("aggregate=majority&format=raw", "aggregate: raw keeps every vote"),
    ],
)
def test_bad_campaign_parameters_are_422(campaign_app, query, starts):
    response = admin_client(campaign_app).get(f"/api/admin/export?{query}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_value" and error["message"].startswith(starts), error


@pytest.mark.usefixtures("rated")
def test_the_campaigns_page_shows_the_status_figures(campaign_app, runner):
    quiet = make_campaign(campaign_app, "quiet", items=2, overlap=2)
    browser = campaign_app.test_client()
    tid = next_item(browser, quiet)["turn"]["id"]
    finish_pair(campaign_app, tid)
    assert vote(browser, tid, "b").status_code == 201

    html = admin_client(campaign_app).get("/admin/campaigns?rounds=200").text
    assert "<script" not in html and not re.search(r"\s(style|on[a-z]+)=", html)
    for name in ("c", "quiet"):
        result = runner.invoke(args=["campaigns", "status", name, "--json", "--rounds", "200"])
        figures = json.loads(result.stdout)
        row = re.search(rf'<tr data-campaign="{name}">(.*?)</tr>', html, re.DOTALL)
        assert row, name
        cells = dict(re.findall(r'<td class="num (\w+)"[^>]*>(.*?)</td>', row.group(1), re.DOTALL))
        assert cells["votes"] == str(figures["votes"]) and cells["skips"] == str(figures["skips"])
        done = f"{figures['done']} of {figures['items']} ({100 * figures['done_share']:.0f}%)"
        assert cells["done"] == done
        alpha = figures["agreement"]["alpha"]
        if alpha is None:
            assert "data-alpha" not in row.group(1) and "no item with two votes" in row.group(1)
        else:
            low, high = figures["agreement"]["alpha_ci95"]
            assert f'data-alpha="{alpha}"' in row.group(1)
            assert (
                f"{alpha:.3f}" in cells["alpha"] and f"({low:.3f} to {high:.3f})" in cells["alpha"]
            )
            assert cells["agreement"] == f"{100 * figures['agreement']['percent_agreement']:.0f}%"
        raters = re.search(rf'<table [^>]*data-campaign="{name}">(.*?)</table>', html, re.DOTALL)
        counts = re.findall(r'<td class="num votes">(\d+)</td>', raters.group(1))
        assert counts == [str(r["votes"]) for r in figures["raters"]]
    assert 'href="/api/admin/export?campaign=c&amp;aggregate=majority"' in html
    assert 'aria-current="page">Campaigns</a>' in html
