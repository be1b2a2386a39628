from datetime import date, datetime, timedelta

import pytest

from tuanjian.domain.codes import (
    ALPHABET,
    CODE_LENGTH,
    CodeStatus,
    code_alphabet,
    code_status,
    expiry,
    generate_code,
    looks_like_code,
    normalise_entered_code,
)
from tuanjian.domain.errors import ValidationFailed
from tuanjian.domain.orgtree import OrgKind
from tuanjian.domain.passwords import check_password
from tuanjian.domain.settings import Settings
from tuanjian.domain.throttle import Counter, Policy, format_wait, register_failure, wait_seconds

NOW = datetime(2026, 11, 23, 8, 0)


def test_generated_codes_are_8_mixed_unambiguous_and_distinct():
    codes = {generate_code() for _ in range(2000)}
    assert len(codes) == 2000
    for c in codes:
        assert len(c) == CODE_LENGTH and looks_like_code(c)
        assert any(ch.isdigit() for ch in c) and any(ch.isalpha() for ch in c)
        assert set(c) <= set(ALPHABET)
    assert not set("0O1lI") & set(ALPHABET)


def test_alphabet_has_no_look_alikes_and_is_the_one_generators_use():
    # issue 16.9: capital/small pairs that look alike and the 0/O/o, 1/l/I groups never appear
    assert not set("CcKkOoPpSsUuVvWwXxZz0oO1lI") & set(code_alphabet())
    assert code_alphabet() == ALPHABET and len(set(ALPHABET)) == len(ALPHABET) >= 30
    seen = set()
    for _ in range(3000):
        seen |= set(generate_code())
    assert seen == set(ALPHABET)          # every allowed character is used, nothing else
    from tuanjian.domain.resetcodes import generate_reset_code
    assert all(set(generate_reset_code()[2:]) <= set(ALPHABET) for _ in range(200))


def test_entered_code_keeps_case():
    assert normalise_entered_code(" aB3c 4dE5 ") == "aB3c4dE5"


def test_code_status():
    exp = expiry(NOW, 20)
    assert exp == NOW + timedelta(days=20)
    assert code_status(now=NOW, expires_at=exp, used_at=None, revoked_at=None) is CodeStatus.UNUSED
    assert code_status(now=exp, expires_at=exp, used_at=None, revoked_at=None) is CodeStatus.EXPIRED
    assert code_status(now=NOW, expires_at=exp, used_at=NOW, revoked_at=None) is CodeStatus.USED
    assert code_status(now=NOW, expires_at=exp, used_at=None, revoked_at=NOW) is CodeStatus.REVOKED
    assert CodeStatus.EXPIRED.label == "已过期"


def test_throttle_slows_then_locks_then_forgets():
    policy = Policy(slowdown_after=3, lockout_after=5, lockout=timedelta(minutes=30), window=timedelta(minutes=30))
    c = Counter()
    c = register_failure(c, policy, NOW)
    c = register_failure(c, policy, NOW)
    assert wait_seconds(c, NOW) == 0
    c = register_failure(c, policy, NOW)
    assert wait_seconds(c, NOW) == 5
    c = register_failure(c, policy, NOW + timedelta(seconds=6))
    assert wait_seconds(c, NOW + timedelta(seconds=6)) == 10
    c = register_failure(c, policy, NOW + timedelta(seconds=20))
    assert wait_seconds(c, NOW + timedelta(seconds=20)) == 30 * 60
    later = NOW + timedelta(minutes=51)
    assert wait_seconds(c, later) == 0
    c = register_failure(c, policy, later)
    assert c.failures == 1
    assert format_wait(30) == "30秒" and format_wait(90) == "2分钟"


@pytest.mark.parametrize("pw,fragment", [("", "请填写"), ("abc123", "长度"), ("abcdefghij", "字母和数字"),
                                         ("1234567890", "字母和数字"), ("x" * 33 + "1", "长度")])
def test_password_policy(pw, fragment):
    with pytest.raises(ValidationFailed) as exc:
        check_password(pw)
    assert fragment in exc.value.message


def test_password_may_not_be_default():
    with pytest.raises(ValidationFailed) as exc:
        check_password("1231002x", id_number="11010519491231002X")
    assert "初始密码" in exc.value.message
    check_password("goodpass1")


def test_settings_from_config_mapping():
    s = Settings.from_mapping({"CODE_VALID_DAYS": "10", "ADMIN_LIMIT_LEADING": 3, "JOIN_AGE_CUTOFF": "2017-01-01",
                               "PLACEMENT": {"general": ["branch"], "branch": []}, "UNRELATED": 1})
    assert s.code_valid_days == 10 and s.admin_limit(OrgKind.LEADING) == 3
    assert s.admin_limit(OrgKind.BRANCH) == 3
    assert s.join_age_cutoff == date(2017, 1, 1)
    assert s.placement[OrgKind.GENERAL_BRANCH] == frozenset({OrgKind.BRANCH})
    assert Settings().admin_limit(OrgKind.LEADING) == 2
