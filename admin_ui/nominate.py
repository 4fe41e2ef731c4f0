"""The nomination desk: one nominee at a time (``/admin/nominate``), checked or registered.

``추천 등록`` registers and answers with the verdict at once; ``미리 확인`` evaluates without
storing (``nominating.evaluate``) and offers to register exactly the person it checked. No
page after a submission carries the whole resident registration number, not even a form that
asks for a correction (``forms.RRNField`` renders empty): the checked number is kept for the
confirmation in the server-side upload store (``service.uploads``), under a key that only the
officer's session holds.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Final

from flask import current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from service import access, clock, nominating, nominations, uploads
from service import programs as program_service
from service.batch import Nominee
from service.db import get_session
from service.errors import Invalid, NotFound, ServiceError
from service.security import Principal, get_cipher

from . import bp, i18n
from .auth import current_principal
from .forms import NominateForm, TicketForm, pair_text

CHECKED: Final = "desk.checked"
"""Session key: the ticket of the nominee last checked with 미리 확인 (token, key, program, replaces)."""
SENT: Final = "desk.sent"
"""Session key: form ids already registered (id → nomination), so a resent form registers once."""
KEEP_SENT: Final = 20


def store_dir() -> Path:
    """Where uploaded rows wait for their confirmation (the instance folder, shared by workers)."""
    return Path(current_app.instance_path) / "uploads"


def owner(principal: Principal) -> str:
    """Who kept rows belong to: the actor at the institution (bound into the encryption)."""
    return f"{principal.actor}@{principal.institution_code}"


def ticket_of(kept: dict[str, Any] | None) -> uploads.Ticket | None:
    if not isinstance(kept, dict) or not kept.get("token") or not kept.get("key"):
        return None
    return uploads.Ticket(str(kept["token"]), str(kept["key"]))


def open_programs(principal: Principal) -> list[tuple[str, str]]:
    """The programs a nominee can be registered for now: the open ones."""
    items = program_service.list_programs(get_session(), principal, status="open")
    return [(item["code"], f"{item['name']} ({item['code']})") for item in items]


def _form(principal: Principal, formdata: Any, replaces: int | None = None) -> NominateForm:
    """The form over ``formdata`` (None: an empty form, even while answering a POST). A
    replacement is for the replaced nomination's program only."""
    form = NominateForm(formdata=formdata)
    choices = open_programs(principal)
    replaces = replaces or form.replaces_id()
    if replaces:
        program = nominations.get_visible(get_session(), principal, replaces).program.code
        choices = [c for c in choices if c[0] == program]
    form.program.choices = choices
    return form


def _describe(code: str | None) -> dict[str, Any] | None:
    if not code:
        return None
    db = get_session()
    try:
        return program_service.describe(db, program_service.get_program(db, code))
    except NotFound:
        return None


def _replaced(principal: Principal, replaces: int | None) -> dict[str, Any] | None:
    """The nomination a replacement names (scoped: another institution's is not found)."""
    return nominations.read(get_session(), principal, replaces) if replaces else None


def _render(
    form: NominateForm,
    status: int = 200,
    result: dict[str, Any] | None = None,
    checked: dict[str, Any] | None = None,
    alert: str | None = None,
    masked: str | None = None,
    replaced: dict[str, Any] | None = None,
) -> ResponseReturnValue:
    """The form page; ``result`` is a registered nomination, ``checked`` a dry run's answer,
    ``replaced`` the nomination a replacement names (read here when not given)."""
    principal = current_principal()
    shown = result or checked
    program = _describe(shown["program"] if shown else form.program.data)
    if replaced is None:
        replaced = _replaced(principal, form.replaces_id())
    page = render_template(
        "nominate/form.html",
        form=form,
        result=result,
        checked=checked,
        program=program,
        replaced=replaced,
        alert=alert,
        masked=masked,
        again=bool(form.errors) or checked is not None or alert is not None,
        confirm_form=TicketForm(formdata=None) if checked else None,
    )
    return page, status


def _fresh(principal: Principal, program: str | None, replaces: int | None = None) -> NominateForm:
    """An empty form for the next nominee, keeping the program."""
    form = _form(principal, None, replaces)
    form.program.data = program
    form.replaces.data = str(replaces) if replaces else ""
    form.form_id.data = secrets.token_urlsafe(16)
    return form


@bp.get("/nominate")
def nominate() -> ResponseReturnValue:
    """The form; ``?program=`` preselects a program, ``?replaces=ID`` nominates a replacement."""
    principal = current_principal()
    access.require(principal, "nominate")
    replaces = request.args.get("replaces", type=int)
    replaced = _replaced(principal, replaces)
    form = _fresh(principal, replaced["program"] if replaced else request.args.get("program"), replaces)
    if not form.program.data and form.program.choices:
        form.program.data = form.program.choices[0][0]
    return _render(form, replaced=replaced)


def _failed(form: NominateForm, exc: ServiceError) -> ResponseReturnValue:
    """A refusal of the service (a closed program, a nomination already replaced): the form
    again, with the service's reason (its field messages are "한국어 (English)" pairs)."""
    get_session().rollback()
    alert = i18n.pick(exc.ko, exc.en)
    if isinstance(exc, Invalid) and exc.errors:
        messages = [pair_text(str(m)) for values in exc.errors.values() for m in _as_list(values)]
        alert = f"{alert}: {'; '.join(messages)}"
    return _render(form, exc.status, alert=alert, masked=form.rrn.number.masked if form.rrn.number else None)


def _as_list(values: Any) -> list[Any]:
    return values if isinstance(values, list) else [values]


def _already_sent(form: NominateForm) -> int | None:
    sent = session.get(SENT) or {}
    return sent.get(form.form_id.data or "") if isinstance(sent, dict) else None


