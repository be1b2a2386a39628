"""Absolute addresses for paper and help (issue 16.3): PUBLIC_URL when set, else the address of the request."""
from __future__ import annotations

from flask import current_app, request, url_for
from flask.globals import _cv_request

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


# ---------------------------------------------------------------- url_for in templates (issue 29)

_MARK = 9_876_543_210_000          # stand-ins for integer values while a URL pattern is built (13 digits each)


def template_url_for(endpoint: str, **values) -> str:
    """``url_for`` for templates, where the same link is written once per row: when every value is a plain integer
    (ids, page numbers), the URL is built once per endpoint and set of argument names, with stand-ins, and then
    only the numbers are written in; anything else (texts, None, ``_anchor``, relative endpoints) goes to
    ``url_for``. The result is the same string ``url_for`` gives."""
    if endpoint.startswith(".") or not all(type(v) is int for v in values.values()):
        return url_for(endpoint, **values)
    names = tuple(values)
    if any(name.startswith("_") for name in names):
        return url_for(endpoint, **values)
    ctx = _cv_request.get(None)
    if ctx is None:
        return url_for(endpoint, **values)
    cache = ctx.app.extensions.setdefault("tuanjian_url_patterns", {})
    key = (endpoint, names, ctx.request.script_root)
    pattern = cache.get(key)
    if pattern is None:
        rules = ctx.app.url_map._rules_by_endpoint.get(endpoint, [])
        if len(rules) != 1 or rules[0].defaults:      # which rule is used, or its URL, may depend on the values
            cache[key] = False
            return url_for(endpoint, **values)
        built = url_for(endpoint, **{name: _MARK + i for i, name in enumerate(names)})
        parts = [built]
        for i in range(len(names)):
            parts = [piece for part in parts for piece in _split_mark(part, str(_MARK + i), i)]
        pattern = cache[key] = tuple(parts)
    elif pattern is False:
        return url_for(endpoint, **values)
    return "".join(str(values[names[p]]) if type(p) is int else p for p in pattern)


def _split_mark(part, mark: str, index: int) -> list:
    """``part`` with each occurrence of ``mark`` replaced by ``index`` (where that value goes), text kept."""
    if type(part) is int or mark not in part:
        return [part]
    pieces = part.split(mark)
    out: list = [pieces[0]]
    for piece in pieces[1:]:
        out += [index, piece]
    return out
