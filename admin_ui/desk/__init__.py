"""The department desk of the admin UI: run a program after its thresholds are set.

- ``/admin/desk``: the programs an officer runs or oversees, open or closed, with the quota's use;
- ``/admin/programs/{code}/progress``: nominations by institution, the replacements still owed,
  a reminder in one click;
- ``/admin/programs/{code}/candidates``: every institution's nominations merged, re-screening,
  confirming and delivering one by one or in bulk (an override needs a note);
- ``/admin/pools``: resource pools and their allocation between departments' programs;
- ``/admin/stats``: dashboards by dong, institution, sponsor, category and program, household
  concentration behind a stated reason, every table as CSV and XLSX.

Its views, like the policy desk's, parse a form, call ``service`` and render; who may open or
do what is asked of ``service.access``. Messages live in their own catalog
(``admin_ui/translations_desk``, ``make i18n``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from flask import request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from service import access

from .. import bp

HOUSEHOLD_FLAGS: Final = {
    "household_already_nominated": _l("세대원 추천 있음"),
    "household_nominated_elsewhere": _l("다른 사업 추천 있음"),
    "household_resource_limit": _l("세대 수혜 한도"),
}
"""The household reasons a department weighs when it merges the lists, shown as badges."""


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: bool


_PROGRAM_SCREENS: Final = frozenset({
    "admin_ui.desk", "admin_ui.desk_program_status", "admin_ui.desk_progress", "admin_ui.desk_send_reminders",
    "admin_ui.desk_candidates", "admin_ui.desk_rescreen", "admin_ui.desk_candidate_status",
    "admin_ui.desk_candidates_status", "admin_ui.desk_candidates_export",
})  # fmt: skip
_NAV: Final = (
    # (label, endpoint, the action that shows it, the endpoints that mark it current)
    (_l("사업 운영"), "admin_ui.desk", "programs.progress", _PROGRAM_SCREENS),
    (_l("자원 풀"), "admin_ui.desk_pools", "pools.read", frozenset({"admin_ui.desk_pools", "admin_ui.desk_pool",
                                                                "admin_ui.desk_allocate"})),
    (_l("통계"), "admin_ui.desk_stats", "stats.read", frozenset({"admin_ui.desk_stats", "admin_ui.desk_households"})),
)  # fmt: skip


def navigation() -> list[NavItem]:
    """The desk's links in the main menu, those the officer's role may use."""
    principal = getattr(current_user, "principal", None) if current_user.is_authenticated else None
    if principal is None:
        return []
    return [
        NavItem(str(label), url_for(endpoint), request.endpoint in current)
        for label, endpoint, action, current in _NAV
        if access.allowed(principal, action)
    ]


@bp.context_processor
def _desk_context() -> dict[str, Any]:
    return {"desk_navigation": navigation}


from . import candidates, monitor, overview, pools, stats  # noqa: E402,F401 - the modules register their views
