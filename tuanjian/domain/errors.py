"""Domain exceptions. Their messages are written for users (Chinese) and are safe to show."""
from __future__ import annotations


class DomainError(Exception):
    """A rule was broken. ``str(exc)`` is a Chinese message fit for the user."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    """One or more fields are invalid. ``field_errors`` maps field name -> list of messages."""

    status = 422

    def __init__(self, field_errors: dict[str, list[str]] | None = None, message: str | None = None,
                 rules: dict[str, str] | None = None):
        self.field_errors: dict[str, list[str]] = {k: list(v) for k, v in (field_errors or {}).items()}
        # message -> code of the named rule it breaks, for the rules that may be excepted (domain.exceptions)
        self.rules: dict[str, str] = dict(rules or {})
        if message is None:
            message = "；".join(m for msgs in self.field_errors.values() for m in msgs) or "填写内容有误"
        super().__init__(message)

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        return cls({field: [message]})

    @classmethod
    def rule(cls, field: str, message: str, rule: str) -> ValidationFailed:
        """A failure of a named rule (see domain.exceptions): the message carries the rule's code."""
        return cls({field: [message]}, rules={message: rule})


class NotAllowed(DomainError):
    """The actor may see the object but may not do this to it."""

    status = 403


class Conflict(DomainError):
    """The request collides with the current state (already used, already exists, limit reached)."""

    status = 409


class Collector:
    """Runs several field checks and keeps every error, so a form or an import row shows all problems at once."""

    def __init__(self):
        self.errors: dict[str, list[str]] = {}
        self.rules: dict[str, str] = {}

    def check(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValidationFailed as exc:
            self.rules.update(exc.rules)
            for field, msgs in exc.field_errors.items():
                self.errors.setdefault(field, []).extend(msgs)
            return None

    def check_memo(self, memo: dict | None, fn, *args):
        """``check`` for a check whose answer depends only on its (hashable) arguments: ``memo`` keeps the answer
        (a value or the field errors) so a file with 50,000 rows of “汉族” checks it once. ``memo`` None: no cache."""
        if memo is None:
            return self.check(fn, *args)
        key = (fn, *map(type, args), *args)        # typed: True, 1 and 1.0 are equal keys but different cells
        got = _remembered(memo, key, fn, args)
        if got is None:                            # an unhashable argument: check it uncached
            return self.check(fn, *args)
        return self._replay(*got)

    def check_keyed(self, memo: dict, key: tuple, fn, *args):
        """``check_memo`` under a key the caller built (cheaper than the typed key of every argument when the
        caller knows what identifies the answer): ``fn(*args)`` once per key, its value or errors replayed."""
        return self._replay(*_remembered(memo, key, fn, args))

    def _replay(self, ok: bool, answer):
        """A remembered answer: the value, or None after adding the remembered field errors and rules."""
        if ok:
            return answer
        field_errors, rules = answer
        self.rules.update(rules)
        for field, msgs in field_errors.items():
            self.errors.setdefault(field, []).extend(msgs)
        return None

    def merge_memo(self, memo: dict | None, fn, *args):
        """A group of checks run together: ``fn(*args, memo)`` returns (values, field errors, rules) and never
        raises; the errors are added here, in their order, and the values returned. ``memo`` keeps the answer per
        (typed) arguments as check_memo does, so the rows of a file that share these cells run the group once."""
        if memo is None:
            values, field_errors, rules = fn(*args, None)
        else:
            key = (fn, *map(type, args), *args)
            try:
                values, field_errors, rules = memo[key]
            except KeyError:
                values, field_errors, rules = memo[key] = fn(*args, memo)
            except TypeError:                      # an unhashable argument: run it uncached
                values, field_errors, rules = fn(*args, memo)
        if field_errors:
            self.rules.update(rules)
            for field, msgs in field_errors.items():
                self.errors.setdefault(field, []).extend(msgs)
        return values

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors, rules=self.rules)


def _remembered(memo: dict, key: tuple, fn, args) -> tuple[bool, object] | None:
    """(True, value) or (False, (field errors, rules)) of ``fn(*args)``, computed once per ``key``; None when the
    key cannot be hashed (an unhashable argument)."""
    try:
        return memo[key]
    except KeyError:
        pass
    except TypeError:
        return None
    try:
        got = True, fn(*args)
    except ValidationFailed as exc:
        got = False, (exc.field_errors, exc.rules)
    memo[key] = got
    return got
