"""`flask raters list --json`: one rater a line, whatever characters a name holds."""

from __future__ import annotations

import json

from app.extensions import db
from app.raters import invite_rater

# Line breaks to str.splitlines() (and to JavaScript before ES2019) that JSON may leave raw.
NAME = "Ada\u2028Love\u0085lace\u2029King"


def test_list_json_keeps_each_rater_on_one_line(app, runner):
    with app.app_context():
        invite_rater(NAME)
        invite_rater("Grace")
        db.session.commit()
    output = runner.invoke(args=["raters", "list", "--json"]).stdout
    assert not {"\u2028", "\u2029", "\u0085"} & set(output)
    rows = [json.loads(line) for line in output.splitlines()]
    assert sorted(row["name"] for row in rows) == sorted([NAME, "Grace"])
