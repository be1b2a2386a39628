"""Template filters and globals."""
from __future__ import annotations

import re
from datetime import datetime

from flask import Flask, get_flashed_messages
from markupsafe import Markup, escape

from .. import current_settings
from ..clock import to_local
from ..domain.people import mask_id_number
from .htmx import is_htmx


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return to_local(value).strftime(fmt)


# Where an org name may wrap on paper: before the category suffix (…|团支部, …|委员会) and after a place or unit word
# (望江县|, 华阳镇|, 城东村|, 望江中学|, 2017级|). Paper sets the name with ``word-break: keep-all``, so these are the
# only places it breaks; a part wider than the whole column still breaks (overflow-wrap) rather than spill out.
_BREAK_BEFORE = re.compile(r"(?:工作委员会|总支部委员会|支部委员会|委员会|团工委|团总支|团支部|团委)")
_BREAK_AFTER = re.compile(r"(?:中国共产主义青年团|共青团|街道|社区|公司|集团|中学|小学|学校|学院|大学|医院|专业|"
                          r"[省市县区镇乡村局级班部所站厂院校])")
_MIN_PART = 2


def name_parts(name: str) -> list[str]:
    """An org name cut where a line may break, every part at least two characters long.

    >>> name_parts("华阳镇城东村团支部")
    ['华阳镇', '城东村', '团支部']
    """
    cuts: set[int] = set()
    for m in _BREAK_BEFORE.finditer(name):
        cuts.add(m.start())
    for m in _BREAK_AFTER.finditer(name):
        cuts.add(m.end())
    parts, last = [], 0
    for cut in sorted(cuts):
        if cut - last >= _MIN_PART and len(name) - cut >= _MIN_PART:
            parts.append(name[last:cut])
            last = cut
    parts.append(name[last:])
    return parts


def breakable(name: str | None) -> Markup:
    """The name, escaped, with <wbr> where ``name_parts`` allows a line break."""
    return Markup("<wbr>").join(escape(part) for part in name_parts(name or ""))


_PHONE_MENU = (('<nav class="nav"', '<nav class="menu-nav"'), ('<div class="user">', '<div class="menu-user">'),
               ('"switch-org"', '"switch-org-phone"'))


def phone_menu(bar: str) -> Markup:
    """The header's menu bar (layout.html, rendered once) as the phone menu's copy: the same links, the wrappers'
    classes and the org switch's id changed."""
    text = str(bar)
    for old, new in _PHONE_MENU:
        text = text.replace(old, new)
    return Markup(text)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["breakable"] = breakable
    app.jinja_env.filters["mask_id"] = mask_id_number
    app.jinja_env.filters["phone_menu"] = phone_menu
    from .urls import template_url_for
    app.jinja_env.globals["url_for"] = template_url_for       # links written once per row (web.urls)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def inject():
        from .scope import active_grants, current_org, requests_waiting
        return {
            "requests_waiting": requests_waiting,
            "current_org": current_org,
            "active_grants": active_grants,
            "is_htmx": is_htmx,
            "settings": current_settings(),
            "flashes": lambda: get_flashed_messages(with_categories=True),
        }
