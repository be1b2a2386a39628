"""The demo county: 望江县 with the 36 organisation codes of seed notice 000 (附件1)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from .clock import local_date
from .domain import exceptions as exception_rules
from .domain.orgtree import OrgKind
from .domain.people import id_check_char
from .domain.settings import Settings
from .models import AdminGrant, ExceptionRequest, Member, Org, Person
from .services import audit
from .services.actor import Actor
from .services.orgs import create_child, create_root
from .services.owners import accounts as accounts_owner
from .services.owners import grants, memberships, posts
from .services.owners import people as people_owner

ROOT_NAME = "共青团望江县委员会"
ROOT_CODE = "000.012.016.007"
DEMO_PASSWORD = "wangjiang2026"
REGION = "340827"   # 望江县

K = OrgKind
# (short name, code, kind, township flag) exactly as 附件1 lists them.
COUNTY_ORGS = [
    ("华阳镇团委", "001", K.COMMITTEE, True), ("高士镇团委", "002", K.COMMITTEE, True),
    ("长岭镇团委", "003", K.COMMITTEE, True), ("鸦滩镇团委", "004", K.COMMITTEE, True),
    ("太慈镇团委", "005", K.COMMITTEE, True), ("赛口镇团委", "006", K.COMMITTEE, True),
    ("漳湖镇团委", "007", K.COMMITTEE, True), ("杨湾镇团委", "008", K.COMMITTEE, True),
    ("凉泉乡团委", "009", K.COMMITTEE, True), ("雷池乡团委", "010", K.COMMITTEE, True),
    ("教育局团工委", "011", K.WORKING, False), ("望江二中团委", "012", K.COMMITTEE, False),
    ("望江中学团委", "013", K.COMMITTEE, False), ("望江三中团委", "014", K.COMMITTEE, False),
    ("望江初级中学团委", "015", K.COMMITTEE, False), ("实验学校团委", "016", K.COMMITTEE, False),
    ("文凯学校团委", "017", K.COMMITTEE, False), ("长江学校团委", "018", K.COMMITTEE, False),
    ("皖江职校团委", "019", K.COMMITTEE, False), ("宏艺职校团委", "020", K.COMMITTEE, False),
    ("华阳初级中学团委", "021", K.COMMITTEE, False), ("望江四中团委", "022", K.COMMITTEE, False),
    ("漳湖中学团委", "023", K.COMMITTEE, False), ("赛口中学团委", "024", K.COMMITTEE, False),
    ("高士中学团委", "025", K.COMMITTEE, False), ("太慈中学团委", "026", K.COMMITTEE, False),
    ("长岭中学团委", "027", K.COMMITTEE, False), ("申洲针织团委", "028", K.COMMITTEE, False),
    ("县直团工委", "029", K.LEADING, False), ("润华纺织团委", "030", K.COMMITTEE, False),
    ("开发区团工委", "031", K.WORKING, True), ("供电公司团委", "032", K.COMMITTEE, False),
    ("公安局团委", "033", K.COMMITTEE, False), ("农商行团委", "034", K.COMMITTEE, False),
    ("大闸中学团委", "035", K.COMMITTEE, False), ("吉成双语团委", "036", K.COMMITTEE, False),
]

# parent short name -> [(child short name, kind, member count)]
SUB_ORGS = {
    "华阳镇团委": [("华阳镇机关团支部", K.BRANCH, 6), ("华阳镇城东村团支部", K.BRANCH, 4),
                 ("华阳镇城西村团支部", K.BRANCH, 2), ("华阳镇金塘村团支部", K.BRANCH, 0)],
    "高士镇团委": [("高士镇高士村团支部", K.BRANCH, 3)],
    "望江中学团委": [("高一年级团总支", K.GENERAL_BRANCH, 0), ("高二年级团总支", K.GENERAL_BRANCH, 0),
                 ("望江中学教师团支部", K.BRANCH, 4)],
    "高一年级团总支": [("高一(1)班团支部", K.BRANCH, 8), ("高一(2)班团支部", K.BRANCH, 7)],
    "高二年级团总支": [("高二(1)班团支部", K.BRANCH, 5)],
    "教育局团工委": [("教育局机关团支部", K.BRANCH, 3)],
    "县直团工委": [("县财政局团支部", K.BRANCH, 3), ("县人社局团支部", K.BRANCH, 4)],
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
GIVEN = "子涵欣怡梓轩浩宇雨萱一诺佳怡宇轩思涵晨阳俊杰文博嘉怡明轩若曦天佑雅琪志强建华海燕丽娟晓东春梅国庆红霞"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    org: str
    name: str
    id_number: str
    password: str


def make_id(birth: date, seq: int, male: bool, region: str = REGION) -> str:
    seq3 = seq % 1000
    if (seq3 % 2 == 1) != male:
        seq3 = (seq3 + 1) % 1000
    first17 = f"{region}{birth:%Y%m%d}{seq3:03d}"
    return first17 + id_check_char(first17)


class _People:
    def __init__(self, session, rng: random.Random, actor: Actor):
        self.session, self.rng, self.seq, self.actor = session, rng, 100, actor

    def new(self, *, name: str | None = None, birth: date | None = None, political: str = "共青团员") -> Person:
        rng = self.rng
        self.seq += 7
        if birth is None:
            birth = date(rng.randint(1999, 2010), rng.randint(1, 12), rng.randint(1, 28))
        male = rng.random() < 0.5
        number = make_id(birth, self.seq, male)
        if name is None:
            name = (rng.choice(SURNAMES) + rng.choice(GIVEN[::2])
                    + (rng.choice(GIVEN[1::2]) if rng.random() < 0.7 else ""))
        join_year = min(birth.year + rng.randint(14, 16), 2025)
        return people_owner.create(self.session, self.actor, id_number=number, name=name,
                                   gender="男" if int(number[16]) % 2 else "女", birth_date=birth,
                                   ethnicity="汉族" if rng.random() < 0.95 else "回族", political_status=political,
                                   join_date=f"{join_year:04d}-{rng.choice([4, 5, 9, 10, 12]):02d}",
                                   phone=f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}")


def seed_demo(session, settings: Settings, now: datetime) -> list[DemoLogin]:
    """Create the demo county. The caller checks that the database is empty and commits."""
    actor = Actor.system("演示数据")
    rng = random.Random(20130530)
    people = _People(session, rng, actor)
    root = create_root(session, actor, name=ROOT_NAME, code=ROOT_CODE, kind=OrgKind.LEADING,
                       full_name="中国共产主义青年团望江县委员会")
    by_name: dict[str, Org] = {root.short_name: root}
    for name, seq, kind, township in COUNTY_ORGS:
        org = create_child(session, actor, root, short_name=name, kind=kind, settings=settings, is_township=township)
        assert org.code == f"{ROOT_CODE}.{seq}", (org.code, seq)
        by_name[name] = org
    members_wanted: dict[str, int] = {}
    for parent_name, kids in SUB_ORGS.items():
        for name, kind, n_members in kids:
            by_name[name] = create_child(session, actor, by_name[parent_name], short_name=name, kind=kind,
                                         settings=settings)
            members_wanted[name] = n_members
    dev_rng = random.Random(2017)             # its own stream, so the people stay as they were
    # 团员身份摸底: most have the 入团志愿书 on file, a few are not yet checked
    evidence_rng = random.Random(2019)
    unnumbered: list[tuple[Person, Member, Org, str | None]] = []
    for branch_name, n in members_wanted.items():
        branch = by_name[branch_name]
        for i in range(n):
            person = people.new()
            join_year = int(person.join_date[:4])
            # 发展团员编号 for most later joins; a few are left missing, as in real county data, where a 特殊情况录入
            # can have been asked for: in branches with an admin of their own chain below the county (issue 26.6)
            dev = (f"{join_year}{people.seq:08d}" if join_year >= settings.dev_number_required_from_year
                   and (dev_rng.random() < 0.85 or not _chain_has(branch, DEMO_REQUESTER_ORGS)) else None)
            checked = evidence_rng.random() < 0.9
            member, _ = memberships.add(session, actor, person, branch,
                                        {"dev_number": dev, "has_application": True if checked else None}, now=now)
            position = None
            if i == 0 and branch_name != "华阳镇机关团支部":     # that branch's 书记 is the demo admin 陈晨
                position = "书记"
            elif i == 1 and n >= 5:
                position = "组织委员"
            if position:
                posts.open_post(session, actor, person, branch, position=position, now=now)
            if dev is None and join_year >= settings.dev_number_required_from_year:
                unnumbered.append((person, member, branch, position))

    logins: list[DemoLogin] = []

    def admin(org: Org, name: str, birth: date, position: str, role: str, *, member: bool = False,
              political: str = "中共党员") -> Person:
        person = people.new(name=name, birth=birth, political=political)
        posts.open_post(session, actor, person, org, position=position, now=now)
        accounts_owner.open_claimed_account(session, person, DEMO_PASSWORD, now=now,
                                            hashed=generate_password_hash(DEMO_PASSWORD))
        grants.grant(session, actor, org, person, now=now)
        if member:
            memberships.add(session, actor, person, org, {"has_application": True}, now=now)
        logins.append(DemoLogin(role, org.short_name, name, person.id_number, DEMO_PASSWORD))
        return person

    admin(root, "王青", date(1990, 3, 12), "书记", "县团委管理员")
    vice = people.new(name="李明", birth=date(1994, 8, 2), political="中共党员")
    posts.open_post(session, actor, vice, root, position="副书记", now=now)
    admin(by_name["华阳镇团委"], "张华", date(1995, 6, 18), "书记", "乡镇团委管理员")
    admin(by_name["望江中学团委"], "刘洋", date(1992, 11, 5), "书记", "学校团委管理员")
    admin(by_name["华阳镇机关团支部"], "陈晨", date(2000, 1, 20), "书记", "团支部管理员", member=True,
          political="共青团员")
    session.flush()
    _except_unnumbered(session, unnumbered, root, settings=settings, now=now)
    audit.record(session, actor, "demo.seed", object_type="org", object_id=root.id, org_id=root.id,
                 summary=f"导入演示数据：望江县 {len(by_name)} 个团组织")
    return logins


UNNUMBERED_REASON = ("入团时所在学校尚未申领发展团员编号号段，已按团员身份摸底要求整改："
                     "入团志愿书齐全、入团年龄符合规定，编号由县团委统一补录")


def _chain_has(org: Org, names) -> bool:
    """Whether ``org`` or an org above it is one of ``names``."""
    while org is not None:
        if org.short_name in names:
            return True
        org = org.parent
    return False


# the orgs below the county whose demo admins may have asked for a 特殊情况录入 (seed_demo's admin() calls)
DEMO_REQUESTER_ORGS = ("华阳镇团委", "望江中学团委", "华阳镇机关团支部")


def _except_unnumbered(session, unnumbered, root: Org, *, settings: Settings, now: datetime) -> None:
    """A few later joins have no 发展团员编号, as in real county data. A member the rules refuse exists only by an
    approved 特殊情况录入 (issue 18; seed notice 002: those without a number are rectified, 整改), so the demo records
    one for each, requested by an admin of the branch's own chain and approved by the county: the demo holds nothing
    the app itself would refuse, and the 特殊情况录入 list shows them."""
    approver = session.scalar(select(AdminGrant.person_id).where(AdminGrant.org_id == root.id))
    today = local_date(now)
    for person, member, branch, position in unnumbered:
        # the 申请人: an admin of the branch's own chain (the branch or the nearest org above it with one), never
        # an admin of another committee and never the approver
        requester = None
        org = branch
        while org is not None and org.id != root.id and requester is None:
            requester = session.scalar(select(AdminGrant.person_id).where(AdminGrant.org_id == org.id)
                                       .order_by(AdminGrant.id).limit(1))
            org = org.parent
        assert requester is not None and requester != approver, branch.short_name
        values = {"name": person.name, "id_number": person.id_number, "ethnicity": person.ethnicity,
                  "political_status": person.political_status, "join_date": person.join_date,
                  "phone": person.phone, "is_cadre": "是" if position else "否", "position": position or "",
                  "dev_number": ""}
        data = exception_rules.validate_excepted(values, rules=("dev_number_missing",), settings=settings,
                                                 today=today)
        req = ExceptionRequest(org_id=branch.id, approver_org_id=root.id, name=person.name,
                               id_number=person.id_number, data=data,
                               rules=exception_rules.format_rules(("dev_number_missing",)), reason=UNNUMBERED_REASON,
                               voucher=branch.parent.short_name if branch.parent else root.short_name,
                               status=exception_rules.APPROVED, requested_by_id=requester, requested_at=now,
                               decided_by_id=approver, decided_at=now, decision_note="同意，编号补录后更新")
        session.add(req)
        session.flush()
        memberships.mark_exception(session, member, req.id)


def database_is_empty(session) -> bool:
    return session.scalar(select(Org.id).limit(1)) is None
