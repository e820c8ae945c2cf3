"""The fieldsync server: Flask app, storage, and the sync and office APIs."""

from .app import create_app

__all__ = ["create_app"]
