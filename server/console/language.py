"""Chinese and English for the console (Flask-Babel).

The language is the one the person chose (the switch in every page's header, kept in
their session), else the one their browser asks for first among Chinese and English
(``Accept-Language``), else English. The catalog is
``server/translations/zh/LC_MESSAGES/messages.po``, committed with its compiled ``.mo``
(a test checks the two agree), so a clean checkout speaks Chinese with no build step.
English is the source text.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request, session
from flask_babel import Babel, gettext

__all__ = ["LANGUAGES", "init_app", "choose", "gettext", "CATALOG"]

LANGUAGES = ("zh", "en")
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
CATALOG = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=choose)


def choose() -> str:
    chosen = session.get("language")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"
