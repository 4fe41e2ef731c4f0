"""Who may see and change what: the one access policy of the service.

Every view (API and admin UI), list, count, export, statistic and notification asks this
module; no other module compares roles or institutions. It has two kinds of answer for
each kind of object: a predicate for one object (``can_see_nomination``) and a query filter
for lists (``nominations_visible_to``), written side by side so they cannot drift.

The policy (contract, "Additions of 2026-11-25"):

- a **nominator** (community center, welfare center, private body) sees the nominations its
  own institution made, and only those;
- a **department** sees the nominations of the programs it owns and those its institution
  made; it manages (parameters, re-screening, status, progress) only its own programs;
- an **admin** (the coordinating department) and an **auditor** see every nomination; only
  an admin changes things, only an auditor and an admin read the audit log;
- a **system** (another system calling the API) sees what its own institution nominated
  (least privilege: it evaluates and reports registry events, it does not browse people).

Notifications belong to an institution: each principal sees its own institution's inbox.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import ColumnElement, Select, false, or_, select, true

from .errors import Forbidden, NotFound
from .models import Nomination, Notification, Program
from .security import Principal

# --------------------------------------------------------------------------- actions by role

ACTIONS: Final[dict[str, frozenset[str]]] = {
    # screening
    "evaluate": frozenset({"nominator", "department", "admin", "system"}),
    "nominate": frozenset({"nominator", "department", "admin"}),
    "nominations.read": frozenset({"nominator", "department", "admin", "auditor", "system"}),
    # programs
    "programs.read": frozenset({"nominator", "department", "admin", "auditor", "system"}),
    "programs.create": frozenset({"department", "admin"}),
    "programs.manage": frozenset({"department", "admin"}),
    "programs.progress": frozenset({"department", "admin", "auditor"}),
    # registry, notifications, statistics, audit
    "registry.events": frozenset({"admin", "system"}),
    "notifications.read": frozenset({"nominator", "department", "admin", "auditor", "system"}),
    "stats.read": frozenset({"department", "admin", "auditor"}),
    "audit.read": frozenset({"auditor", "admin"}),
    # resource pools (allocation between departments)
    "pools.manage": frozenset({"admin"}),
    "pools.read": frozenset({"admin", "department", "auditor"}),
}
"""Which roles may attempt each action at all; object scope is decided below."""

SEES_EVERYTHING: Final = frozenset({"admin", "auditor"})


def allowed(principal: Principal, action: str) -> bool:
    """Tell whether the principal's role may attempt ``action`` (scope not yet considered)."""
    return principal.role in ACTIONS[action]


def require(principal: Principal, action: str) -> None:
    """Refuse (403) a principal whose role may not attempt ``action``."""
    if not allowed(principal, action):
        roles = ", ".join(sorted(ACTIONS[action]))
        raise Forbidden(
            f"'{principal.role}' 역할로는 할 수 없습니다 (허용: {roles})",
            f"role '{principal.role}' may not do this (allowed: {roles})",
        )


# --------------------------------------------------------------------------- programs


def can_manage_program(principal: Principal, program: Program) -> bool:
    """Admins manage every program; a department only the programs it owns."""
    return principal.role == "admin" or (
        principal.role == "department" and program.department_id == principal.institution_id
    )


def require_manager(principal: Principal, program: Program) -> None:
    """Refuse (403) anyone but the owning department or an admin."""
    if not can_manage_program(principal, program):
        raise Forbidden(
            "이 사업을 관리하는 부서만 할 수 있습니다",
            "only the department that owns this program (or an admin) may do this",
        )


def can_create_program_for(principal: Principal, department_id: int) -> bool:
    """A department creates programs only for itself; an admin for any department."""
    return principal.role == "admin" or (principal.role == "department" and principal.institution_id == department_id)


def can_see_progress(principal: Principal, program: Program) -> bool:
    """The progress monitor names institutions' nominees: owners, admins and auditors."""
    return principal.role == "auditor" or can_manage_program(principal, program)


def can_list_program_nominations(principal: Principal, program: Program) -> bool:
    """Whether ``GET /programs/{code}/nominations`` answers at all (else 404, as for a read).

    A department lists only programs it owns; nominators and systems list any program but
    see only their own institution's nominations in it (``nominations_visible_to``).
    """
    if principal.role == "department":
        return program.department_id == principal.institution_id
    return allowed(principal, "nominations.read")


def programs_scope(principal: Principal) -> ColumnElement[bool]:
    """Programs whose statistics the principal sees: a department its own, admin/auditor all."""
    if principal.role in SEES_EVERYTHING:
        return true()
    if principal.role == "department":
        return Program.department_id == principal.institution_id
    return false()


# --------------------------------------------------------------------------- nominations


def can_see_nomination(principal: Principal, nomination: Nomination) -> bool:
    """The predicate for one nomination; the same rule as :func:`nomination_filter`."""
    if principal.role in SEES_EVERYTHING:
        return True
    if nomination.institution_id == principal.institution_id:
        return principal.role in ACTIONS["nominations.read"]
    return principal.role == "department" and nomination.program.department_id == principal.institution_id


def nomination_filter(principal: Principal) -> ColumnElement[bool]:
    """The query filter for lists, counts and exports; the same rule as the predicate."""
    if principal.role in SEES_EVERYTHING:
        return true()
    own = Nomination.institution_id == principal.institution_id
    if principal.role == "department":
        owned_programs = select(Program.id).where(Program.department_id == principal.institution_id)
        return or_(own, Nomination.program_id.in_(owned_programs))
    if principal.role in ACTIONS["nominations.read"]:
        return own
    return false()


def nominations_visible_to(principal: Principal, query: Select[Any]) -> Select[Any]:
    """Restrict a query over nominations to those the principal may see."""
    return query.where(nomination_filter(principal))


def require_nomination_visible(principal: Principal, nomination: Nomination | None, nomination_id: int) -> Nomination:
    """The nomination if the principal may see it; another institution's is simply not found."""
    if nomination is None or not can_see_nomination(principal, nomination):
        raise NotFound("추천을 찾을 수 없습니다", f"nomination {nomination_id} not found")
    return nomination


def can_replace(principal: Principal, old: Nomination) -> bool:
    """Only the institution that made a nomination (or the program's manager) replaces it."""
    return old.institution_id == principal.institution_id or can_manage_program(principal, old.program)


# --------------------------------------------------------------------------- notifications


def notification_filter(principal: Principal) -> ColumnElement[bool]:
    """Each principal reads its own institution's inbox."""
    return Notification.institution_id == principal.institution_id


def can_see_notification(principal: Principal, notification: Notification) -> bool:
    """The predicate matching :func:`notification_filter`."""
    return notification.institution_id == principal.institution_id
