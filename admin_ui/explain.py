"""Verdicts as a person reads them, and the nomination desk's menu.

A verdict's reason carries the facts its rule compared and the thresholds it used (contract,
"Verdict"). Here they become lines a desk officer can check: the fact's Korean label from the
rule catalogue (``rules.FACTS``), yes/no for booleans, a threshold with its label and unit. No
rule is decided here; the words are only chosen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from flask import request, url_for
from flask_babel import lazy_gettext
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

import rules
from service import access, notifications
from service.db import get_session

from . import bp, i18n

RESIDENT_STATUS_WORDS: Final = {
    "active": lazy_gettext("거주"),
    "deceased": lazy_gettext("사망"),
    "moved_out": lazy_gettext("전출"),
}
TRIGGER_LABELS: Final = {
    "nominate": lazy_gettext("추천 시"),
    "rescreen": lazy_gettext("재심사"),
    "registry_event": lazy_gettext("주민등록 변동"),
}


def _fact_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(lazy_gettext("예") if value else lazy_gettext("아니오"))
    if name == "resident.status" and value in RESIDENT_STATUS_WORDS:
        return str(RESIDENT_STATUS_WORDS[value])
    if value == "" or value is None:
        return "–"
    return str(value)


@bp.app_template_filter("reason_lines")
def reason_lines(reason: dict[str, Any], bounds: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The facts and thresholds a reason used, labelled: ``[{label, name, value, threshold}]``.

    ``bounds`` is the program's ``parameter_bounds`` (labels and units); ``limit`` repeats the
    threshold the rule compared with and is shown only when that threshold is not named."""
    bounds = bounds or {}
    facts = dict(reason.get("facts") or {})
    lines: list[dict[str, Any]] = []
    thresholds = [name for name in facts if name in bounds]
    for name, value in facts.items():
        spec = rules.FACTS.get(name)
        if spec is not None:
            label = spec.label_ko if i18n.current() == "ko" else spec.description_en
            lines.append({"label": label, "name": name, "value": _fact_value(name, value), "threshold": False})
        elif name in bounds:
            unit = i18n.unit_label(bounds[name].get("unit", ""))
            label = i18n.text(bounds[name].get("label")) or name
            lines.append({"label": label, "name": name, "value": f"{value} {unit}".strip(), "threshold": True})
        elif name == "limit" and not thresholds:
            lines.append({"label": str(lazy_gettext("기준값")), "name": name, "value": str(value), "threshold": True})
    return lines


@bp.app_template_filter("reason_message")
def reason_message(reason: dict[str, Any]) -> str:
    """The reason's sentence in the page's language."""
    return i18n.text(reason.get("messages") or reason.get("message"))


@bp.app_template_filter("iso_kst")
def iso_kst(value: str | None) -> str:
    """A verdict's ``evaluated_at`` (ISO 8601 text) as Korean office time."""
    if not value:
        return "–"
    try:
        return i18n.datetime_kst(datetime.fromisoformat(value))
    except ValueError:
        return value


@bp.app_template_filter("trigger_label")
def trigger_label(trigger: str | None) -> str:
    label = TRIGGER_LABELS.get(trigger or "")
    return str(label) if label is not None else (trigger or "")


# --------------------------------------------------------------------------- the desk's menu

DESK_MENU: Final = (
    ("admin_ui.nominate", "nominate", lazy_gettext("추천하기"), ("admin_ui.nominate_check", "admin_ui.upload")),
    ("admin_ui.my_nominations", "nominations.read", lazy_gettext("추천 내역"), ("admin_ui.nomination_detail",)),
    ("admin_ui.inbox", "notifications.read", lazy_gettext("알림"), ()),
    ("admin_ui.browse", "programs.read", lazy_gettext("사업 안내"), ("admin_ui.browse_program",)),
)
"""(endpoint, action the role needs, label, endpoints that count as the same menu entry)."""


def _unread() -> int | None:
    """The inbox badge; a database that does not answer must not break every page's header."""
    session = get_session()
    try:
        return notifications.unread_count(session, current_user.principal)
    except SQLAlchemyError:
        session.rollback()
        return None


def desk_menu() -> list[dict[str, Any]]:
    """The desk's links for an officer who may nominate, with the unread count on 알림 (the
    program browser only for those who do not manage programs: they have the full list)."""
    if not current_user.is_authenticated or not access.allowed(current_user.principal, "nominate"):
        return []
    principal = current_user.principal
    items = []
    for endpoint, action, label, also in DESK_MENU:
        if not access.allowed(principal, action):
            continue
        if endpoint == "admin_ui.browse" and access.allowed(principal, "programs.manage"):
            continue
        items.append(
            {
                "url": url_for(endpoint),
                "label": str(label),
                "current": request.endpoint == endpoint or request.endpoint in also,
                "badge": _unread() if endpoint == "admin_ui.inbox" else None,
            }
        )
    return items


@bp.context_processor
def _desk_context() -> dict[str, Any]:
    return {"desk_menu": desk_menu}
