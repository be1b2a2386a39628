"""团籍变动 (issue 27, DOMAIN.md 3.4): every arrival into and departure from a 团支部 is an event with a date and a kind
from a fixed list. ``members`` stays the *current* place (one row per person, soft-deleted when they leave); the
membership spans over time are derived from the events, so every existing list, count and export keeps reading
``members`` unchanged, and "as of date D" reads the events.

Pure rules only: the kinds, the mapping of the old free-text deletion reasons, the arrival kind of a new record,
the date checks and the span derivation the statistics and the brute-force test share.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .errors import ValidationFailed

# ---------------------------------------------------------------- kinds (codes are stored; labels are shown)

NEW = "new"                      # 新发展 (with 发展团员编号)
IN_COUNTY = "in_county"          # 转入（县内）
IN_OUTSIDE = "in_outside"        # 转入（县外）
RESTORED = "restored"            # 恢复团籍
FIRST_ENTRY = "first_entry"      # 首次录入: entered before this history began

OVERAGE = "overage"              # 超龄离团
PARTY_OVERAGE = "party_overage"  # 入党后年满28周岁离团
WITHDRAWN = "withdrawn"          # 自愿退团
EXPELLED = "expelled"            # 除名
SUSPENDED = "suspended"          # 停止团籍
DIED = "died"                    # 死亡
EMIGRATED = "emigrated"          # 出国（境）定居
OUT_COUNTY = "out_county"        # 转出（县内）
OUT_OUTSIDE = "out_outside"      # 转出（县外）
UNSTATED = "unstated"            # 离团（原因未注明）: only for deletions before this history, reason not recognisable

ERROR = "error"                  # 录入错误: the span disappears from every figure as if it had never been

LABELS: dict[str, str] = {
    NEW: "新发展", IN_COUNTY: "转入（县内）", IN_OUTSIDE: "转入（县外）", RESTORED: "恢复团籍", FIRST_ENTRY: "首次录入",
    OVERAGE: "超龄离团", PARTY_OVERAGE: "入党后年满28周岁离团", WITHDRAWN: "自愿退团", EXPELLED: "除名",
    SUSPENDED: "停止团籍", DIED: "死亡", EMIGRATED: "出国（境）定居", OUT_COUNTY: "转出（县内）",
    OUT_OUTSIDE: "转出（县外）", UNSTATED: "离团（原因未注明）", ERROR: "录入错误",
}
ARRIVING: tuple[str, ...] = (NEW, IN_COUNTY, IN_OUTSIDE, RESTORED, FIRST_ENTRY)
LEAVING: tuple[str, ...] = (OVERAGE, PARTY_OVERAGE, WITHDRAWN, EXPELLED, SUSPENDED, DIED, EMIGRATED, OUT_COUNTY,
                            OUT_OUTSIDE, UNSTATED)
TRANSFERS = (IN_COUNTY, OUT_COUNTY)            # a pair written by one move inside this instance
KINDS: tuple[str, ...] = ARRIVING + LEAVING + (ERROR,)
# What a clerk may choose when a member leaves on the member page (a transfer goes through 组织关系转接; a 转出（县外）
# is chosen here because the receiving county is not in this system). The default of setting LEAVE_REASONS.
DEFAULT_LEAVE_REASONS: tuple[str, ...] = (OVERAGE, PARTY_OVERAGE, WITHDRAWN, EXPELLED, SUSPENDED, DIED, EMIGRATED,
                                          OUT_OUTSIDE, ERROR)
# A kind that may never be switched off: without it a record entered by mistake could not be taken out.
ALWAYS_OFFERED = (ERROR,)

LEAVE_NOTE_MAX = 200


def label(kind: str) -> str:
    return LABELS.get(kind, kind)


def is_arriving(kind: str) -> bool:
    return kind in ARRIVING


def parse_leave_reasons(raw: str | Iterable[str]) -> tuple[str, ...]:
    """The setting ``LEAVE_REASONS``: codes or Chinese labels, comma separated, in the order offered. Unknown names
    and arriving kinds are refused (a typo must not silently hide a reason); 录入错误 is always added."""
    items = [s.strip() for s in (raw.replace("，", ",").split(",") if isinstance(raw, str) else raw) if s.strip()]
    by_label = {v: k for k, v in LABELS.items()}
    out: list[str] = []
    for item in items:
        code = item if item in LABELS else by_label.get(item)
        if code is None or code not in LEAVING + (ERROR,) or code in (UNSTATED, OUT_COUNTY):
            raise ValueError(f"LEAVE_REASONS: {item!r} is not a leaving reason a clerk may choose "
                             f"(known: {', '.join(k for k in DEFAULT_LEAVE_REASONS)})")
        if code not in out:
            out.append(code)
    for code in ALWAYS_OFFERED:
        if code not in out:
            out.append(code)
    return tuple(out)


# ---------------------------------------------------------------- a new record, a leaving, the old free text

def arrival_kind(join_month: str | None, on: date, *, restored: bool = False) -> str:
    """The kind of a new member record entered on ``on``: 恢复团籍 for a record that comes back, 新发展 when the
    入团年月 falls in the same year as the entry or the year before it (a member joining now), else 首次录入
    (a member of long standing entered for the first time)."""
    if restored:
        return RESTORED
    if join_month and len(join_month) >= 4 and join_month[:4].isdigit() and int(join_month[:4]) >= on.year - 1:
        return NEW
    return FIRST_ENTRY


def parse_day(text: str | date | None) -> date | None:
    """A date as clerks type it: 2026-12-31, 2026/12/31, 2026.12.31, 2026年12月31日, 20261231. None if not one."""
    if isinstance(text, date):
        return text
    s = "".join((text or "").split()).replace("年", "-").replace("月", "-").replace("日", "")
    s = s.replace("/", "-").replace(".", "-")
    if len(s) == 8 and s.isdigit():
        s = f"{s[:4]}-{s[4:6]}-{s[6:]}"
    parts = s.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def validate_leave(kind: str, on_text: str | date | None, note: str, *, offered: Iterable[str], today: date,
                   last_event_on: date | None) -> tuple[str, date, str]:
    """A leaving chosen on the member page: a kind from the offered list, a date not in the future and not before
    the member's last recorded change (the history must stay in order), a note for 录入错误 and 除名."""
    errors: dict[str, list[str]] = {}
    if kind not in tuple(offered):
        errors["kind"] = ["请从列表中选择离团原因"]
    on = parse_day(on_text)
    if on is None:
        errors["on"] = ["请填写离团日期（如 2026-12-31）"]
    elif on > today:
        errors["on"] = ["离团日期不能晚于今天"]
    elif last_event_on is not None and on < last_event_on and kind != ERROR:
        errors["on"] = [f"离团日期不能早于该团员上一次团籍变动的日期（{last_event_on.isoformat()}）"]
    note = " ".join((note or "").split())[:LEAVE_NOTE_MAX]
    if kind in (ERROR, EXPELLED) and not note:
        errors["note"] = ["请写明情况（录入错误、除名须说明）"]
    if errors:
        raise ValidationFailed(errors)
    return kind, on, note


