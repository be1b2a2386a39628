"""All models, re-exported for Alembic autogenerate and for convenience."""
from .accounts import Account, AdminGrant, FirstLoginCode, ResetCode, Throttle
from .audit import AuditEntry, AuditOrg
from .base import Base, utcnow
from .exchange import ExchangeLink
from .imports import ImportBatch
from .org import Org, OrgCodeChange
from .people import (
    CadrePost,
    ExceptionRequest,
    Member,
    MembershipEvent,
    MemberTally,
    Person,
    PostChange,
    RegisterSnapshot,
    TransferRequest,
)
from .progress import Campaign, CampaignConfirmation, OrgStats
from .reconcile import ReconcileExplanation, ReconcileFigure, Reconciliation
from .registration import RegistrationCode
from .stash import FormStash

__all__ = ["Account", "AdminGrant", "AuditEntry", "AuditOrg", "Base", "CadrePost", "Campaign", "CampaignConfirmation",
           "ExceptionRequest", "ExchangeLink", "FirstLoginCode", "FormStash", "ImportBatch", "Member",
           "MembershipEvent", "MemberTally", "Org", "OrgCodeChange", "OrgStats", "Person", "PostChange",
           "ReconcileExplanation", "ReconcileFigure", "Reconciliation", "RegisterSnapshot", "RegistrationCode",
           "ResetCode", "Throttle", "TransferRequest", "utcnow"]
