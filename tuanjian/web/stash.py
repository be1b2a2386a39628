"""Typed work survives an expired session or a stale page (issue 16.1).

A form POST that arrives after the session idled out (or with a CSRF token from a session that no longer exists)
is not thrown away: its non-secret fields are kept server-side under a random token, the user logs in on the
same page, and the page the form was on comes back with the fields filled in. Passwords and uploaded files are
never kept; the page says which ones to enter again.

The stash is a small JSON file under ``<instance>/form-stash/`` (shared by every worker of the one server),
deleted when used and after ``MAX_AGE`` seconds at the latest. Filling the form back is done on the returned
HTML, so every form in the application gets it without code of its own, with JavaScript on or off.
"""
from __future__ import annotations

import html as htmllib
import json
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app, request

PARAM = "restore_form"           # query parameter carrying the token on the page the form comes back to
MAX_AGE = 2 * 60 * 60            # seconds a stash is kept at most
MAX_BYTES = 256 * 1024
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_SECRET_NAMES = {"current", "new", "confirm", "csrf_token"}
_TEXT_TYPES = {"", "text", "search", "tel", "email", "number", "date", "month", "url", "hidden", "datetime-local"}


def is_secret(name: str) -> bool:
    """Field names whose value is never kept: passwords (and the CSRF token, which is replaced anyway)."""
    lowered = name.lower()
    return "password" in lowered or lowered in _SECRET_NAMES


@dataclass
class Stash:
    token: str
    action: str                                  # path the form was posted to
    page: str                                    # path (and query) of the page the form was on
    fields: list[tuple[str, str]] = field(default_factory=list)
    secrets_dropped: bool = False                # a password field was posted (and not kept)
    files_dropped: list[str] = field(default_factory=list)   # names of uploaded files (not kept)
    created: float = 0.0

    @property
    def kept(self) -> int:
        return len({name for name, value in self.fields if value.strip()})

    def page_with_token(self) -> str:
        parts = urlsplit(self.page)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != PARAM]
        query.append((PARAM, self.token))
        return urlunsplit(("", "", parts.path, urlencode(query), ""))

    def reenter_note(self) -> str:
        """What the user must enter again, in Chinese ("" when nothing)."""
        parts = []
        if self.secrets_dropped:
            parts.append("密码没有保存，请重新输入")
        if self.files_dropped:
            parts.append("上传的文件（" + "、".join(self.files_dropped) + "）没有保存，请重新选择")
        return "；".join(parts)


def _folder() -> str:
    return current_app.config.get("FORM_STASH_DIR") or os.path.join(current_app.instance_path, "form-stash")


def _path(token: str) -> str | None:
    if not _TOKEN.match(token or ""):
        return None
    return os.path.join(_folder(), token + ".json")


def _purge(folder: str, now: float) -> None:
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = os.path.join(folder, name)
        try:
            if now - os.path.getmtime(path) > MAX_AGE:
                os.remove(path)
        except OSError:
            pass


def page_of_request() -> str:
    """Where the posted form was: the Referer when it is on this site, else the posted URL if it answers GET."""
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if referrer and parts.netloc == request.host and parts.path.startswith("/") and not parts.path.startswith("//"):
        return urlunsplit(("", "", parts.path, parts.query, ""))
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        adapter.match(request.path, method="GET")
        return request.path
    except Exception:          # noqa: BLE001 - any routing answer other than a match means "no GET page here"
        return "/"


def same_origin() -> bool:
    """The POST came from one of our own pages (Origin, else Referer, names this host). A forged cross-site form
    must never be stashed: it would come back pre-filled with someone else's values after the user logs in."""
    source = request.headers.get("Origin") or request.referrer or ""
    parts = urlsplit(source)
    return bool(source) and parts.scheme in ("http", "https") and parts.netloc == request.host


def save_from_request() -> Stash | None:
    """Keep the posted form (minus secrets and files); None when there is nothing worth keeping."""
    if request.method != "POST" or request.mimetype not in ("application/x-www-form-urlencoded",
                                                            "multipart/form-data") or not same_origin():
        return None
    fields, secret = [], False
    for name, value in request.form.items(multi=True):
        if is_secret(name):
            secret = secret or (name != "csrf_token" and bool(value))
            continue
        fields.append((name, value))
    files = [f.filename for f in request.files.values() if f and f.filename]
    if not fields and not files:
        return None
    stash = Stash(token=secrets.token_urlsafe(24), action=request.path, page=page_of_request(), fields=fields,
                  secrets_dropped=secret, files_dropped=files, created=time.time())
    data = json.dumps(asdict(stash), ensure_ascii=False).encode("utf-8")
    if len(data) > MAX_BYTES:
        return None
    folder = _folder()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    _purge(folder, stash.created)
    path = _path(stash.token)
    with open(path, "wb") as f:
        os.chmod(path, 0o600)
        f.write(data)
    return stash


