"""WSGI entry point for gunicorn: ``gunicorn server.wsgi:app`` (config from the environment)."""

from .app import create_app

app = create_app()
