"""Korean first, English on request: the locale of a page and the texts the service sends in pairs.

A page is Korean unless the officer chose English (``?lang=en``, remembered in the session).
The browser's Accept-Language is not consulted: district offices work in Korean, and a
screen that changes language by itself would confuse a shared desk.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import urlencode

from flask import request, session, url_for
from flask_babel import format_datetime, get_locale, lazy_gettext

from . import bp

DEFAULT_LOCALE: Final = "ko"
LOCALES: Final = ("ko", "en")
LANGUAGE_NAMES: Final = {"ko": "한국어", "en": "English"}

# A POST view's page, when the language is switched on it, reloads as its GET twin.
_GET_TWIN: Final = {"admin_ui.simulate": "admin_ui.thresholds", "admin_ui.publish": "admin_ui.thresholds"}

UNITS: Final = {"times": lazy_gettext("회"), "days": lazy_gettext("일"), "years": lazy_gettext("세")}


def select_locale() -> str:
    """Flask-Babel's locale selector: ``?lang=`` first, then the session, else Korean."""
    if request:
        chosen = request.args.get("lang")
        if chosen in LOCALES:
            return chosen
        remembered = session.get("lang")
        if remembered in LOCALES:
            return str(remembered)
    return DEFAULT_LOCALE


@bp.before_request
def remember_language() -> None:
    """Keep an explicit ``?lang=`` choice for the following pages of the session."""
    if request.args.get("lang") in LOCALES:
        session["lang"] = request.args["lang"]


def current() -> str:
    return str(get_locale() or DEFAULT_LOCALE)


def pick(ko: str, en: str) -> str:
    """The service's message pair in the page's language."""
    return en if current() == "en" else ko


def text(pair: Any) -> str:
    """A ``{ko, en}`` mapping (labels, rule titles) in the page's language, Korean as fallback."""
    if isinstance(pair, dict):
        return str(pair.get(current()) or pair.get("ko") or pair.get("en") or "")
    return "" if pair is None else str(pair)


def switch_url(lang: str) -> str:
    """This page in another language (a POST result page switches on its GET twin)."""
    endpoint = request.endpoint or "admin_ui.programs"
    if request.method != "GET":
        endpoint = _GET_TWIN.get(endpoint, endpoint)
        return url_for(endpoint, **(request.view_args or {}), lang=lang)
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    args.append(("lang", lang))
    return f"{request.path}?{urlencode(args)}"


@bp.app_template_filter("unit")
def unit_label(unit: str) -> str:
    """A parameter's unit as an officer reads it (회, 일, 세)."""
    label = UNITS.get(unit)
    return str(label) if label is not None else unit


@bp.app_template_filter("l10n")
def localized(pair: Any) -> str:
    return text(pair)


@bp.context_processor
def _language_context() -> dict[str, Any]:
    return {"current_locale": current, "switch_url": switch_url, "language_names": LANGUAGE_NAMES, "locales": LOCALES}


ROLE_LABELS: Final = {
    "admin": lazy_gettext("총괄 부서"),
    "department": lazy_gettext("사업 부서"),
    "nominator": lazy_gettext("추천 기관"),
    "auditor": lazy_gettext("감사"),
    "system": lazy_gettext("연계 시스템"),
}
OUTCOME_LABELS: Final = {
    "eligible": lazy_gettext("적격"),
    "review": lazy_gettext("검토 필요"),
    "ineligible": lazy_gettext("부적격"),
}
OUTCOME_TONES: Final = {"eligible": "success", "review": "warning", "ineligible": "danger"}
PROGRAM_STATUS_LABELS: Final = {"open": lazy_gettext("진행 중"), "closed": lazy_gettext("마감")}
NOMINATION_STATUS_LABELS: Final = {
    "open": lazy_gettext("접수"),
    "confirmed": lazy_gettext("확정"),
    "delivered": lazy_gettext("전달 완료"),
    "cancelled": lazy_gettext("취소"),
}
SEVERITY_LABELS: Final = {"block": lazy_gettext("차단"), "review": lazy_gettext("검토")}


def _label(table: dict[str, Any], key: str | None) -> str:
    return str(table.get(key or "", key or ""))


@bp.context_processor
def _label_context() -> dict[str, Any]:
    return {
        "role_label": lambda role: _label(ROLE_LABELS, role),
        "outcome_label": lambda outcome: _label(OUTCOME_LABELS, outcome),
        "outcome_tone": lambda outcome: OUTCOME_TONES.get(outcome, "gray"),
        "program_status_label": lambda status: _label(PROGRAM_STATUS_LABELS, status),
        "nomination_status_label": lambda status: _label(NOMINATION_STATUS_LABELS, status),
        "severity_label": lambda severity: _label(SEVERITY_LABELS, severity),
    }


@bp.app_template_filter("datetime_kst")
def datetime_kst(value: Any) -> str:
    """An aware timestamp as Korean office time (stored in UTC, read in KST)."""
    if value is None:
        return "–"
    return str(format_datetime(value, "yyyy-MM-dd HH:mm"))


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


@bp.app_template_filter("rule_text")
def rule_text(rule: dict[str, Any], parameters: dict[str, Any]) -> str:
    """A rule as an officer reads it: its title, else its message with the program's parameter
    values filled in and the per-person facts left as "…"."""
    if rule.get("title"):
        return text(rule["title"])
    template = text(rule.get("message"))
    return _PLACEHOLDER.sub(lambda m: str(parameters.get(m.group(1), "…")), template)
