"""Every page of the app, found in the URL map and filled with ids from the demo county, for the field-readiness
checks (tests/e2e/test_field.py) and the throttled load benchmark (bench/browser_load.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

# Pages that are not pages: downloads and the static files themselves.
NOT_PAGES = ("static",)
ANONYMOUS = {"auth.login", "auth.forgot", "registration.register", "main.help"}
# Where the default value of an argument is not the right one for a page.
OVERRIDES = {
    "members.new": {"org_id": "branch"},
    "members.index": {"org_id": "township"},
    "members.print_list": {"org_id": "township"},
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
        s.commit()
        ids = DemoIds(root, township, branch, member, post, person, campaign.id, batches, EXCEPTION_KEYS)
        s.remove()
    return ids


def _package_batch(s, township_id: int, root_id: int) -> int:
    """A real 上报文件 of the township, uploaded at the county and waiting for confirmation (its preview page)."""
    import hashlib

    from tuanjian.models import ImportBatch, Org, utcnow
    from tuanjian.services import exchange
    from tuanjian.services.actor import Actor
    township, root = s.get(Org, township_id), s.get(Org, root_id)
    actor = Actor.system("sweep")
    exchange.set_key(s, actor, township, None, now=utcnow())
    package, _ = exchange.export_package(s, actor, township, now=utcnow())
    incoming = exchange.read_package(s, root, package)
    batch = ImportBatch(kind="package", org_id=root.id, file_name="上报文件.zip",
                        file_sha256=hashlib.sha256(package).hexdigest(), status="pending",
                        report=exchange.to_batch_report(incoming))
    s.add(batch)
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
