"""The progress monitor: nominations by institution × outcome × status, the replacements still
owed for ineligible nominees (how many days each has waited), and a reminder in one click.

The seed's phase-2 screen: staff see at a glance which institution has not yet re-nominated,
and ask it to, without a phone call.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext

from service import access
from service import programs as programs_service
from service import progress as progress_service
from service.db import get_session

from .. import bp
from ..auth import current_principal
from .forms import ReminderForm


def program_header(code: str) -> tuple[dict[str, Any], bool]:
    """The program's description and whether this officer manages it (owner or admin)."""
    session = get_session()
    program = programs_service.get_program(session, code)
    return programs_service.describe(session, program), access.can_manage_program(current_principal(), program)


@bp.get("/programs/<code>/progress")
def desk_progress(code: str) -> ResponseReturnValue:
    """The monitor of one program (its department, an admin or an auditor)."""
    data = progress_service.progress(get_session(), code, current_principal())
    program, manageable = program_header(code)
    names = {row["institution"]: row["name"] for row in data["by_institution"]}
    owed = [{**item, "institution_name": names.get(item["institution"], item["institution"])} for item in data["owed"]]
    return render_template(
        "desk/progress.html",
        program=program,
        manageable=manageable,
        progress=data,
        owed=owed,
        owed_institutions=sorted({item["institution"] for item in owed}),
        tab="progress",
    )


@bp.route("/programs/<code>/reminders", methods=["GET", "POST"])
def desk_send_reminders(code: str) -> ResponseReturnValue:
    """``재추천 요청``: one notification per owed replacement, to one institution or to all."""
    if request.method == "GET":
        return redirect(url_for("admin_ui.desk_progress", code=code))
    form = ReminderForm()
    if not form.validate():
        abort(400)
    institution = (form.institution.data or "").strip() or None
    sent = progress_service.send_reminders(get_session(), code, current_principal(), institution)
    if sent:
        flash(
            ngettext("재추천 요청 알림 %(num)d건을 보냈습니다.", "재추천 요청 알림 %(num)d건을 보냈습니다.", sent),
            "success",
        )
    else:
        flash(_("재추천을 기다리는 추천이 없어 알림을 보내지 않았습니다."), "info")
    return redirect(url_for("admin_ui.desk_progress", code=code))
