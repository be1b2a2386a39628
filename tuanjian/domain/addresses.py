"""The address other computers use to reach the system (PUBLIC_URL; issue 16.3).

Registration-code slips go out on paper and the help page names the site, so an address printed from the
server itself ("http://127.0.0.1:5000/") would send every township to its own computer.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from .errors import ValidationFailed

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def normalise_public_url(text, *, field: str = "address") -> str:
    """"192.168.1.20:8000" → "http://192.168.1.20:8000"; a scheme, a host and an optional path prefix, no trailing
    slash. Refuses anything else (and loopback addresses, which no other computer can open)."""
    raw = "".join(str(text or "").split())
    if not raw:
        raise ValidationFailed.single(field, "请填写其他电脑访问本系统用的地址，例如 http://192.168.1.20:5000")
    if "://" not in raw:
        raw = "http://" + raw
    parts = urlsplit(raw)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1 or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise ValidationFailed.single(field, "地址格式不对：应形如 http://192.168.1.20:5000 或 http://tj.example.gov.cn")
    if is_loopback(parts.hostname):
        raise ValidationFailed.single(field, f"{parts.hostname} 是本机地址，其他电脑打不开；请填写本机在局域网中的地址"
                                             "（例如 http://192.168.1.20:5000）或单位内网域名")
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def is_loopback(host: str | None) -> bool:
    """A host name only this computer can open (127.x.x.x, localhost, ::1)."""
    host = (host or "").strip("[]").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.") or host.endswith(".localhost")


def absolute(base: str, path: str) -> str:
    """``base`` (a normalised public URL) + an application path."""
    return base.rstrip("/") + "/" + path.lstrip("/")
