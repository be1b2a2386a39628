"""The 交换密钥 of a subtree (``ExchangeLink``): who sets it, stored or configured, and the links' last imports."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ...domain import exchange as fmt
from ...domain import policy
from ...domain.errors import NotAllowed
from ...models import ExchangeLink, Org
from ...queries import within
from .. import audit
from ..actor import Actor


def settings_secret(secret: str | None) -> str | None:
    """The configured 交换密钥 for subtrees without their own (TUANJIAN_EXCHANGE_SECRET, passed in by the caller)."""
    return fmt.normalise_key(secret) or None if secret else None


def link_for(session, code: str) -> ExchangeLink | None:
    return session.scalar(select(ExchangeLink).where(ExchangeLink.root_code == code))


def key_for(session, code: str, default: str | None = None) -> str | None:
    link = link_for(session, code)
    return (link.secret if link is not None and link.secret else None) or settings_secret(default)


def key_refusal(actor: Actor, org: Org) -> str | None:
    """Only an admin above ``org`` sets its 交换密钥 here; at this instance's root its own admins (the lower side
    types in, in its own instance, the key its parent generated). The system actor (the server's command line, no
    person) is the operator and may."""
    if actor.person_id is None and actor.scope_code is None:
        return None
    return policy.exchange_key_refusal(actor.scope_code, org.code, is_root=org.parent_id is None)


def set_key(session, actor: Actor, org: Org, key: str | None, *, now: datetime) -> str:
    """Store the 交换密钥 of ``org`` and its parent (typed in, or a new one when ``key`` is empty)."""
    refusal = key_refusal(actor, org)
    if refusal is not None:
        raise NotAllowed(refusal)
    norm = fmt.check_key(key) if key and key.strip() else None
    shown = key.strip().upper() if norm else fmt.generate_key()
    link = link_for(session, org.code)
    if link is None:
        link = ExchangeLink(root_code=org.code, created_at=now)
        session.add(link)
    link.secret, link.secret_set_at, link.secret_set_by_id = fmt.normalise_key(shown), now, actor.person_id
    audit.record(session, actor, "exchange.key", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"{'填写' if norm else '生成'}交换密钥：{org.short_name}（{org.code}）")
    return shown


def display_key(stored: str | None) -> str:
    if not stored:
        return ""
    return "-".join(stored[i:i + fmt.KEY_GROUP_LEN] for i in range(0, len(stored), fmt.KEY_GROUP_LEN))


def last_links(session, scope: Org) -> list[ExchangeLink]:
    return list(session.scalars(select(ExchangeLink).where(within(ExchangeLink.root_code, scope.code))
                                .order_by(ExchangeLink.root_code)))

