from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField

from ..domain.errors import ValidationFailed


class PersonForm(FlaskForm):
    """The personal fields every person form shares (members, cadres, registration, one's own profile). Forms
    carry CSRF and redisplay only: the rules are the domain's."""

    name = StringField("姓名")
    id_number = StringField("身份证号码")
    phone = StringField("手机号码")
    ethnicity = StringField("民族")
    political_status = StringField("政治面貌")
    join_date = StringField("入团年月")


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
