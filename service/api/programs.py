"""``/api/v1/programs``: list, create, read with counts, status, parameters, simulate, re-screen."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from .. import access, simulation
from .. import programs as service
from .. import progress as progress_service
from ..db import begin_write, get_session
from ..locks import lock_program_for_rescreen
from ..rescreening import rescreen
from . import schemas
from .auth import current_principal, requires

blp = Blueprint("programs", __name__, url_prefix="/api/v1/programs", description="복지사업 (welfare programs)")


@blp.route("")
class Programs(MethodView):
    @requires("programs.read")
    @blp.arguments(schemas.ProgramListArgs, location="query")
    @blp.response(200, schemas.ProgramList)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every program, newest first (filters ``status``, ``department``)."""
        items = service.list_programs(get_session(), current_principal(), args.get("status"), args.get("department"))
        return {"items": items, "total": len(items)}

    @requires("programs.create")
    @blp.arguments(schemas.ProgramIn)
    @blp.response(201, schemas.ProgramOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a program with its own rule set (version 1) extending ``ruleset``."""
        session = get_session()
        begin_write(session)
        program = service.create_program(session, body, current_principal())
        session.commit()
        return service.describe(session, program)


@blp.route("/<code>")
class ProgramItem(MethodView):
    @requires("programs.read")
    @blp.response(200, schemas.ProgramOut)
    def get(self, code: str) -> dict[str, Any]:
        """The program, its rule set and parameters, its counts."""
        session = get_session()
        return service.describe(session, service.get_program(session, code))


@blp.route("/<code>/status")
class ProgramStatus(MethodView):
    @requires("programs.manage", manages_program=True)
    @blp.arguments(schemas.ProgramStatusIn)
    @blp.response(200, schemas.ProgramOut)
    def post(self, body: dict[str, Any], code: str) -> dict[str, Any]:
        """Open or close the program (a closed program refuses nominations with 409)."""
        return service.set_status(get_session(), code, body["status"], current_principal())


@blp.route("/<code>/parameters")
class ProgramParameters(MethodView):
    @requires("programs.manage", manages_program=True)
    @blp.arguments(schemas.ParametersIn)
    @blp.response(200, schemas.ProgramOut)
    def put(self, body: dict[str, Any], code: str) -> dict[str, Any]:
        """Change thresholds (any subset): publishes the next version of the program's rule set
        (nothing when no value changes)."""
        return service.publish_parameters(
            get_session(), code, body["parameters"], current_principal(), body.get("reason"),
            body.get("expected_version"),
        )  # fmt: skip


@blp.route("/<code>/parameters/simulate")
class ProgramSimulate(MethodView):
    @requires("programs.manage", manages_program=True)
    @blp.arguments(schemas.ParametersIn)
    @blp.response(200, schemas.SimulationOut)
    def post(self, body: dict[str, Any], code: str) -> dict[str, Any]:
        """What the change would do to the program's open and confirmed nominations (stores only
        the audit entry)."""
        return simulation.simulate_parameters(get_session(), code, body["parameters"], current_principal())


@blp.route("/<code>/rescreen")
class ProgramRescreen(MethodView):
    @requires("programs.manage")
    @blp.response(200, schemas.RescreenOut)
    def post(self, code: str) -> dict[str, Any]:
        """Re-screen every open and confirmed nomination against the newest registry and rules."""
        session = get_session()
        principal = current_principal()
        begin_write(session)
        program = service.get_program(session, code)
        access.require_manager(principal, program)
        lock_program_for_rescreen(session, program.id)  # a second one at once is a 409
        summary = rescreen(session, program, principal)
        session.commit()
        return summary.as_dict()


@blp.route("/<code>/progress")
class ProgramProgress(MethodView):
    @requires("programs.progress")
    @blp.response(200, schemas.ProgressOut)
    def get(self, code: str) -> dict[str, Any]:
        """The progress monitor: nominations by institution, and the replacements still owed."""
        return progress_service.progress(get_session(), code, current_principal())


@blp.route("/<code>/reminders")
class ProgramReminders(MethodView):
    @requires("programs.manage", manages_program=True)
    @blp.arguments(schemas.ReminderIn)
    @blp.response(200, schemas.ReminderOut)
    def post(self, body: dict[str, Any], code: str) -> dict[str, Any]:
        """Ask the institutions that still owe a replacement to re-nominate (one notification
        per owed nomination; ``institution`` limits it to one institution)."""
        sent = progress_service.send_reminders(get_session(), code, current_principal(), body.get("institution"))
        return {"program": code, "sent": sent}
