"""The HTTP side: JSON API, websocket relay, page, health check, OpenAPI, security, errors."""

from __future__ import annotations

from flask import Flask

from app.web import admin, auth, errors, health, i18n, oidc, openapi, pages, security, ws
from app.web.api import bp as api_bp


def init_app(app: Flask) -> None:
    """Languages, origin checks, rate limits and headers, sign-in, then the blueprints, then
    JSON errors."""
    i18n.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    for blueprint in (api_bp, ws.bp, pages.bp, health.bp, openapi.bp, oidc.bp):
        app.register_blueprint(blueprint)
    admin.init_app(app)
    errors.init_app(app)
