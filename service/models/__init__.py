"""SQLAlchemy models, grouped by domain; importing this package registers them all."""

from .base import Base, utcnow
from .district import INSTITUTION_KINDS, District, Dong, Institution, ResourceCategory, Sponsor
from .nominations import (
    ACCEPTED,
    NOMINATION_STATUSES,
    OUTCOMES,
    Nomination,
    Notification,
    RegistryEvent,
    VerdictRecord,
)
from .pools import Allocation, Pool
from .programs import Program, RuleSetVersion
from .residents import RESIDENT_STATUSES, Receipt, Resident
from .security import ROLES, ApiToken, AuditEntry, AuditReport, User

__all__ = [
    "Allocation",
    "Pool",
    "ACCEPTED",
    "INSTITUTION_KINDS",
    "NOMINATION_STATUSES",
    "OUTCOMES",
    "RESIDENT_STATUSES",
    "ROLES",
    "ApiToken",
    "AuditEntry",
    "AuditReport",
    "Base",
    "District",
    "Dong",
    "Institution",
    "Nomination",
    "Notification",
    "Program",
    "Receipt",
    "RegistryEvent",
    "Resident",
    "ResourceCategory",
    "RuleSetVersion",
    "Sponsor",
    "User",
    "VerdictRecord",
    "utcnow",
]
