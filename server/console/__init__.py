"""The office and depot console: server-rendered pages under ``/console`` behind a login.

Sessions are Flask-Login's over Flask's signed cookie, separate from device tokens;
every form and every htmx request carries Flask-WTF's CSRF token, checked here for this
blueprint alone (the API's callers hold bearer tokens, not cookies). Pages speak
Chinese or English (:mod:`server.console.language`). Every write goes through the push
path as the signed-in person on the office's own device (:mod:`server.console.writes`).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from flask import Blueprint, Flask, render_template, request
from flask_babel import get_locale
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect

from sync.errors import SyncError

from . import labels, language
from .accounts import Lockout

__all__ = ["blp", "init_app"]

_HERE = Path(__file__).resolve().parent.parent

blp = Blueprint("console", __name__, url_prefix="/console", template_folder=str(_HERE / "templates"),
                static_folder=str(_HERE / "static"), static_url_path="/static")
csrf = CSRFProtect()
login_manager = LoginManager()

#: Console settings and their defaults (each may be set as ``FIELDSYNC_<NAME>``)
DEFAULTS = {
    "CONSOLE_LOGIN_MAX_FAILURES": 5,
    "CONSOLE_LOGIN_WINDOW_SECONDS": 15 * 60,
    "CONSOLE_LOCKOUT_SECONDS": 15 * 60,
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=10),
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_HTTPONLY": True,
    # the API's POSTs carry bearer tokens: only this blueprint checks the token (see _csrf)
    "WTF_CSRF_CHECK_DEFAULT": False,
    "WTF_CSRF_TIME_LIMIT": None,
}


def init_app(app: Flask) -> None:
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "console.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    language.init_app(app)
    from . import board, sessions  # noqa: F401  (the views register on ``blp``)
    from . import complaints, conflict_queue, followups, intake  # noqa: F401  (the desk's rooms)
    from . import depot  # noqa: F401  (the depot keepers' rooms)
    from . import approvals, figures  # noqa: F401  (the managers' rooms)
    from . import devices  # noqa: F401  (enrolling and revoking engineers' devices)

    app.register_blueprint(blp)


def lockout(app: Flask) -> Lockout:
    return Lockout(max_failures=int(app.config["CONSOLE_LOGIN_MAX_FAILURES"]),
                   window=timedelta(seconds=int(app.config["CONSOLE_LOGIN_WINDOW_SECONDS"])),
                   lock_for=timedelta(seconds=int(app.config["CONSOLE_LOCKOUT_SECONDS"])))


def _instance_secret(instance: Path) -> str:
    """The key that signs session cookies, kept in the instance folder when none is
    configured: made once, by whichever process starts first, readable by its owner
    only (docs/decisions.md, "Console session key")."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "console-secret-key"
    if not path.exists():
        draft = instance / f"console-secret-key.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(os.urandom(32).hex())
        try:
            os.link(draft, path)  # whole or not at all: a second process keeps the first's key
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii").strip()


@blp.context_processor
def _page_words() -> dict:
    return {"labels": labels, "language_code": get_locale().language}


@blp.before_request
def _csrf() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@blp.after_request
def _guarded(response):
    """No page is framed by another site, no script or style comes from elsewhere, and
    none is kept by a shared office computer's cache."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.errorhandler(CSRFError)
def _csrf_refused(exc: CSRFError):
    return render_template("console/error.html", status=400, message=language.gettext(
        "This form has expired or did not come from the console. Reload the page and try again.")), 400


@blp.errorhandler(SyncError)
def _refused(exc: SyncError):
    return render_template("console/error.html", status=exc.status, message=exc.message), exc.status