def load(token: str) -> Stash | None:
    path = _path(token)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError):
        return None
    stash = Stash(**{**raw, "fields": [tuple(x) for x in raw.get("fields", [])]})
    if time.time() - stash.created > MAX_AGE:
        discard(token)
        return None
    return stash


def discard(token: str) -> None:
    path = _path(token)
    if path:
        try:
            os.remove(path)
        except OSError:
            pass


# ---------------------------------------------------------------- putting the values back into the page

class _Filler(HTMLParser):
    """Finds the form posted to ``action`` and rewrites its controls' start tags (and textarea contents)."""

    def __init__(self, source: str, action: str, fields: list[tuple[str, str]], page_path: str):
        super().__init__(convert_charrefs=True)
        self.source = source
        self.line_starts = [0]
        for m in re.finditer("\n", source):
            self.line_starts.append(m.end())
        self.action, self.page_path = action, page_path
        self.values: dict[str, list[str]] = {}
        for name, value in fields:
            self.values.setdefault(name, []).append(value)
        self.used: dict[str, int] = {}
        self.edits: list[tuple[int, int, str]] = []
        self.in_form = False
        self.matched = 0
        self.select: str | None = None
        self.textarea: tuple[str, int] | None = None

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def _form_matches(self, action: str | None) -> bool:
        path = urlsplit(action).path if action else self.page_path
        return path == self.action

    def _rewrite(self, start: int, tag: str, attrs: list[tuple[str, str | None]], closing: bool) -> None:
        text = self.get_starttag_text() or ""
        body = "".join(f" {k}" if v is None else f' {k}="{htmllib.escape(v, quote=True)}"' for k, v in attrs)
        self.edits.append((start, start + len(text), f"<{tag}{body}{' /' if closing else ''}>"))

    def handle_startendtag(self, tag, attrs):
        self._start(tag, attrs, closing=True)

    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs, closing=False)

    def _start(self, tag, attrs, *, closing):
        a = dict(attrs)
        if tag == "form":
            self.in_form = self._form_matches(a.get("action"))
            self.matched += self.in_form
            return
        if not self.in_form:
            return
        start = self._offset()
        name = a.get("name")
        if tag == "input" and name and not is_secret(name) and name in self.values:
            kind = (a.get("type") or "").lower()
            if kind in ("checkbox", "radio"):
                on = (a.get("value") or "on") in self.values[name]
                attrs = [(k, v) for k, v in attrs if k != "checked"] + ([("checked", None)] if on else [])
            elif kind in _TEXT_TYPES:
                i = self.used.get(name, 0)
                if i >= len(self.values[name]):
                    return
                self.used[name] = i + 1
                attrs = [(k, v) for k, v in attrs if k != "value"] + [("value", self.values[name][i])]
            else:
                return
            self._rewrite(start, tag, attrs, closing)
        elif tag == "input" and name and (a.get("type") or "").lower() == "checkbox" and name not in self.values:
            # an unticked box is not posted: it comes back unticked
            if "checked" in a:
                self._rewrite(start, tag, [(k, v) for k, v in attrs if k != "checked"], closing)
        elif tag == "select":
            self.select = name if name in self.values else None
        elif tag == "option" and self.select:
            on = (a.get("value") or "") in self.values[self.select]
            self._rewrite(start, tag, [(k, v) for k, v in attrs if k != "selected"]
                          + ([("selected", None)] if on else []),
                          closing)
        elif tag == "textarea" and name in self.values:
            self.textarea = (name, start + len(self.get_starttag_text() or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea:
            name, content_start = self.textarea
            i = self.used.get(name, 0)
            if i < len(self.values[name]):
                self.used[name] = i + 1
                self.edits.append((content_start, self._offset(), htmllib.escape(self.values[name][i], quote=False)))
            self.textarea = None

    def result(self) -> str:
        out, last = [], 0
        for start, end, text in sorted(self.edits):
            out.append(self.source[last:start])
            out.append(text)
            last = end
        out.append(self.source[last:])
        return "".join(out)


def fill_form(source: str, stash: Stash, page_path: str) -> tuple[str, bool]:
    """The page with the stashed values in the form that was posted; (html, whether such a form was found)."""
    filler = _Filler(source, stash.action, stash.fields, page_path)
    filler.feed(source)
    filler.close()
    return filler.result(), bool(filler.matched)
