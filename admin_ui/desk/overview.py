"""The desk's home: the programs an officer runs (or oversees), and opening or closing one.

A closed program refuses nominations (``service.programs.set_status``); the quota line shows
how many are confirmed, delivered and still free.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from service import access
from service import programs as programs_service
from service.db import get_session

from .. import bp
from ..auth import current_principal
from .forms import ProgramStatusForm


@bp.get("/desk")
def desk() -> ResponseReturnValue:
    """The programs whose progress the officer may follow, with status, quota and links."""
    principal = current_principal()
    access.require(principal, "programs.progress")
    session = get_session()
    items = programs_service.list_programs(session, principal)
    shown = [
        item
        for item in items
        if access.can_see_progress(principal, programs_service.get_program(session, item["code"]))
    ]
    return render_template("desk/overview.html", items=shown)


@bp.route("/programs/<code>/status", methods=["GET", "POST"])
def desk_program_status(code: str) -> ResponseReturnValue:
    """Open or close the program (its owning department or an admin); back to where it was asked."""
    if request.method == "GET":  # the language switch of a page this form rendered
        return redirect(url_for("admin_ui.desk_progress", code=code))
    form = ProgramStatusForm()
    if not form.validate():
        abort(400)
    description = programs_service.set_status(get_session(), code, form.status.data, current_principal())
    if description["status"] == "closed":
        flash(_("%(name)s 사업을 마감했습니다. 더는 추천을 받지 않습니다.", name=description["name"]), "success")
    else:
        flash(_("%(name)s 사업을 다시 열었습니다.", name=description["name"]), "success")
    if form.back.data == "desk":
        return redirect(url_for("admin_ui.desk"))
    return redirect(url_for("admin_ui.desk_progress", code=code))