def _remember_sent(form_id: str | None, nomination_id: int) -> None:
    if not form_id:
        return
    sent = dict(session.get(SENT) or {})
    sent[form_id] = nomination_id
    session[SENT] = dict(list(sent.items())[-KEEP_SENT:])


def _registered(nomination_id: int, program: str) -> ResponseReturnValue:
    """The answer: the stored nomination's verdict above an empty form for the next nominee."""
    principal = current_principal()
    result = nominations.describe_for_desk(get_session(), principal, nomination_id)
    return _render(_fresh(principal, program), result=result)


@bp.post("/nominate")
def nominate_register() -> ResponseReturnValue:
    """``추천 등록``: store the nomination and show its verdict at once (a duplicate too)."""
    principal = current_principal()
    access.require(principal, "nominate")
    form = _form(principal, request.form)
    if not form.validate():
        return _render(form, 422, masked=form.rrn.number.masked if form.rrn.number else None)
    done = _already_sent(form)
    if done is not None:
        return _registered(done, form.program.data)
    assert form.rrn.number is not None  # validated
    db = get_session()
    try:
        program = program_service.get_program(db, form.program.data)
        nomination = nominating.nominate(
            db, get_cipher(), program, form.rrn.number, form.name.data, (form.note.data or "").strip() or None,
            form.replaces_id(), principal,
        )  # fmt: skip
    except ServiceError as exc:
        return _failed(form, exc)
    _remember_sent(form.form_id.data, nomination.id)
    return _registered(nomination.id, program.code)


@bp.route("/nominate/check", methods=["GET", "POST"])
def nominate_check() -> ResponseReturnValue:
    """``미리 확인``: keep the nominee (encrypted, for the confirmation) and show the dry run."""
    principal = current_principal()
    access.require(principal, "evaluate")
    if request.method == "GET":
        return redirect(url_for("admin_ui.nominate_checked"))
    form = _form(principal, request.form)
    if not form.validate():
        return _render(form, 422, masked=form.rrn.number.masked if form.rrn.number else None)
    db = get_session()
    try:
        program = program_service.get_program(db, form.program.data)
    except ServiceError as exc:
        return _failed(form, exc)
    assert form.rrn.number is not None
    nominee = Nominee(form.rrn.number, form.name.data, (form.note.data or "").strip() or None)
    previous = ticket_of(session.get(CHECKED))
    if previous is not None:
        uploads.discard(store_dir(), previous.token)
    parsed = uploads.Parsed([uploads.Row(1, nominee)], [], [])
    ticket = uploads.stash(store_dir(), owner(principal), program.code, parsed, clock.now())
    session[CHECKED] = {
        "token": ticket.token, "key": ticket.key, "program": program.code, "replaces": form.replaces_id(),
    }  # fmt: skip
    return redirect(url_for("admin_ui.nominate_checked"), 303)


def _kept_nominee(principal: Principal) -> tuple[dict[str, Any], Nominee] | None:
    """The nominee 미리 확인 kept for this session, or None (none, or expired)."""
    kept = session.get(CHECKED)
    ticket = ticket_of(kept)
    if ticket is None or not isinstance(kept, dict):
        return None
    try:
        parsed = uploads.peek(store_dir(), ticket, owner(principal), str(kept["program"]), clock.now())
    except NotFound:
        session.pop(CHECKED, None)
        return None
    return kept, parsed.rows[0].nominee


@bp.get("/nominate/checked")
def nominate_checked() -> ResponseReturnValue:
    """The dry run of the kept nominee (evaluated again: a refresh shows the verdict as of now)."""
    principal = current_principal()
    access.require(principal, "evaluate")
    found = _kept_nominee(principal)
    if found is None:
        return redirect(url_for("admin_ui.nominate"))
    kept, nominee = found
    db = get_session()
    program = program_service.get_program(db, str(kept["program"]))
    screened = nominating.evaluate(db, get_cipher(), program, nominee.number, nominee.name, principal)
    checked = {
        "program": program.code,
        "nominee": {"rrn": nominee.number.masked, "name": nominee.name},
        "note": nominee.note,
        "verdict": screened.verdict,
        "token": kept["token"],
    }
    form = _fresh(principal, program.code, kept.get("replaces"))
    form.name.data = nominee.name
    form.note.data = nominee.note or ""
    return _render(form, checked=checked, masked=nominee.number.masked)


@bp.route("/nominate/confirm", methods=["GET", "POST"])
def nominate_confirm() -> ResponseReturnValue:
    """``이대로 추천 등록``: register the person 미리 확인 checked (once, however often it is sent)."""
    principal = current_principal()
    access.require(principal, "nominate")
    if request.method == "GET":
        return redirect(url_for("admin_ui.nominate_checked"))
    confirm = TicketForm()
    kept = session.get(CHECKED)
    ticket = ticket_of(kept)
    if not confirm.validate() or ticket is None or confirm.token.data != ticket.token:
        form = _fresh(principal, kept.get("program") if isinstance(kept, dict) else None)
        return _render(form, 409, alert=_("확인한 내용이 없거나 이미 등록했습니다. 다시 입력해 주세요."))
    assert isinstance(kept, dict)
    db = get_session()
    form = _fresh(principal, str(kept["program"]), kept.get("replaces"))
    try:
        program = program_service.get_program(db, str(kept["program"]))
        with uploads.claimed(store_dir(), ticket, owner(principal), program.code, clock.now()) as parsed:
            nominee = parsed.rows[0].nominee
            nomination = nominating.nominate(
                db, get_cipher(), program, nominee.number, nominee.name, nominee.note, kept.get("replaces"), principal
            )
    except ServiceError as exc:
        return _failed(form, exc)
    session.pop(CHECKED, None)
    return _registered(nomination.id, program.code)
