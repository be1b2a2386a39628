from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who is acting: the person, the organisation whose admin they act as (their scope), and from where."""

    person_id: int | None
    name: str
    ip: str | None = None
    org_id: int | None = None
    scope_code: str | None = None

    @classmethod
    def system(cls, name: str = "命令行") -> Actor:
        return cls(person_id=None, name=name, ip=None)
