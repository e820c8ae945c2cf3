"""Render the OpenAPI document from the code (checked in as ``openapi.yaml``)."""

from __future__ import annotations

from flask import Flask

__all__ = ["render"]


def render(app: Flask) -> str:
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    return api.spec.to_yaml()
