"""Typed work survives an expired session or a stale page (issue 16.1), and nobody else's work is planted in it
(issue 24, class 5).

A form POST that arrives after the session idled out (or with a CSRF token from a session that no longer exists)
is not thrown away: its fields are kept under a random token, the user logs in on the same page, and the page the
form was on comes back with the fields filled in. Passwords, keys, tokens and uploaded files are never kept; the
page says which ones to enter again; hidden inputs are never filled back.

The stash is a row of ``form_stashes`` (``services/formstash.py``), so every app server can restore it. It is bound

* to the browser that posted it: a random id in an HttpOnly, SameSite=Strict cookie (``COOKIE``, signed with the
  secret key) that is set at login (with the account id), when a public form's page is opened, or with the stash
  of a browser holding an expired session; only a request carrying that cookie gets it back;
* to the account whose session expired (from the signed session cookie, or the binding cookie when the browser
  has dropped its session); it is restored only after that account logs in again. Only the public forms
  (管理员注册, 忘记密码) keep a stash without an account.

A POST with no session and no binding cookie (a forged or scripted post) keeps nothing and gets no restore link.
Stashes are capped per browser and in total (count and bytes), deleted when used and after ``MAX_AGE`` at the
latest. Filling the form back is done on the returned HTML, so every form in the application gets it without code
of its own, with JavaScript on or off.
"""
from __future__ import annotations

import hashlib
import html as htmllib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app, g, request, session
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..extensions import db
from ..models import utcnow
from ..services import formstash
from .actions import keep

PARAM = "restore_form"           # query parameter carrying the token on the page the form comes back to
COOKIE = "tuanjian_stash"        # the browser binding: signed {"c": random browser id, "a": account id or None}
MAX_AGE = 2 * 60 * 60            # seconds a stash is kept at most
BINDING_AGE = 7 * 24 * 60 * 60   # seconds the binding cookie lives (set again at every login)
MAX_BYTES = 256 * 1024
CAPS = formstash.Caps(per_stash_bytes=MAX_BYTES, per_client_count=5, per_client_bytes=512 * 1024,
                      total_count=2000, total_bytes=32 * 1024 * 1024)
# Endpoints that do not need a login: their stash is bound to the browser only.
PUBLIC_FORMS = {"registration.register", "registration.submit", "auth.forgot"}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_SECRET_NAMES = {"current", "new", "confirm", "csrf_token"}
_SECRET_PARTS = ("password", "token", "secret", "key")
# the controls a person types into (never "hidden": what a page carries is the page's, not the person's)
_TEXT_TYPES = {"", "text", "search", "tel", "email", "number", "date", "month", "url", "datetime-local"}


def is_secret(name: str) -> bool:
    """Field names whose value is never kept: passwords, keys and tokens (the CSRF token is replaced anyway)."""
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(part in lowered for part in _SECRET_PARTS)


@dataclass
class Stash:
    token: str
    action: str                                  # path the form was posted to
    page: str                                    # path (and query) of the page the form was on
    fields: list[tuple[str, str]] = field(default_factory=list)
    secrets_dropped: bool = False                # a password field was posted (and not kept)
    files_dropped: list[str] = field(default_factory=list)   # names of uploaded files (not kept)
    created: float = 0.0
    account_id: int | None = None                # the account whose session expired (None: a public form)
    client_hash: str = ""                        # sha256 of the browser's binding id

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


# ---------------------------------------------------------------- the browser binding

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="tuanjian-form-stash-binding")


def _hash(client_id: str) -> str:
    return hashlib.sha256(client_id.encode()).hexdigest()


