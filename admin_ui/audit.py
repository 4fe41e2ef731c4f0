"""The auditor's desk (``/admin/audit``): the monthly review of the access records (접속기록 점검).

- ``/admin/audit?month=YYYY-MM``: the month's personal-data access by actor, institution and
  action, and the flagged rows (volume against peers, out-of-hours access, public holidays
  included) with their reasons — ``service.audit.monthly_report``, the report the CLI prints;
- ``POST /admin/audit/reports``: keep that review (``keep_report``: stored with its SHA-256 and
  recorded in the log); ``/admin/audit/reports/{id}`` shows a kept one, ``.json`` downloads its
  exact body, whose SHA-256 is the kept one;
- ``/admin/audit/log``: the search of the access log (recorded: an auditor's reading is access
  too) and its CSV/XLSX export, which needs a stated reason, kept with the download.

Who may open it is ``service.access``'s ``audit.read`` (auditors and admins); views parse,
call ``service.audit`` and render.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from service import access, audit, clock, exports
from service.db import get_session
from service.errors import Invalid, ServiceError

from . import bp, i18n
from .auth import current_principal
from .forms import AuditExportForm, AuditSearchForm, KeepReportForm, pair_text

PAGE_SIZE: Final = 50
FLAG_LABELS: Final = {"volume": _l("접근량 과다"), "out_of_hours": _l("근무시간 외 접근")}
_SCREENS: Final = frozenset({"admin_ui.audit_review", "admin_ui.audit_report", "admin_ui.audit_log",
                             "admin_ui.audit_keep", "admin_ui.audit_export"})  # fmt: skip


@dataclass(frozen=True)
class MenuItem:
    label: str
    url: str
    current: bool


def menu() -> MenuItem | None:
    """The desk's entry in the main menu, for those ``access`` lets read the audit log."""
    principal = getattr(current_user, "principal", None) if current_user.is_authenticated else None
    if principal is None or not access.allowed(principal, "audit.read"):
        return None
    return MenuItem(str(_l("접속기록 점검")), url_for("admin_ui.audit_review"), request.endpoint in _SCREENS)


def report_days(report: dict[str, Any]) -> dict[str, str]:
    """The first and last day (KST) a report covers: the log search's ``date_from`` and ``date_to``."""
    start, end = audit.month_bounds(report["month"])
    return {"date_from": start.date().isoformat(), "date_to": (end.date() - timedelta(days=1)).isoformat()}


@bp.context_processor
def _audit_context() -> dict[str, Any]:
    return {"audit_menu": menu, "flag_label": lambda kind: str(FLAG_LABELS.get(kind, kind)), "report_days": report_days}


def _month_links(month: str) -> dict[str, str]:
    """The months before and after ``month`` (a valid ``YYYY-MM``), for the page's arrows."""
    start, end = audit.month_bounds(month)
    return {"previous": audit.previous_month(start.date()), "next": end.date().strftime("%Y-%m")}


@bp.get("/audit")
def audit_review() -> ResponseReturnValue:
    """The month's review (default: last month, by the service's clock); a bad month is a 422
    page that says what a month looks like."""
    principal = current_principal()
    access.require(principal, "audit.read")
    month = (request.args.get("month") or "").strip()[:20] or audit.previous_month(clock.today())
    session = get_session()
    try:
        report = audit.monthly_report(session, month)
    except Invalid as exc:
        problem = i18n.pick(exc.ko, exc.en)
        page = render_template("audit/review.html", month=month, report=None, problem=problem, kept=[],
                               keep_form=None, links=None)  # fmt: skip
        return page, 422
    kept = audit.kept_reports(session, principal, month)
    return render_template(
        "audit/review.html", month=month, report=report, problem=None, kept=kept,
        keep_form=KeepReportForm(formdata=None, month=month), links=_month_links(month),
    )  # fmt: skip


