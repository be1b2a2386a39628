"""Absolute addresses for paper and help (issue 16.3): PUBLIC_URL when set, else the address of the request."""
from __future__ import annotations

from flask import current_app, request, url_for

from ..domain.addresses import absolute, is_loopback


def configured_public_url() -> str | None:
    return current_app.config.get("PUBLIC_URL") or None


def request_is_local() -> bool:
    """The page was opened on the server itself (127.0.0.1, localhost): its address means nothing elsewhere."""
    from urllib.parse import urlsplit
    return is_loopback(urlsplit("//" + request.host).hostname)


def public_base() -> str | None:
    """The base address other computers use: PUBLIC_URL, else this request's address unless it is the server's
    own loopback address (then None: ask the user)."""
    configured = configured_public_url()
    if configured:
        return configured
    if request_is_local():
        return None
    return request.host_url.rstrip("/")


def public_url_for(endpoint: str, base: str | None = None, **values) -> str | None:
    base = base or public_base()
    return absolute(base, url_for(endpoint, **values)) if base else None
