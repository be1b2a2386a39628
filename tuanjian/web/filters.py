"""Template filters and globals."""
from __future__ import annotations

from datetime import datetime

from flask import Flask, get_flashed_messages

from .. import current_settings
from ..domain.people import mask_id_number
from .htmx import is_htmx
from ..clock import to_local


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return to_local(value).strftime(fmt)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["mask_id"] = mask_id_number
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def inject():
        from .scope import active_grants, current_org
        return {
            "current_org": current_org,
            "active_grants": active_grants,
            "is_htmx": is_htmx,
            "settings": current_settings(),
            "flashes": lambda: get_flashed_messages(with_categories=True),
        }
