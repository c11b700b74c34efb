"""The admin area: pages under /admin and JSON under /api/admin/, for raters with role admin.

Not signed in: 401 (JSON on /api, a page saying how to sign in on /admin); signed in without
the admin role: 403. In `anonymous` mode every browser is an anonymous rater, so it gets 403;
an admin signs in with a link from `flask raters invite NAME --admin`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, render_template, request
from flask_babel import gettext as _

from app.errors import ApiError
from app.raters import auth_mode, current_rater, session_refused
from app.web.identity import unauthorized
from app.web.security import address_limit, client_limit

bp = Blueprint("admin", __name__)

# The leaderboard refits its bootstrap on every call: a person's pace, not a script's. The
# same budgets as the API's (app/web/api/__init__.py), the address's for anonymous clients.
client_limit("RATELIMIT_API", scope="api")(bp)
address_limit("RATELIMIT_PER_IP", scope="api-by-address")(bp)

_NO_STORE = {"Cache-Control": "no-store"}


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let only a signed-in admin through: 401 without a rater, 403 for any other rater."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        rater = current_rater(create=False)
        wants_json = (request.path + "/").startswith("/api/")
        if rater is None:
            if wants_json:
                raise unauthorized()
            problem = "This rater has been disabled." if session_refused() else None
            page = render_template(
                "admin/denied.html", status=401, problem=problem, auth_mode=auth_mode(), rater=None
            )
            return page, 401, _NO_STORE
        if not rater.is_admin:
            if wants_json:
                raise ApiError(403, "forbidden", _("Only admins may use the admin area."))
            page = render_template(
                "admin/denied.html", status=403, problem=None, auth_mode=auth_mode(), rater=rater
            )
            return page, 403, _NO_STORE
        return view(*args, **kwargs)

    return guarded


def init_app(app: Flask) -> None:
    """Register the admin pages and JSON calls."""
    app.register_blueprint(bp)


from app.web.admin import api, pages  # noqa: E402,F401  (routes register on bp)
