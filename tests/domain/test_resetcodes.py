from datetime import datetime, timedelta

import pytest
from flask import Config

from tuanjian.domain.codes import ALPHABET, CODE_LENGTH, looks_like_code
from tuanjian.domain.errors import Conflict, NotAllowed
from tuanjian.domain.resetcodes import (
    PREFIX,
    CodeStatus,
    check_may_issue,
    generate_reset_code,
    looks_like_reset_code,
    normalise_reset_code,
    reset_code_expiry,
    reset_code_status,
)
from tuanjian.domain.settings import DEFAULT_SETTINGS, Settings

NOW = datetime(2026, 11, 23, 8, 0)


def test_format_is_prefix_plus_a_registration_style_code():
    codes = {generate_reset_code() for _ in range(500)}
    assert len(codes) == 500
    for c in codes:
        assert c.startswith("P-") and len(c) == len(PREFIX) + CODE_LENGTH
        body = c[2:]
        assert set(body) <= set(ALPHABET) and looks_like_code(body)
        assert looks_like_reset_code(c)
        # never mistaken for a registration code, which is exactly 8 letters and digits
        assert not looks_like_code(c)


@pytest.mark.parametrize("typed,stored", [
    ("P-aB3c4dE5", "P-aB3c4dE5"),
    ("  P- aB3c 4dE5 ", "P-aB3c4dE5"),          # spaces anywhere
    ("p-aB3c4dE5", "P-aB3c4dE5"),               # lower-case prefix
    ("aB3c4dE5", "P-aB3c4dE5"),                 # prefix left out
    ("PaB3c4dE5", "P-aB3c4dE5"),                # dash left out
    ("P－aB3c4dE5", "P-aB3c4dE5"),              # full-width dash from a Chinese input method
    ("Ｐ-ａB3c4dE5", "P-aB3c4dE5"),             # full-width letters become half-width, case kept
    ("P—aB3c4dE5\u3000", "P-aB3c4dE5"),         # em dash, ideographic space
    ("PaB3c4dE", "P-PaB3c4dE"),                 # 8 characters starting with P: the P belongs to the code
    ("", ""),
    (None, ""),
])
def test_normalisation(typed, stored):
    assert normalise_reset_code(typed) == stored


def test_normalisation_keeps_case_of_the_code():
    assert normalise_reset_code("P-abcdefg3") != normalise_reset_code("P-ABCDEFG3")


@pytest.mark.parametrize("text", ["P-abc", "P-aB3c4dE5x", "P-aB3c4dE!", "X-aB3c4dE5", "aB3c4dE5"])
def test_shape_check_refuses(text):
    assert not looks_like_reset_code(text)


def test_expiry_and_status():
    exp = reset_code_expiry(NOW, DEFAULT_SETTINGS.reset_code_valid_hours)
    assert exp == NOW + timedelta(days=2)
    assert reset_code_status(now=NOW, expires_at=exp, used_at=None, revoked_at=None) is CodeStatus.UNUSED
    assert reset_code_status(now=exp - timedelta(seconds=1), expires_at=exp, used_at=None,
                             revoked_at=None) is CodeStatus.UNUSED
    assert reset_code_status(now=exp, expires_at=exp, used_at=None, revoked_at=None) is CodeStatus.EXPIRED
    assert reset_code_status(now=NOW, expires_at=exp, used_at=NOW, revoked_at=None) is CodeStatus.USED
    assert reset_code_status(now=NOW, expires_at=exp, used_at=None, revoked_at=NOW) is CodeStatus.REVOKED


def test_validity_is_a_setting_read_from_the_environment(monkeypatch):
    assert Settings().reset_code_valid_hours == 48
    assert Settings.from_mapping({"RESET_CODE_VALID_HOURS": "24"}).reset_code_valid_hours == 24
    monkeypatch.setenv("TUANJIAN_RESET_CODE_VALID_HOURS", "72")
    config = Config(".")
    config.from_prefixed_env("TUANJIAN")          # what create_app does outside tests
    assert Settings.from_mapping(config).reset_code_valid_hours == 72


def _check(**over):
    args = dict(actor_person_id=1, scope_code="001.002", person_id=2, place_codes=["001.002"], has_account=True)
    args.update(over)
    check_may_issue(**args)


def test_who_may_issue():
    _check()                                             # person of the actor's own org
    _check(place_codes=["001.002.003"])                  # person of a direct child
    _check(place_codes=["001.002.003.004", "001.002.003"])   # any one entitling organisation is enough
    with pytest.raises(NotAllowed, match="直属下级"):
        _check(place_codes=["001.002.003.004"])          # grandchild
    with pytest.raises(NotAllowed, match="自己"):
        _check(person_id=1)
    with pytest.raises(NotAllowed, match="管理范围以外"):
        _check(place_codes=["001.002", "001.003"])       # also holds a place in a sibling subtree
    with pytest.raises(NotAllowed, match="管理范围以外"):
        _check(place_codes=["001.002", "001"])           # also holds a place above
    with pytest.raises(Conflict, match="尚未开通"):
        _check(has_account=False)
    with pytest.raises(NotAllowed):
        _check(scope_code=None)
