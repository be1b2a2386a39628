"""Every page of the app, found in the URL map and filled with ids from the demo county, for the field-readiness
checks (tests/e2e/test_field.py) and the throttled load benchmark (bench/browser_load.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

# Pages that are not pages: downloads and the static files themselves.
NOT_PAGES = ("static", "members.exception_scan")
ANONYMOUS = {"auth.login", "auth.forgot", "registration.register", "main.help"}
# Where the default value of an argument is not the right one for a page.
OVERRIDES = {
    "members.new": {"org_id": "branch"},
    "members.index": {"org_id": "township"},
    "members.print_list": {"org_id": "township"},
    "members.paper_form": {"org_id": "branch"},
    "members.paper_check": {"org_id": "branch"},
    "orgs.detail": {"org_id": "root"},
    "orgs.structure": {"org_id": "branch"},
}


@dataclass
class DemoIds:
    root: int
    township: int
    branch: int
    member: int
    post: int
    person: int
    campaign: int
    batches: dict          # import kind -> batch id
    exception_keys: tuple
    exception_request: int | None = None      # a pending 特殊情况录入 request (issue 18)

    def value(self, endpoint: str, arg: str, converter_default):
        which = OVERRIDES.get(endpoint, {}).get(arg)
        if which:
            return getattr(self, which)
        if arg == "org_id":
            return self.root
        if arg == "member_id":
            return self.member
        if arg == "post_id":
            return self.post
        if arg == "person_id":
            return self.person
        if arg == "campaign_id":
            return self.campaign
        if arg == "request_id":            # a 特殊情况录入 request
            return self.exception_request
        if arg == "row":                   # the exceptable row of the members batch below
            return 2
        if arg == "batch_id" and endpoint in ("members.row_exception", "members.request_row_exception"):
            return self.batches["members_exception"]
        if arg == "batch_id":
            kind = {"orgs": "org_children", "cadres": "cadres", "members": "members",
                    "exchange": "package"}[endpoint.split(".")[0]]
            return self.batches[kind]
        raise KeyError(f"tests/e2e/sweep.py has no demo value for <{arg}> of {endpoint}: add one")


def prepare(app) -> DemoIds:
    """Ids of demo objects for every kind of id a page takes; creates the few objects the demo lacks
    (a campaign, one pending import batch of each kind)."""
    from tuanjian.demo import ROOT_NAME
    from tuanjian.domain.progress import EXCEPTION_KEYS
    from tuanjian.extensions import db
    from tuanjian.models import CadrePost, Campaign, ImportBatch, Member, Org
    with app.app_context():
        s = db.session

        def org(name):
            return s.scalar(select(Org.id).where(Org.short_name == name))
        root, township, branch = org(ROOT_NAME), org("华阳镇团委"), org("华阳镇城东村团支部")
        member = s.scalar(select(Member.id).where(Member.org_id == branch, Member.deleted_at.is_(None))
                          .order_by(Member.id).limit(1))
        post, person = s.execute(select(CadrePost.id, CadrePost.person_id).where(CadrePost.org_id == township)
                                 .order_by(CadrePost.id).limit(1)).one()
        campaign = Campaign(org_id=root, name="团员信息录入百日攻坚", deadline=date(2099, 6, 30),
                            targets={"branches_done": 100})
        s.add(campaign)
        batches = {}
        for kind, org_id in (("org_children", root), ("cadres", township), ("members", township)):
            batch = ImportBatch(kind=kind, org_id=org_id, file_name="示例.xlsx", file_sha256="0" * 64, status="pending",
                                report={"rows": [], "totals": {"rows": 0, "ok": 0, "error": 0}})
            s.add(batch)
            s.flush()
            batches[kind] = batch.id
        batches["package"] = _package_batch(s, township, root)
        batches["members_exception"], exception_request = _exception_objects(s, branch, root)
        _reconciliation(s, app, township, root)
        s.commit()
        ids = DemoIds(root, township, branch, member, post, person, campaign.id, batches, EXCEPTION_KEYS,
                      exception_request)
        s.remove()
    return ids


def _reconciliation(s, app, township_id: int, root_id: int) -> None:
    """与智慧团建对账 of the county with the township's list (its 智慧团建-format export, one phone changed): the
    result page has every kind of list (the township's people in both, one differing, the rest of the county only
    here)."""
    from io import BytesIO

    from openpyxl import load_workbook

    from tuanjian.models import Org, utcnow
    from tuanjian.services import reconcile
    from tuanjian.services.actor import Actor
    from tuanjian.services.zhtj import zhtj_workbook
    root = s.get(Org, root_id)
    wb = load_workbook(zhtj_workbook(s, s.get(Org, township_id))[0])
    ws = next(ws for ws in wb.worksheets[1:] if ws.max_row >= 3 and not ws.title.endswith("本级团干部"))
    ws.cell(row=2, column=[c.value for c in ws[1]].index("手机号码") + 1).value = "13912345678"
    out = BytesIO()
    wb.save(out)
    reconcile.compare(s, Actor(person_id=None, name="示例", scope_code=root.code, org_id=root.id), root,
                      [(out.getvalue(), "智慧团建导出.xlsx")], settings=app.extensions["tuanjian_settings"],
                      now=utcnow())


def _exception_objects(s, branch_id: int, root_id: int) -> tuple[int, int]:
    """特殊情况录入: a members import batch whose row 2 lacks only its 发展团员编号, and a pending request (with a
    scanned 说明) of the branch, approved at the root."""
    from tuanjian.demo import make_id
    from tuanjian.domain.exceptions import validate_excepted
    from tuanjian.domain.settings import DEFAULT_SETTINGS
    from tuanjian.models import ExceptionRequest, ImportBatch, Org
    branch = s.get(Org, branch_id)
    cells = {"name": "罗例外", "id_number": make_id(date(2003, 5, 21), 993, False), "ethnicity": "汉族",
             "political_status": "共青团员", "join_date": "2019-05", "dev_number": "", "is_cadre": "否",
             "branch": branch.short_name}
    row = {"number": 2, "cells": cells, "kind": "error", "data": {}, "note": "可申请特殊情况录入：缺少发展团员编号",
           "errors": {"dev_number": ["2017年及以后入团的团员须填写发展团员编号（12位）"]}}
    batch = ImportBatch(kind="members", org_id=branch_id, file_name="特殊情况.xlsx", file_sha256="0" * 64,
                        status="pending", report={"rows": [row], "totals": {"rows": 1, "ok": 0, "error": 1}})
    s.add(batch)
    data = validate_excepted({**cells, "id_number": make_id(date(2004, 3, 15), 995, True), "name": "李例外",
                              "join_date": "2017-01", "dev_number": "201712345678"}, rules={"join_age"},
                             settings=DEFAULT_SETTINGS, today=date(2026, 11, 23))
    req = ExceptionRequest(org_id=branch_id, approver_org_id=root_id, name=data["name"], id_number=data["id_number"],
                           data=data, rules="join_age", reason="2017年按当地规定12岁入团，有入团志愿书",
                           voucher="华阳镇团委",
                           scan=b"%PDF-1.4\n%%EOF\n", scan_type="application/pdf", scan_size=15, status="pending")
    s.add(req)
    s.flush()
    return batch.id, req.id


def _package_batch(s, township_id: int, root_id: int) -> int:
    """A real 上报文件 of the township, uploaded at the county and waiting for confirmation (its preview page)."""
    from tuanjian.domain.settings import DEFAULT_SETTINGS
    from tuanjian.models import Org, utcnow
    from tuanjian.services import exchange
    from tuanjian.services.actor import Actor
    township, root = s.get(Org, township_id), s.get(Org, root_id)
    actor = Actor(person_id=None, name="sweep", org_id=root.id, scope_code=root.code)   # the county sets the key
    exchange.set_key(s, actor, township, None, now=utcnow())
    package, _ = exchange.export_package(s, actor, township, now=utcnow())
    batch = exchange.preview_package(s, actor, root, data=package, filename="上报文件.zip", settings=DEFAULT_SETTINGS,
                                     now=utcnow())
    s.flush()
    return batch.id


def page_urls(app, ids: DemoIds) -> list[tuple[str, str, bool]]:
    """(endpoint, path, anonymous) for every GET page in the URL map; downloads (.xlsx) are not pages."""
    out = []
    with app.test_request_context():
        from flask import url_for
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in NOT_PAGES or rule.rule.endswith(".xlsx"):
                continue
            args = {a: ids.value(rule.endpoint, a, None) for a in rule.arguments if a != "key"}
            if rule.endpoint == "registration.register":     # the form, as a registering cadre sees it
                args.update(q="华阳镇团委", org_id=ids.township)
            keys = ids.exception_keys if "key" in rule.arguments else (None,)
            for key in keys:
                extra = {"key": key} if key else {}
                out.append((rule.endpoint + (f"[{key}]" if key else ""), url_for(rule.endpoint, **args, **extra),
                            rule.endpoint in ANONYMOUS))
    return out
