from __future__ import annotations

from flask_wtf import FlaskForm

from ..domain.errors import ValidationFailed


def apply_errors(form: FlaskForm, exc: ValidationFailed, aliases: dict[str, str] | None = None) -> list[str]:
    """Attach domain field errors to the form's fields; returns the messages no field took."""
    leftover: list[str] = []
    for name, messages in exc.field_errors.items():
        field = getattr(form, (aliases or {}).get(name, name), None)
        if field is None:
            leftover.extend(messages)
            continue
        field.errors = list(field.errors or []) + list(messages)
    return leftover
