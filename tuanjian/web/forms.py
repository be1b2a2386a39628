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


class ErrorsByName:
    """The form of a page that reads its values straight from ``request.form`` (no WTForms fields): give it to
    ``web.actions.form_action`` (with ``validate=False``) and every field error of the domain is kept here by name;
    ``errors`` is then the {field: [messages]} such a page shows."""

    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def with_form_error(self, error: str | None) -> dict[str, list[str]]:
        """The field errors, and ``error`` (what no field took, or a refusal) under "form"."""
        return {**self.errors, "form": [error]} if error else dict(self.errors)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return _NamedField(self.errors, name)


class _NamedField:
    def __init__(self, errors: dict[str, list[str]], name: str):
        self._all, self._name = errors, name

    @property
    def errors(self) -> list[str]:
        return self._all.get(self._name, [])

    @errors.setter
    def errors(self, messages) -> None:
        self._all[self._name] = list(messages)