def read_binding() -> tuple[str, int | None] | None:
    """(browser id, account id) from this request's binding cookie, when it is ours and not too old."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=BINDING_AGE)
    except BadSignature:
        return None
    client, account = (data.get("c"), data.get("a")) if isinstance(data, dict) else (None, None)
    if not isinstance(client, str) or not _TOKEN.match(client) or not (account is None or isinstance(account, int)):
        return None
    return client, account


def bind(account_id: int | None) -> str:
    """Bind this browser to ``account_id`` (at login): the cookie is set on the response. Returns the browser id
    (the one it already had, else a new one)."""
    current = read_binding()
    client = current[0] if current else secrets.token_urlsafe(24)
    g.stash_binding = (client, account_id)
    return client


def bind_public_page() -> None:
    """A public form's page (管理员注册, 忘记密码) was opened: bind this browser if it is not yet, so a stale post of
    that form can be kept for it, and only for it."""
    if read_binding() is None:
        g.stash_binding = (secrets.token_urlsafe(24), None)


def unbind() -> None:
    """At logout: the browser forgets its binding (its stashes can no longer be restored)."""
    g.stash_binding = False


def apply_binding(resp):
    """after_request: write (or delete) the binding cookie decided during the request."""
    binding = g.pop("stash_binding", None)
    if binding is False:
        resp.delete_cookie(COOKIE, path="/", samesite="Strict", httponly=True)
    elif binding is not None:
        client, account = binding
        resp.set_cookie(COOKIE, _serializer().dumps({"c": client, "a": account}), max_age=BINDING_AGE, path="/",
                        httponly=True, samesite="Strict", secure=request.is_secure)
    return resp


def session_account_id() -> int | None:
    """The account of the (signed) session cookie this request carries, even when that session has expired or
    was ended elsewhere: the account whose typed form is being kept."""
    raw = session.get("_user_id")
    try:
        return int(str(raw).split(".")[0]) if raw else None
    except ValueError:
        return None


def may_restore(stash: Stash, *, account_id: int | None, endpoint: str | None) -> bool:
    """Only to the browser that posted it, and only to the account whose session expired (public forms: only on a
    public form)."""
    binding = read_binding()
    if binding is None or not secrets.compare_digest(_hash(binding[0]), stash.client_hash):
        return False
    if stash.account_id is None:
        return endpoint in PUBLIC_FORMS
    return account_id == stash.account_id


# ---------------------------------------------------------------- keeping and finding

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


def save_from_request(account_id: int | None = None) -> Stash | None:
    """Keep the posted form (minus secrets and files) for the browser and the account whose session expired
    (``account_id``; else the session cookie's, else the binding cookie's). None when there is nothing worth
    keeping, nobody to bind it to, or no room."""
    if request.method != "POST" or request.mimetype not in ("application/x-www-form-urlencoded",
                                                            "multipart/form-data") or not same_origin():
        return None
    public = request.endpoint in PUBLIC_FORMS
    binding = read_binding()
    if not public:
        account_id = account_id or session_account_id() or (binding[1] if binding else None)
        if account_id is None:
            return None             # no session at all and no binding: a forged or scripted post keeps nothing
    else:
        account_id = None
    if binding is not None:
        client = binding[0]
    elif not public:
        # a browser holding an (expired, signed) session of ``account_id``: bind it now
        client = secrets.token_urlsafe(24)
        g.stash_binding = (client, account_id)
    else:
        return None                 # a public form posted by a browser that never opened it here
    fields, secret = [], False
    for name, value in request.form.items(multi=True):
        if is_secret(name):
            secret = secret or ("password" in name.lower() or name in ("current", "new", "confirm")) and bool(value)
            continue
        fields.append((name, value))
    files = [f.filename for f in request.files.values() if f and f.filename]
    if not fields and not files:
        return None
    stash = Stash(token=secrets.token_urlsafe(24), action=request.path, page=page_of_request(), fields=fields,
                  secrets_dropped=secret, files_dropped=files, created=time.time(), account_id=account_id,
                  client_hash=_hash(client))
    payload = {"fields": [list(f) for f in fields], "secrets_dropped": secret, "files_dropped": files}
    size = len(json.dumps(payload, ensure_ascii=False).encode("utf-8")) + len(stash.page) + len(stash.action)
    kept = formstash.save(db.session, token=stash.token, client_hash=stash.client_hash, account_id=account_id,
                          action=stash.action, page=stash.page, payload=payload, size=size, caps=CAPS, now=utcnow(),
                          max_age=MAX_AGE)
    keep()                          # the answer is a 401 login page or a redirect: the stash is kept either way
    return stash if kept else None


def load(token: str) -> Stash | None:
    if not _TOKEN.match(token or ""):
        return None
    row = formstash.find(db.session, token, now=utcnow(), max_age=MAX_AGE)
    if row is None:
        return None
    payload = row.payload or {}
    return Stash(token=row.token, action=row.action, page=row.page,
                 fields=[tuple(x) for x in payload.get("fields", [])],
                 secrets_dropped=bool(payload.get("secrets_dropped")),
                 files_dropped=list(payload.get("files_dropped", [])),
                 created=row.created_at.replace(tzinfo=UTC).timestamp(), account_id=row.account_id,
                 client_hash=row.client_hash)


def discard(token: str) -> None:
    if _TOKEN.match(token or ""):
        formstash.discard(db.session, token)
        keep()                      # a GET that wrote: committed with the page that was filled (web.actions)


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
