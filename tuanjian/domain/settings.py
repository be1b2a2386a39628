"""Rule settings.

DOMAIN.md tags some rules [C] (inferred or from a single provincial system) or notes that the seed
notices disagree with other sources. Those rules are settings with the documented defaults, so a
county can change them without touching code. The web app builds one ``Settings`` from its config
(environment variables ``TUANJIAN_<NAME>``); pure functions take it as an argument.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

from .orgtree import DEFAULT_PLACEMENT, OrgKind
from .register import DEFAULT_LEAVE_REASONS, parse_leave_reasons


@dataclass(frozen=True)
class Settings:
    # Registration codes (seed 001: 8 characters, 20 days).
    code_valid_days: int = 20
    # Admins per organisation (seed 003 FAQ item 4: 2 for leading bodies, 3 for grassroots) [B].
    admin_limit_leading: int = 2
    admin_limit_grassroots: int = 3
    # Join age (seed 001: >= 13, or >= 12 when joined before 2016-09-01).
    join_age_cutoff: date = date(2016, 9, 1)
    join_age_min: int = 13
    join_age_min_before_cutoff: int = 12
    # 发展团员编号 is required for joins from this year on (DOMAIN.md 3.3: 2017; Xinjiang 2016).
    dev_number_required_from_year: int = 2017
    # Where the county is (issue 15): the rules that depend on the org's province take that province's values
    # unless set one by one. "" = the national rules; "xinjiang": 发展团员编号 from 2016, join age 13 at all dates.
    # Shandong's 16-digit 发展团员编号 are accepted everywhere (members move and keep their number).
    province: str = ""
    # 超龄: members of this age or older with no League post are due to leave (团章 art. 1).
    overage_years: int = 28
    # 录入进度 (DOMAIN.md 5.2): a branch is done with at least this many members, all complete [C]; a branch
    # with more than branch_large_members is listed as an exception; non-branch orgs need cadre_target
    # complete cadres (national FAQ: 2) [B].
    branch_complete_min_members: int = 3
    branch_large_members: int = 50
    cadre_target: int = 2
    # Rates (percent) below which the progress page highlights a cell [C].
    threshold_admins: int = 100
    threshold_info: int = 90
    threshold_member_complete: int = 95
    threshold_branches_done: int = 80
    threshold_cadres: int = 80
    # Imports: the most rows one workbook may hold (the upload size cap is TUANJIAN_MAX_CONTENT_LENGTH).
    import_max_rows: int = 100000
    # Accounts (issue 2): 5 failures lock the account for 15 minutes; idle sessions end after 30.
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    session_idle_minutes: int = 30
    # Passwords [C: S21 reports 8-32 characters mixing digits and letters].
    password_min_length: int = 8
    password_max_length: int = 32
    # Registration-code guessing from one address: slow down after this many failures, lock after more.
    code_attempts_before_slowdown: int = 3
    code_attempts_before_lockout: int = 10
    code_lockout_minutes: int = 30
    code_attempt_window_minutes: int = 30
    # 重置密码验证码: schools report it expires after 2 days [B: S22]. Wrong codes use the code_attempts_* limits.
    reset_code_valid_hours: int = 48
    # 首次登录验证码 (issue 14): an admin account still on the default password needs one; valid like a reset code.
    first_login_code_valid_hours: int = 48
    # 特殊情况录入 (issue 18): the rules a branch may ask to except (codes in domain.exceptions.RULES; the ID
    # checksum, a person held elsewhere and a non-branch org never are); the level that approves, as the depth of
    # the approving org under the root (0 = the root of this instance, e.g. the county); the largest scan accepted.
    exceptable_rules: frozenset[str] = frozenset({"join_age", "join_window", "dev_number_missing", "dev_number_format"})
    exception_approver_depth: int = 0
    exception_scan_max_kb: int = 5120
    # 团籍变动 (issue 27): the leaving reasons a clerk may choose on the member page, in order (codes of
    # domain.register, or their Chinese labels); 录入错误 is always offered.
    leave_reasons: tuple[str, ...] = DEFAULT_LEAVE_REASONS
    # 团内统计: the upper bounds of the age groups (周岁, ascending; the official layout is unknown, DOMAIN.md 8) [C].
    register_age_bounds: tuple[int, ...] = (17, 22, 25, 28)
    # Parent -> allowed children (DOMAIN.md 1.2, a design choice [C]).
    placement: dict[OrgKind, frozenset[OrgKind]] = field(default_factory=lambda: dict(DEFAULT_PLACEMENT))

    def admin_limit(self, kind: OrgKind) -> int:
        return self.admin_limit_leading if kind.is_leading else self.admin_limit_grassroots

    @classmethod
    def from_mapping(cls, values: dict) -> Settings:
        """Build settings from a config mapping with keys like ``CODE_VALID_DAYS``. Unknown keys are ignored."""
        kwargs = {}
        province = str(values.get("PROVINCE") or "").strip().lower()
        if province and province not in PROVINCE_RULES:
            raise ValueError(f"TUANJIAN_PROVINCE={province!r}: known values are "
                             + ", ".join(sorted(PROVINCE_RULES)) + " (or empty for the national rules)")
        kwargs.update(PROVINCE_RULES.get(province, {}), province=province)
        for f in dataclasses.fields(cls):
            key = f.name.upper()
            if key not in values or f.name in ("placement", "province"):
                continue
            raw = values[key]
            if f.name == "leave_reasons":
                kwargs[f.name] = parse_leave_reasons(raw)
            elif f.name == "register_age_bounds":
                bounds = tuple(int(x) for x in (str(raw).replace("，", ",").split(",") if isinstance(raw, str)
                                                else raw) if str(x).strip())
                if not bounds or list(bounds) != sorted(set(bounds)):
                    raise ValueError("REGISTER_AGE_BOUNDS: ascending ages separated by commas, e.g. 17,22,25,28")
                kwargs[f.name] = bounds
            elif f.name == "exceptable_rules":
                kwargs[f.name] = frozenset(
                    r.strip() for r in (raw.split(",") if isinstance(raw, str) else raw) if r.strip())
            elif f.type in ("date",) or f.name == "join_age_cutoff":
                kwargs[f.name] = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
            else:
                kwargs[f.name] = int(raw)
        if "PLACEMENT" in values and values["PLACEMENT"]:
            kwargs["placement"] = {
                OrgKind(parent): frozenset(OrgKind(c) for c in children)
                for parent, children in dict(values["PLACEMENT"]).items()
            }
        return cls(**kwargs)


# Province -> the settings its rules change (DOMAIN.md 3.3: Xinjiang requires the 发展团员编号 from 2016 and a join
# age of 13 for all dates). A setting given explicitly still wins.
PROVINCE_RULES: dict[str, dict] = {
    "xinjiang": {"dev_number_required_from_year": 2016, "join_age_min": 13, "join_age_min_before_cutoff": 13},
    "shandong": {},
}

DEFAULT_SETTINGS = Settings()
