"""Read queries of the 本级团干部 pages: ``session`` first, lists or sets."""
from __future__ import annotations

from sqlalchemy import select

from ..models import AdminGrant, CadrePost, PostChange


def admin_person_ids(session, org_id: int) -> set[int]:
    """The people who are (active) admins of the org."""
    return set(session.scalars(select(AdminGrant.person_id).where(AdminGrant.org_id == org_id,
                                                                 AdminGrant.revoked_at.is_(None))))


def recent_changes(session, org_id: int, limit: int = 100) -> list:
    """(PostChange, CadrePost) rows of the org's posts, newest first."""
    return session.execute(select(PostChange, CadrePost).join(CadrePost, PostChange.post_id == CadrePost.id)
                           .where(CadrePost.org_id == org_id).order_by(PostChange.id.desc()).limit(limit)).all()


def post_changes(session, post_id: int) -> list[PostChange]:
    """The history of one post, oldest first."""
    return list(session.scalars(select(PostChange).where(PostChange.post_id == post_id).order_by(PostChange.id)))