@bp.post("/audit/reports")
def audit_keep() -> ResponseReturnValue:
    """Keep the month's review as it is now (stored, hashed and recorded), then show it."""
    principal = current_principal()
    access.require(principal, "audit.read")
    form = KeepReportForm()
    if not form.validate():
        return redirect(url_for("admin_ui.audit_review"))
    kept = audit.keep_report(get_session(), principal, form.month.data)
    flash(_("%(month)s 점검 보고서를 보관했습니다 (#%(id)s).", month=kept.month, id=kept.id), "success")
    return redirect(url_for("admin_ui.audit_report", report_id=kept.id))


@bp.get("/audit/reports/<int:report_id>")
def audit_report(report_id: int) -> ResponseReturnValue:
    """A kept review exactly as it was kept, with who kept it, when, and its SHA-256."""
    principal = current_principal()
    access.require(principal, "audit.read")
    kept = audit.kept_report(get_session(), principal, report_id)
    return render_template("audit/report.html", kept=kept, report=kept.body)


@bp.get("/audit/reports/<int:report_id>.json")
def audit_report_json(report_id: int) -> ResponseReturnValue:
    """The kept body as the bytes that were hashed: ``sha256sum`` of the file is the kept digest."""
    principal = current_principal()
    access.require(principal, "audit.read")
    kept = audit.kept_report(get_session(), principal, report_id)
    response = Response(audit.report_bytes(kept.body), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-report-{kept.month}-{kept.id}.json"'
    response.headers["X-Content-SHA256"] = kept.sha256
    return response


def _filters(form: AuditSearchForm, page: int = 1, limit: int = PAGE_SIZE) -> audit.AuditFilters:
    return audit.AuditFilters(
        actor=(form.actor.data or "").strip() or None,
        action=(form.action.data or "").strip() or None,
        institution=(form.institution.data or "").strip() or None,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        limit=limit,
        offset=(page - 1) * limit,
    )


def _search_page(form: AuditSearchForm, export_form: AuditExportForm, status: int = 200,
                 problems: list[str] | None = None) -> ResponseReturnValue:  # fmt: skip
    """The log's entries for valid filters (the reading is recorded), else the form's errors."""
    items: list[Any] = []
    total = 0
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    if form.validate():
        items, total = audit.search(get_session(), current_principal(), _filters(form, page))
    elif status == 200:
        status = 422
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    query = {k: v for k, v in request.args.items() if k not in ("page", "lang")}
    page_body = render_template("audit/log.html", form=form, export_form=export_form, items=items, total=total,
                                page=page, pages=pages, query=query, problems=problems or [])  # fmt: skip
    return page_body, status


@bp.get("/audit/log")
def audit_log() -> ResponseReturnValue:
    """Search the access log by actor, action, institution and dates (KST), newest first."""
    access.require(current_principal(), "audit.read")
    form = AuditSearchForm(request.args)
    return _search_page(form, AuditExportForm(formdata=None))


@bp.post("/audit/log/export")
def audit_export() -> ResponseReturnValue:
    """Every entry the filters select as CSV or XLSX: only with a stated reason, recorded with
    the download (``service.audit.export``); a refusal shows the search again with the reason's error."""
    principal = current_principal()
    access.require(principal, "audit.read")
    form = AuditSearchForm(request.form)
    export_form = AuditExportForm()
    if not export_form.validate() or not form.validate():
        return _search_page(form, export_form, 422)
    session = get_session()
    try:
        reason = exports.require_reason(export_form.reason.data)
        rows = audit.export(session, principal, _filters(form), reason, export_form.format.data)
    except ServiceError as exc:
        session.rollback()
        for field, messages in (exc.errors or {}).items():
            target = getattr(export_form, field, None) or getattr(form, field, None)
            if target is not None:
                target.errors = [*target.errors, *[pair_text(m) for m in messages]]
        return _search_page(form, export_form, exc.status, [i18n.pick(exc.ko, exc.en)])
    fmt = export_form.format.data
    return exports.attachment(exports.render(fmt, "접속기록", audit.EXPORT_HEADERS, rows), fmt, "audit")
