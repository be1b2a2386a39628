"""All models, re-exported for Alembic autogenerate and for convenience."""
from .accounts import Account, AdminGrant, Throttle
from .audit import AuditEntry
from .base import Base, utcnow
from .org import Org
from .people import CadrePost, Member, Person
from .registration import RegistrationCode

__all__ = ["Account", "AdminGrant", "AuditEntry", "Base", "CadrePost", "Member", "Org", "Person",
           "RegistrationCode", "Throttle", "utcnow"]
