"""The merged candidates: every institution's nominations of a program in one list, for the
department that runs it (the seed's step 3: re-screen the merged list, re-select, confirm).

Each row shows the verdict, its reasons and the household flags; the department re-screens
the whole list (a synchronous POST; with htmx the summary swaps in while an indicator runs),
and confirms or delivers one by one or the checked rows at once (all or nothing). Confirming a
``review`` verdict is an override: the service refuses it without a note, and keeps the note.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import ngettext

from service import access, exports, lifecycle, nominations, stats
from service import programs as programs_service
from service.db import begin_write, get_session
from service.errors import NotFound, ServiceError
from service.models import Program
from service.rescreening import rescreen

from .. import bp, i18n
from ..auth import current_principal
from . import HOUSEHOLD_FLAGS
from .forms import CandidatesForm, ExportForm, attach

PAGE_SIZE = 50
STATUSES = ("open", "confirmed", "delivered", "cancelled")
OUTCOMES = ("eligible", "review", "ineligible")


def _managed(code: str) -> Program:
    """The program, for its owning department or an admin (403 for anyone else)."""
    principal = current_principal()
    access.require(principal, "programs.manage")
    program = programs_service.get_program(get_session(), code)
    access.require_manager(principal, program)
    return program


def _filters() -> tuple[nominations.ListFilters, dict[str, Any], int]:
    """The list's filters from the query string (unknown values are ignored) and the page number."""
    args = request.args
    chosen = {
        "status": args.get("status") if args.get("status") in STATUSES else None,
        "outcome": args.get("outcome") if args.get("outcome") in OUTCOMES else None,
        "institution": (args.get("institution") or "").strip()[:64] or None,
    }
    page = int(args["page"]) if args.get("page", "").isdigit() and int(args["page"]) > 0 else 1
    filters = nominations.ListFilters(**chosen, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return filters, {k: v for k, v in chosen.items() if v}, page


def _row(item: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A list item with what the page offers for it: the changes the lifecycle allows, the flags."""
    verdict = item.get("verdict") or {}
    outcome = verdict.get("outcome", "")
    reasons = verdict.get("reasons", [])
    return {
        **item,
        "institution_name": names.get(item["institution"], item["institution"]),
        "outcome": outcome,
        "reasons": reasons,
        "flags": [(r["rule"], HOUSEHOLD_FLAGS[r["rule"]]) for r in reasons if r.get("rule") in HOUSEHOLD_FLAGS],
        "changes": [s for s in lifecycle.allowed_changes(item["status"], outcome) if s in ("confirmed", "delivered")],
        "override": lifecycle.needs_note(outcome, "confirmed"),
    }


def _render(
    program: Program,
    form: CandidatesForm | None = None,
    status: int = 200,
    summary: dict[str, Any] | None = None,
    problems: list[str] | None = None,
    refused: dict[int, str] | None = None,
    export_form: ExportForm | None = None,
) -> ResponseReturnValue:
    """The merged list (this page of it) with the forms and whatever the last action answered."""
    session = get_session()
    principal = current_principal()
    filters, chosen, page = _filters()
    items, total = nominations.list_for_program(session, principal, program, filters)
    institutions = [
        (r["key"], r["label"]) for r in stats.statistics(session, "institution", principal, program.code)["rows"]
    ]
    form = form or CandidatesForm(formdata=None)
    html = render_template(
        "desk/candidates.html",
        program=programs_service.describe(session, program),
        manageable=True,
        rows=[_row(item, dict(institutions)) for item in items],
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        chosen=chosen,
        statuses=STATUSES,
        outcomes=OUTCOMES,
        institutions=[(key, label) for key, label in institutions if key],
        form=form,
        checked=set(form.ids.data or []),
        summary=summary,
        problems=problems or [],
        refused=refused or {},
        export_form=export_form or ExportForm(formdata=None),
        tab="candidates",
    )
    return html, status


def _back(code: str) -> ResponseReturnValue:
    """After a change: the same list, with the filters and page it was asked from."""
    return redirect(url_for("admin_ui.desk_candidates", code=code, **request.args.to_dict()))


@bp.get("/programs/<code>/candidates")
def desk_candidates(code: str) -> ResponseReturnValue:
    """The merged list, filtered by status, outcome and institution, a page at a time."""
    return _render(_managed(code))


@bp.route("/programs/<code>/rescreen", methods=["GET", "POST"])
def desk_rescreen(code: str) -> ResponseReturnValue:
    """``재심사``: every open and confirmed nomination against the newest registry and rules."""
    if request.method == "GET":
        return redirect(url_for("admin_ui.desk_candidates", code=code))
    principal = current_principal()
    _managed(code)  # refused (403) before any write
    session = get_session()
    begin_write(session)
    program = programs_service.get_program(session, code)  # read again inside the write transaction
    access.require_manager(principal, program)
    summary = rescreen(session, program, principal)
    session.commit()
    return _render(program, summary=summary.as_dict())


def _changed(count: int, status: str) -> str:
    if status == "confirmed":
        return ngettext("추천 %(num)d건을 확정했습니다.", "추천 %(num)d건을 확정했습니다.", count)
    return ngettext("추천 %(num)d건을 전달 완료로 바꿨습니다.", "추천 %(num)d건을 전달 완료로 바꿨습니다.", count)


def _form_problems(form: CandidatesForm) -> list[str]:
    """Errors of the fields a page shows no input for (the button's status, the checks)."""
    return [str(m) for name in ("status", "ids") for m in form[name].errors]


def _refused(program: Program, form: CandidatesForm, exc: ServiceError) -> ResponseReturnValue:
    """The list again, with the refusal next to the note, on the rows it names, or on top."""
    get_session().rollback()
    refused: dict[int, str] = {}
    if isinstance(exc, lifecycle.BulkRefused):
        refused = {i: i18n.pick(r.ko, r.en) for i, r in exc.refusals.items()}
        problems = [i18n.pick(exc.ko, exc.en)]
    elif "ids" in (exc.errors or {}):  # the checks have no field to show it beside
        problems = [i18n.pick(exc.ko, exc.en)]
    else:
        problems = attach(form, exc)
    return _render(program, form, exc.status, problems=problems, refused=refused)


@bp.route("/programs/<code>/candidates/<int:nomination_id>/status", methods=["GET", "POST"])
def desk_candidate_status(code: str, nomination_id: int) -> ResponseReturnValue:
    """One row's ``확정`` or ``전달 완료`` (the note field applies to it; the checks do not)."""
    if request.method == "GET":
        return redirect(url_for("admin_ui.desk_candidates", code=code))
    program = _managed(code)
    form = CandidatesForm()
    if not form.validate():
        return _render(program, form, 422, problems=_form_problems(form))
    session = get_session()
    nomination = nominations.get_visible(session, current_principal(), nomination_id)
    if nomination.program_id != program.id:
        raise NotFound("추천을 찾을 수 없습니다", f"nomination {nomination_id} not found")
    try:
        lifecycle.change_status(session, nomination, form.status.data, form.note.data, current_principal())
    except ServiceError as exc:
        return _refused(program, form, exc)
    flash(_changed(1, form.status.data), "success")
    return _back(code)


@bp.route("/programs/<code>/candidates/status", methods=["GET", "POST"])
def desk_candidates_status(code: str) -> ResponseReturnValue:
    """``선택 확정`` / ``선택 전달 완료``: the checked rows, all or nothing."""
    if request.method == "GET":
        return redirect(url_for("admin_ui.desk_candidates", code=code))
    program = _managed(code)
    form = CandidatesForm()
    if not form.validate():
        return _render(program, form, 422, problems=_form_problems(form))
    try:
        changed = lifecycle.change_status_many(
            get_session(), form.ids.data, form.status.data, form.note.data, current_principal(), program.id
        )
    except ServiceError as exc:
        return _refused(program, form, exc)
    flash(_changed(len(changed), form.status.data), "success")
    return _back(code)


@bp.route("/programs/<code>/candidates/export", methods=["GET", "POST"])
def desk_candidates_export(code: str) -> ResponseReturnValue:
    """The merged list as CSV or XLSX (every page, the current filters): it lists people, so the
    reason is required and recorded with the download."""
    if request.method == "GET":
        return redirect(url_for("admin_ui.desk_candidates", code=code))
    program = _managed(code)
    form = ExportForm()
    if not form.validate():
        return _render(program, export_form=form, status=422)
    session = get_session()
    filters, _chosen, _page = _filters()
    try:
        reason = exports.require_reason(form.reason.data)
        rows = nominations.export(session, current_principal(), program, filters, reason)
    except ServiceError as exc:
        session.rollback()
        return _render(program, export_form=form, status=exc.status, problems=attach(form, exc))
    fmt = form.format.data or "csv"
    body = exports.render(fmt, f"추천-{program.code}", nominations.EXPORT_HEADERS, rows)
    return exports.attachment(body, fmt, f"{program.code}-candidates")
