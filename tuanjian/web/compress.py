"""gzip for pages, stylesheets and scripts, so a slow county link carries a third of the bytes.

Neither waitress (Windows) nor gunicorn compresses, and many sites run without nginx in front. A browser that says
``Accept-Encoding: gzip`` gets the compressed body; everything else (downloads, 304s, ranges, tiny bodies) is left
alone. Static files are compressed once per version (keyed by their ETag).
"""
from __future__ import annotations

import gzip

from flask import Flask, request

COMPRESSIBLE = {"text/html", "text/css", "text/javascript", "application/javascript", "text/plain",
                "application/json"}
MIN_SIZE = 500
LEVEL = 6
_static_cache: dict[tuple[str, str], bytes] = {}


def _accepts_gzip() -> bool:
    for part in request.headers.get("Accept-Encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def gzip_response(resp):
    if (resp.status_code != 200 or resp.mimetype not in COMPRESSIBLE or "Content-Encoding" in resp.headers
            or request.method == "HEAD" or not _accepts_gzip()):
        return resp
    resp.vary.add("Accept-Encoding")
    static = request.endpoint == "static"
    etag, _ = resp.get_etag()
    key = (request.path, etag or "")
    body = _static_cache.get(key) if static and etag else None
    if body is None and resp.is_streamed and not resp.direct_passthrough:
        return resp                           # a generator: leave it streaming
    source = resp.response
    try:
        if body is None:
            resp.direct_passthrough = False   # send_file's file wrapper: read it (our static files are small)
            data = resp.get_data()
            if len(data) < MIN_SIZE:
                return resp
            body = gzip.compress(data, LEVEL, mtime=0)
            if static and etag:
                _static_cache[key] = body
        resp.direct_passthrough = False
        resp.set_data(body)
    finally:
        if resp.response is not source and hasattr(source, "close"):
            source.close()                    # the file behind a static response, now replaced by bytes
    resp.headers["Content-Encoding"] = "gzip"
    if etag:
        resp.set_etag(etag, weak=True)        # as nginx does: same content, other bytes; If-None-Match still matches
    return resp


def init_app(app: Flask) -> None:
    app.after_request(gzip_response)
