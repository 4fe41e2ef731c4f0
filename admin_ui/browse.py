"""The program browser for nominators: what is open, until when, and what the rules check.

Staff read here, before they nominate, which programs take nominations, their period and
resource, and each rule in plain words with the thresholds it uses. Programs carry no
personal data, so nothing here is recorded in the access log.
"""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from service import access
from service import programs as program_service
from service.db import get_session

from . import bp
from .auth import current_principal


@bp.get("/browse")
def browse() -> ResponseReturnValue:
    """The open programs: period, resource, department, places left."""
    principal = current_principal()
    access.require(principal, "programs.read")
    items = program_service.list_programs(get_session(), principal, status="open")
    return render_template("browse/list.html", items=items, can_nominate=access.allowed(principal, "nominate"))


@bp.get("/browse/<code>")
def browse_program(code: str) -> ResponseReturnValue:
    """One program: what each rule checks, with its thresholds, and a way to nominate."""
    principal = current_principal()
    access.require(principal, "programs.read")
    db = get_session()
    program = program_service.describe(db, program_service.get_program(db, code))
    return render_template("browse/program.html", program=program, can_nominate=access.allowed(principal, "nominate"))
