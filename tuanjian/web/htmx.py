"""One place decides "fragment or whole page" (DESIGN.md §8)."""
from __future__ import annotations

from flask import current_app, make_response, render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    # Boosted navigation and history restores need the whole page.
    return (is_htmx()
            and request.headers.get("HX-Boosted") != "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def render_block(template_name: str, block_name: str, **context) -> str:
    app = current_app._get_current_object()
    app.update_template_context(context)
    template = app.jinja_env.get_or_select_template(template_name)
    ctx = template.new_context(context)
    return "".join(template.blocks[block_name](ctx))


def render(template: str, *, block: str | None = None, status: int = 200, trigger: str | None = None, **ctx):
    """Render the page, or only ``block`` when htmx asked for a fragment."""
    if block and wants_fragment():
        body = render_block(template, block, **ctx)
    else:
        body = render_template(template, **ctx)
    resp = make_response(body, status)
    resp.vary.add("HX-Request")
    if trigger:
        resp.headers["HX-Trigger"] = trigger
    return resp
