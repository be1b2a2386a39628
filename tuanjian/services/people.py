"""Shared person handling: validation of the personal fields every form and import collects."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..domain.errors import Collector, ValidationFailed  # noqa: F401  (Collector: re-exported)
from ..domain.people import (IdInfo, YearMonth, check_join_date, normalise_ethnicity, parse_id_number,
                             parse_year_month, validate_person_name, validate_phone, validate_political_status)
from ..domain.settings import Settings


@dataclass(frozen=True)
class PersonData:
    name: str
    id_info: IdInfo
    phone: str
    ethnicity: str
    political_status: str
    join_date: YearMonth | None


def validate_person(c: Collector, *, name, id_number, phone, ethnicity, political_status, join_date,
                    settings: Settings, today: date, cadre: bool, phone_required: bool = True) -> PersonData | None:
    """Validate the personal block; errors go to the collector. Returns None when anything failed."""
    v_name = c.check(validate_person_name, name)
    info = c.check(parse_id_number, id_number, today)
    v_phone = c.check(validate_phone, phone, phone_required)
    v_eth = c.check(normalise_ethnicity, ethnicity)
    v_pol = c.check(validate_political_status, political_status, cadre=cadre)
    v_join = None
    if v_pol == "群众" and not str(join_date or "").strip():
        v_join = None          # a non-member cadre has no 入团年月
    else:
        v_join = c.check(parse_year_month, join_date)
        if v_join is not None and info is not None:
            c.check(check_join_date, v_join, info.birth_date, today=today, cutoff=settings.join_age_cutoff,
                    min_age=settings.join_age_min, min_age_before_cutoff=settings.join_age_min_before_cutoff)
    if c.errors:
        return None
    return PersonData(v_name, info, v_phone, v_eth, v_pol, v_join)
