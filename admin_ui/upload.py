"""Bulk nomination from a spreadsheet: upload, see every row's verdict, register in one step.

Upload (POST) parses the file (``service.uploads``) and keeps its rows in the server-side
upload store, encrypted under a key held only in the officer's session; the preview (GET)
reads them back and asks ``batch.preview_batch`` for the verdicts as registering them in order
would give; the confirmation claims the kept rows once and hands them to
``batch.nominate_batch``, which stores all of them or none. Bad rows are shown by line and
reason and never registered. The page shows names and masked numbers only.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from service import access, batch, clock, uploads
from service import programs as program_service
from service.db import get_session
from service.errors import Invalid, ServiceError
from service.security import get_cipher

from . import bp, i18n, pages
from .auth import current_principal
from .forms import TicketForm, UploadForm
from .nominate import open_programs, owner, store_dir, ticket_of

BATCH: Final = "desk.batch"
"""Session key: the ticket of the uploaded file waiting for its confirmation (token, key, program)."""


def _form(formdata: Any) -> UploadForm:
    """The form over ``formdata`` (None: an empty form)."""
    form = UploadForm(formdata=formdata)
    form.program.choices = open_programs(current_principal())
    return form


def _render_form(form: UploadForm, status: int = 200, alert: str | None = None) -> ResponseReturnValue:
    limits = {
        "rows": uploads.MAX_ROWS,
        "mb": uploads.MAX_BYTES // (1024 * 1024),
        "minutes": int(uploads.TTL.total_seconds() // 60),
    }
    return render_template("nominate/upload.html", form=form, alert=alert, limits=limits), status


@bp.get("/nominate/upload")
def upload() -> ResponseReturnValue:
    """The upload form; ``?program=`` preselects a program."""
    access.require(current_principal(), "nominate")
    form = _form(formdata=None)
    wanted = request.args.get("program")
    if wanted in dict(form.program.choices):
        form.program.data = wanted
    return _render_form(form)


def _forget() -> None:
    """Drop the file this session was keeping (a newer upload, a cancellation)."""
    ticket = ticket_of(session.pop(BATCH, None))
    if ticket is not None:
        uploads.discard(store_dir(), ticket.token)


@bp.post("/nominate/upload")
def upload_file() -> ResponseReturnValue:
    """Parse the file and keep its rows for the preview; a file unreadable as a whole is refused."""
    principal = current_principal()
    access.require(principal, "nominate")
    form = _form(CombinedMultiDict((request.files, request.form)))
    if not form.validate():
        return _render_form(form, 422)
    upload_file = form.file.data
    data = upload_file.stream.read(uploads.MAX_BYTES + 1)
    try:
        parsed = uploads.parse(upload_file.filename or "", data)
    except Invalid as exc:
        form.file.errors = [*form.file.errors, i18n.pick(exc.ko, exc.en)]
        return _render_form(form, 422)
    _forget()
    ticket = uploads.stash(store_dir(), owner(principal), form.program.data, parsed, clock.now())
    session[BATCH] = {"token": ticket.token, "key": ticket.key, "program": form.program.data}
    return redirect(url_for("admin_ui.upload_preview"), 303)


def _kept() -> tuple[dict[str, Any], uploads.Ticket] | None:
    kept = session.get(BATCH)
    ticket = ticket_of(kept)
    return (kept, ticket) if ticket is not None and isinstance(kept, dict) else None


@bp.get("/nominate/upload/preview")
def upload_preview() -> ResponseReturnValue:
    """Every row's verdict as registering them in order would give it (rows see the rows above
    them: a person twice in a file is a duplicate the second time), and every bad row."""
    principal = current_principal()
    access.require(principal, "nominate")
    found = _kept()
    if found is None:
        flash(_("확인할 파일이 없습니다. 파일을 올려 주세요."), "info")
        return redirect(url_for("admin_ui.upload"))
    kept, ticket = found
    db = get_session()
    program = program_service.get_program(db, str(kept["program"]))
    try:
        parsed = uploads.peek(store_dir(), ticket, owner(principal), program.code, clock.now())
    except ServiceError as exc:
        session.pop(BATCH, None)
        return _render_form(_form(formdata=None), exc.status, alert=i18n.pick(exc.ko, exc.en))
    judged = batch.preview_batch(db, get_cipher(), program, [r.nominee for r in parsed.rows], principal)
    rows: list[dict[str, Any]] = [
        {"line": row.line, "name": j.nominee.name, "rrn": j.nominee.number.masked, "note": j.nominee.note,
         "verdict": j.verdict}
        for row, j in zip(parsed.rows, judged, strict=True)
    ]  # fmt: skip
    counts = Counter(str(j.verdict["outcome"]) for j in judged)
    return render_template(
        "nominate/preview.html",
        program=program_service.describe(db, program),
        rows=rows,
        problems=parsed.problems,
        ignored=parsed.ignored_columns,
        counts={o: counts.get(o, 0) for o in ("eligible", "review", "ineligible")},
        token=ticket.token,
        confirm_form=TicketForm(formdata=None),
        cancel_form=TicketForm(formdata=None),
    )


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    """A file above the request limit: the upload form says so next to the file input (any other
    page under /admin/ answers the usual error page)."""
    if request.endpoint != "admin_ui.upload_file":
        title = i18n.pick("요청이 너무 큽니다", "Request too large")  # as pages' handler says it
        return pages.error_page(413, title, title)
    form = _form(None)
    form.file.errors = [_("파일이 너무 큽니다. %(mb)sMB까지 올릴 수 있습니다.", mb=uploads.MAX_BYTES // (1024 * 1024))]
    return _render_form(form, 413)


@bp.route("/nominate/upload/confirm", methods=["GET", "POST"])
def upload_confirm() -> ResponseReturnValue:
    """Register every good row in one step (all or none), once however often it is sent."""
    principal = current_principal()
    access.require(principal, "nominate")
    if request.method == "GET":
        return redirect(url_for("admin_ui.upload_preview"))
    form = TicketForm()
    found = _kept()
    if not form.validate() or found is None or form.token.data != found[1].token:
        flash(_("확인한 파일이 없거나 이미 등록했습니다. 추천 내역을 확인하세요."), "error")
        return redirect(url_for("admin_ui.my_nominations"))
    kept, ticket = found
    db = get_session()
    try:
        program = program_service.get_program(db, str(kept["program"]))
        with uploads.claimed(store_dir(), ticket, owner(principal), program.code, clock.now()) as parsed:
            ids = batch.nominate_batch(db, get_cipher(), program, [r.nominee for r in parsed.rows], principal)
    except ServiceError as exc:
        db.rollback()
        flash(_("아무것도 등록하지 않았습니다: %(reason)s", reason=i18n.pick(exc.ko, exc.en)), "error")
        return redirect(url_for("admin_ui.upload_preview"))
    session.pop(BATCH, None)
    flash(_("%(n)d명을 추천 등록했습니다. 판정은 아래 목록에서 확인하세요.", n=len(ids)), "success")
    return redirect(url_for("admin_ui.my_nominations", program=program.code))


@bp.route("/nominate/upload/cancel", methods=["GET", "POST"])
def upload_cancel() -> ResponseReturnValue:
    """Forget the uploaded file without registering anything."""
    access.require(current_principal(), "nominate")
    if request.method == "GET":
        return redirect(url_for("admin_ui.upload_preview"))
    form = TicketForm()
    if form.validate():
        _forget()
        flash(_("올린 파일을 지웠습니다. 아무것도 등록하지 않았습니다."), "info")
    return redirect(url_for("admin_ui.upload"))