# Old deletions (before issue 27) carried a free-text reason. These words map it onto a kind; anything else stays
# a departure with the reason 离团（原因未注明） and the text kept as the note, so no past figure changes and the
# clerk sees how many are unexplained. 录入错误 only when the text says so: it rewrites history.
_REASON_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (ERROR, ("录入错误", "录错", "重复", "误录", "错录", "测试")),
    (PARTY_OVERAGE, ("入党",)),
    (OVERAGE, ("超龄", "满28", "年满二十八", "28周岁", "二十八周岁")),
    (WITHDRAWN, ("退团", "自愿")),
    (EXPELLED, ("除名", "开除", "脱团")),
    (SUSPENDED, ("停止团籍",)),
    (DIED, ("死亡", "去世", "病故", "身故")),
    (EMIGRATED, ("出国", "出境", "定居")),
    (OUT_OUTSIDE, ("转出", "外县", "县外", "迁出", "调出", "转走")),
)


def kind_from_reason(text: str | None) -> str:
    """The kind an old free-text deletion reason names (see ``_REASON_WORDS``), else ``UNSTATED``."""
    s = "".join((text or "").split())
    for kind, words in _REASON_WORDS:
        if any(w in s for w in words):
            return kind
    return UNSTATED


# ---------------------------------------------------------------- spans (shared with the statistics and the tests)

@dataclass(frozen=True)
class Event:
    id: int
    person_id: int
    org_id: int
    on: date
    kind: str
    erased: bool = False


def place_on(events: Iterable[Event], on: date) -> int | None:
    """The org a person's events place them in at the end of day ``on`` (None: not a member then). The events
    are one person's; erased ones (a span ended by 录入错误) count as never written."""
    last = None
    for ev in sorted((e for e in events if not e.erased and e.on <= on), key=lambda e: (e.on, e.id)):
        last = ev
    return last.org_id if last is not None and is_arriving(last.kind) else None


def erased_span(events: list[Event]) -> list[Event]:
    """The events a 录入错误 written now erases: the person's current span, back to the arrival that began it (the
    last arrival that is not the 转入 half of a move inside this instance), the leaving itself included."""
    live = sorted((e for e in events if not e.erased), key=lambda e: (e.on, e.id))
    start = 0
    for i, ev in enumerate(live):
        if is_arriving(ev.kind) and ev.kind != IN_COUNTY:
            start = i
    return live[start:]


