"""My nominations: the institution's nominations in every program, one nomination's story.

The list is what ``access`` lets the officer see (a nominator: its own institution's), with
filters; a download lists people, so it needs a stated reason, which the access log records.
The detail page shows the current verdict, every stored verdict with its replay (re-derived
from the stored facts and rule-set version: "재현됨"), and the replacement chain.
"""

from __future__ import annotations

from typing import Any, Final

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from service import access, exports, nominations, replay
from service import programs as program_service
from service.db import get_session
from service.errors import Invalid
from service.models.nominations import NOMINATION_STATUSES, OUTCOMES

from . import bp, i18n
from .auth import current_principal
from .forms import ExportForm, NominationFilterForm

PAGE_SIZE: Final = 50


def _filter_form() -> NominationFilterForm:
    form = NominationFilterForm(formdata=request.args)
    principal = current_principal()
    programs = program_service.list_programs(get_session(), principal)
    form.program.choices = [("", _("전체 사업"))] + [(p["code"], p["name"]) for p in programs]
    form.outcome.choices = [("", _("전체 판정"))] + [(o, i18n.OUTCOME_LABELS[o]) for o in OUTCOMES]
    form.status.choices = [("", _("전체 상태"))] + [(s, i18n.NOMINATION_STATUS_LABELS[s]) for s in NOMINATION_STATUSES]
    return form


def _filters(form: NominationFilterForm, page: int) -> nominations.DeskFilters:
    """The filters the form holds; a field with a bad value (the form says which) filters nothing."""
    form.validate()

    def good(field: Any) -> Any:
        return None if field.errors else (field.data or None)

    return nominations.DeskFilters(
        program=good(form.program),
        outcome=good(form.outcome),
        status=good(form.status),
        date_from=good(form.date_from),
        date_to=good(form.date_to),
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )


def _render_list(export_form: ExportForm, status: int = 200) -> ResponseReturnValue:
    form = _filter_form()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    filters = _filters(form, page)
    items, total = nominations.list_for_principal(get_session(), current_principal(), filters)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    query = {k: v for k, v in request.args.items() if k not in ("page", "lang") and v}
    return render_template(
        "nominations/list.html",
        form=form,
        items=items,
        total=total,
        page=page,
        pages=pages,
        query=query,
        export_form=export_form,
    ), status


@bp.get("/nominations")
def my_nominations() -> ResponseReturnValue:
    """The nominations the officer may see, newest first, 50 a page, with filters."""
    access.require(current_principal(), "nominations.read")
    return _render_list(ExportForm(formdata=None))


@bp.route("/nominations/export", methods=["GET", "POST"])
def nominations_export() -> ResponseReturnValue:
    """The filtered list as CSV or XLSX; the stated reason is recorded with every person listed."""
    principal = current_principal()
    access.require(principal, "nominations.read")
    export_form = ExportForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        return _render_list(export_form)
    if not export_form.validate():
        return _render_list(export_form, 422)
    try:
        reason = exports.require_reason(export_form.reason.data)
    except Invalid:
        missing = _("내려받는 사유를 적어 주세요. 사유는 접속기록에 남습니다.")
        export_form.reason.errors = [*export_form.reason.errors, missing]
        return _render_list(export_form, 422)
    filters = _filters(_filter_form(), 1)
    rows = nominations.export_for_principal(get_session(), principal, filters, reason)
    fmt = export_form.format.data
    body = exports.render(fmt, "추천 내역", nominations.EXPORT_HEADERS, rows)
    return exports.attachment(body, fmt, "nominations")


@bp.get("/nominations/<int:nomination_id>")
def nomination_detail(nomination_id: int) -> ResponseReturnValue:
    """One nomination: its verdict with reasons, its history with replays, its replacements."""
    principal = current_principal()
    access.require(principal, "nominations.read")
    db = get_session()
    item = nominations.describe_for_desk(db, principal, nomination_id)
    replayed = replay.replay_nomination(db, principal, nomination_id)
    chain = nominations.replacement_chain(db, principal, nomination_id)
    program = program_service.describe(db, program_service.get_program(db, item["program"]))
    history = [
        {"stored": stored, "replayed": again, "trigger": trigger}
        for stored, again, trigger in zip(item["history"], replayed["items"], item["triggers"], strict=False)
    ]
    return render_template(
        "nominations/detail.html",
        item=item,
        history=list(reversed(history)),
        replay_identical=replayed["identical"],
        chain=chain,
        program=program,
    )
