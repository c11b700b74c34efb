"""Translations of the server's words (pages and JSON error messages) with Flask-Babel.

The language of a request is the best of `LANGUAGES` for its Accept-Language header, English
when none fits. Only the human `message` of an error is translated: its machine `code` never
changes with the language. The catalogs live in app/translations/<lang>/LC_MESSAGES
(`scripts/translations` extracts, updates and compiles them); the page's own scripts take
their words from app/static/js/strings.js, in the language the template's `<html lang>` names.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_babel import Babel, get_locale, gettext, lazy_gettext

DEFAULT_LANGUAGE = "en"

babel = Babel()

# Settings whose default text the catalogs translate (an admin's own text stays as written).
_TRANSLATED_DEFAULTS = (
    lazy_gettext(
        "Votes, ratings, edits and conversations are stored and used as training data for "
        "language models. Don't share anything private."
    ),
)


def select_locale() -> str:
    """The request's language: the best match of Accept-Language among LANGUAGES."""
    if not has_request_context():
        return DEFAULT_LANGUAGE  # the CLI and the worker speak English
    languages = current_app.config["LANGUAGES"]
    return request.accept_languages.best_match(languages, default=DEFAULT_LANGUAGE)


def language() -> str:
    """The language of this request, as a BCP 47 tag for `<html lang>` ("en", "fr")."""
    return str(get_locale() or DEFAULT_LANGUAGE).replace("_", "-")


def translated_setting(text: str) -> str:
    """A setting's text in the request's language when it is a default the catalogs know."""
    return gettext(text) if text else text


def _vary_on_language(response: Response) -> Response:
    # A response whose words were chosen by Accept-Language must not be served from a
    # shared cache to someone who speaks another language.
    if getattr(g.get("_flask_babel"), "babel_locale", None) is not None:
        response.vary.add("Accept-Language")
    return response


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with the locale selector, `<html lang>` and the Vary header."""
    app.config.setdefault("LANGUAGES", [DEFAULT_LANGUAGE])
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    babel.init_app(app, locale_selector=select_locale)
    # {% trans %} blocks collapse their line breaks and indentation, as babel.cfg extracts them.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.after_request(_vary_on_language)
    app.context_processor(lambda: {"html_lang": language()})