# ---------------------------------------------------------------- the 超龄 queue (DOMAIN.md 3.4, 团章 art. 1)

PARTY_STATUSES = ("中共党员", "中共预备党员")
QUEUE_DAYS = 90                  # members who turn 28 within this many days are listed before they are due

DUE, OVERDUE, EXEMPT = "due", "overdue", "exempt"
QUEUE_LABELS = {DUE: "即将超龄", OVERDUE: "已超龄，应办理离团", EXEMPT: "在任团干部，保留团籍"}


def overage_day(birth: date, years: int = 28) -> date:
    """The day the member turns ``years`` (29 Feb births turn on 1 Mar): the date of a 超龄离团."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def queue_status(birth: date, today: date, *, holds_post: bool, years: int = 28,
                 horizon_days: int = QUEUE_DAYS) -> str | None:
    """Where a member stands in the 超龄 queue: OVERDUE (aged ``years`` and no League post), DUE (turns ``years``
    within ``horizon_days``), EXEMPT (aged ``years`` but holding a 团内职务: keeps 团籍 while in post), else None.
    A Party member follows the same rule (keeps 团籍 until 28, then leaves unless in post); only the kind differs."""
    turns = overage_day(birth, years)
    if turns <= today:
        return EXEMPT if holds_post else OVERDUE
    if (turns - today).days <= horizon_days:
        return DUE
    return None


def overage_kind(political_status: str | None) -> str:
    """超龄离团, or 入党后年满28周岁离团 for a Party member (中共党员 / 中共预备党员)."""
    return PARTY_OVERAGE if political_status in PARTY_STATUSES else OVERAGE


def validate_batch_overage(on_text: str | date | None, chosen: list[tuple[str, date, str | None, bool]], *,
                           today: date, years: int = 28) -> date:
    """A batch 超龄离团 with one date: the date is a real day, not in the future; every chosen member (name, birth,
    status, holds_post) is aged ``years`` on that day and holds no post. Raises ValidationFailed naming them."""
    errors: dict[str, list[str]] = {}
    on = parse_day(on_text)
    if on is None:
        errors["on"] = ["请填写离团日期（如 2026-12-31）"]
    elif on > today:
        errors["on"] = ["离团日期不能晚于今天"]
    if not chosen:
        errors["members"] = ["请勾选要办理超龄离团的团员"]
    if on is not None and not errors:
        young = [name for name, birth, _, _ in chosen if overage_day(birth, years) > on]
        posted = [name for name, _, _, holds in chosen if holds]
        if young:
            errors["members"] = [f"{'、'.join(young)}在 {on.isoformat()} 还未满{years}周岁，不能办理超龄离团"]
        if posted:
            errors.setdefault("members", []).append(f"{'、'.join(posted)}担任团内职务，保留团籍；须先卸任")
    if errors:
        raise ValidationFailed(errors)
    return on


# ---------------------------------------------------------------- 团内统计确认 (a 阶段任务 of its own kind)

CONFIRM_TASK_NAME = "团内统计确认（截至 {day}）"
CONFIRM_NOTE_MAX = 200


def confirm_blockers(unbalanced: Iterable[str], unexplained: int) -> list[str]:
    """Why a subordinate may not yet confirm its 团内统计: the names of its comparison rows that do not balance
    (上年数 + 增加 − 减少 ≠ 本年数) and the number of people its record places differently from the 团籍变动. Empty:
    it may confirm. A confirmation states the figures are right, so neither can be waved through with a note."""
    out = []
    names = list(unbalanced)
    if names:
        out.append(f"对比表中“{'、'.join(names)}”不符（上年数 + 增加 − 减少 ≠ 本年数），请先补办相应的团籍变动")
    if unexplained:
        out.append(f"有 {unexplained} 人在团员名单中的位置与团籍变动记录不一致，请先在团内统计页面核实处理")
    return out


def clean_confirm_note(text: str | None) -> str:
    """The optional 说明 of a confirmation: whitespace folded; longer than ``CONFIRM_NOTE_MAX`` is refused."""
    from .errors import ValidationFailed
    note = " ".join((text or "").split())
    if len(note) > CONFIRM_NOTE_MAX:
        raise ValidationFailed.single("note", f"说明不能超过 {CONFIRM_NOTE_MAX} 个字")
    return note


def validate_confirm_deadline(text: str | date | None, *, today: date) -> date:
    from .errors import ValidationFailed
    day = parse_day(text)
    if day is None:
        raise ValidationFailed.single("deadline", "请填写截止日期（如 2027-01-15）")
    if day < today:
        raise ValidationFailed.single("deadline", "截止日期不能早于今天")
    return day
