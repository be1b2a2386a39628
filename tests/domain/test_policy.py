"""domain.policy: relation of codes, the action × relation table, and the person-ownership rule."""
import pytest

from tuanjian.domain import policy
from tuanjian.domain.errors import NotAllowed
from tuanjian.domain.policy import Relation

S, C, B, OUT = Relation.SELF, Relation.CHILD, Relation.BELOW, Relation.OUTSIDE
SCOPE = "000.012"
CODE_OF = {S: "000.012", C: "000.012.003", B: "000.012.003.004", OUT: "000.013"}


@pytest.mark.parametrize("code,expected", [
    ("000.012", S), ("000.012.003", C), ("000.012.003.004", B), ("000.012.003.004.005", B),
    ("000.013", OUT), ("000", OUT), ("000.0121", OUT), ("000.012003", OUT), ("001.012.003", OUT), ("", OUT),
])
def test_relation(code, expected):
    assert policy.relation(SCOPE, code) is expected


def test_relation_without_scope_is_outside():
    assert policy.relation(None, "000.012") is OUT and policy.relation("", "000.012") is OUT


# action -> the relations it allows (the table, written out once more by hand)
EXPECTED = {
    "org.view": {S, C, B},
    "member.edit": {S, C, B},
    "member.leave_batch": {S, C, B},
    "register.freeze": {S},
    "register.confirm_task": {S},
    "cadre.manage": {S, C},
    "admin.manage": {S, C},
    "code.issue": {C},
    "code.issue_batch": {S},
    "code.print_slips": {S},
    "org.create_child": {S},
    "org.reorder": {C},
    "org.restructure": {C, B},
    "org.move": {C, B},
    "org.receive": {S, C, B},
    "org.close": {C, B},
    "org.edit_info": {S, C, B},
    "org.info_correct": {C, B},
    "exchange.set_key": {C, B},
    "exception.request": {S, C, B},
    "exception.approve": {S},
    "transfer.request": {S, C, B},
    "transfer.decide": {S, C, B},
    "transfer.cancel": {S, C, B},
    "campaign.create": {S, C, B},
    "campaign.close": {S, C, B},
    "reconcile.compare": {S, C, B},
    "reconcile.explain": {S, C, B},
}


def test_campaign_confirmation_is_the_subordinates_own():
    refuse = policy.campaign_confirm_refusal
    assert refuse("一中团委", direct_subordinate=True, own_admin=True) is None
    assert "直属下级" in refuse("一中团委", direct_subordinate=False, own_admin=True)
    assert "“一中团委”自己的管理员" in refuse("一中团委", direct_subordinate=True, own_admin=False)


def test_the_table_has_exactly_the_expected_actions():
    assert set(policy.ACTIONS) == set(EXPECTED)


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("rel", [S, C, B, OUT])
def test_action_by_relation(action, rel):
    code = CODE_OF[rel]
    ok = rel in EXPECTED[action]
    assert policy.allowed(action, SCOPE, code) is ok
    reason = policy.refusal(action, SCOPE, code)
    assert (reason is None) is ok
    if ok:
        policy.require(action, SCOPE, code)
    else:
        assert reason == policy.ACTIONS[action].refusal and reason
        with pytest.raises(NotAllowed, match=reason[:8]):
            policy.require(action, SCOPE, code)
    assert policy.refusal(action, None, code) == policy.NO_SCOPE


def test_unknown_action_is_a_programming_error():
    with pytest.raises(KeyError):
        policy.refusal("no.such", SCOPE, SCOPE)


def test_exchange_key_at_the_instance_root():
    # the lower side enters the key in its own instance, where its org is the root
    assert policy.exchange_key_refusal("000.012", "000.012", is_root=True) is None
    assert policy.exchange_key_refusal("000.012", "000.012", is_root=False) is not None
    assert policy.exchange_key_refusal("000.012", "000.012.003", is_root=False) is None
    assert policy.exchange_key_refusal("000.012.003", "000.012", is_root=True) is not None


PERSON_EXPECTED = {          # action -> (relations every place must have, relations one place must have)
    "person.edit": ({S, C, B}, None),
    "person.correct": ({C, B}, None),
    "person.reset_code": ({S, C, B}, {S, C}),
    "person.first_login_code": ({S, C, B}, {S, C}),
}


def test_person_table_has_exactly_the_expected_actions():
    assert set(policy.PERSON_ACTIONS) == set(PERSON_EXPECTED)


@pytest.mark.parametrize("action", sorted(PERSON_EXPECTED))
@pytest.mark.parametrize("places", [(S,), (C,), (B,), (OUT,), (S, OUT), (C, B), (B, OUT), (C, C), (B, B), ()])
def test_person_action_by_places(action, places):
    every, some = PERSON_EXPECTED[action]
    codes = [CODE_OF[r] for r in places]
    ok = all(r in every for r in places) and (some is None or any(r in some for r in places))
    reason = policy.person_refusal(action, SCOPE, codes)
    assert (reason is None) is ok, (action, places, reason)
    if not ok:
        with pytest.raises(NotAllowed):
            policy.require_person(action, SCOPE, codes)
    assert policy.person_refusal(action, None, codes) == policy.NO_SCOPE


def test_one_place_outside_is_enough_to_refuse_and_the_reason_names_nothing():
    reason = policy.person_refusal("person.edit", SCOPE, ["000.012.003", "000.013.001"])
    assert reason == policy.PERSON_OUTSIDE and "000.013" not in reason


def test_in_reach_and_visible():
    assert policy.in_reach(SCOPE, ["000.012", "000.012.003"]) and policy.in_reach(SCOPE, [])
    assert not policy.in_reach(SCOPE, ["000.012", "000.013"]) and not policy.in_reach(None, [])
    assert policy.visible(SCOPE, ["000.013", "000.012.009"]) and not policy.visible(SCOPE, ["000.013"])
    assert not policy.visible(SCOPE, [])


def test_the_held_elsewhere_messages_name_nobody():
    for message in policy.HELD_ELSEWHERE.values():
        assert message.startswith("该身份证号已在其他组织登记；")
    assert policy.HELD_ELSEWHERE_MEMBER == "该身份证号已在其他组织登记；如需转入本支部，请申请组织关系转接"


@pytest.mark.parametrize("action", ["person.reset_code", "person.first_login_code"])
def test_codes_for_a_person_under_two_children_come_from_their_lowest_common_org(action):
    two_townships = ["000.012.003.004", "000.012.005.001"]
    assert policy.lowest_common_org(two_townships) == "000.012"
    assert policy.person_refusal(action, "000.012", two_townships) is None          # the nearest who covers both
    assert policy.person_refusal(action, "000", two_townships) is not None          # higher up: not its to give
    assert policy.person_refusal(action, "000.012.003", two_townships) == policy.PERSON_ACTIONS[action].refusal
    one_grandchild = ["000.012.003.004"]                                             # one place: its own or parent
    assert policy.person_refusal(action, "000.012", one_grandchild) is not None
    assert policy.lowest_common_org([]) is None and policy.lowest_common_org(["000.1", "001.1"]) is None
    assert policy.lowest_common_org(["000.012.0031", "000.012.003"]) == "000.012"     # dotted, not by characters
