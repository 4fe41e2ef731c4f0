"""``/api/v1/programs``: create, read with counts, change parameters, re-screen."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from .. import programs as service
from ..db import begin_write, get_session
from ..screening import rescreen
from . import schemas
from .auth import current_principal, requires

blp = Blueprint("programs", __name__, url_prefix="/api/v1/programs", description="복지사업 (welfare programs)")


@blp.route("")
class Programs(MethodView):
    @requires("admin", "department")
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
    @requires()
    @blp.response(200, schemas.ProgramOut)
    def get(self, code: str) -> dict[str, Any]:
        """The program, its rule set and parameters, its counts."""
        session = get_session()
        return service.describe(session, service.get_program(session, code))


@blp.route("/<code>/parameters")
class ProgramParameters(MethodView):
    @requires("admin", "department")
    @blp.arguments(schemas.ParametersIn)
    @blp.response(200, schemas.ProgramOut)
    def put(self, body: dict[str, Any], code: str) -> dict[str, Any]:
        """Change thresholds (any subset): publishes the next version of the program's rule set."""
        session = get_session()
        begin_write(session)
        program = service.get_program(session, code)
        service.change_parameters(session, program, body["parameters"], current_principal(), body.get("reason"))
        session.commit()
        return service.describe(session, program)


@blp.route("/<code>/rescreen")
class ProgramRescreen(MethodView):
    @requires("admin", "department")
    @blp.response(200, schemas.RescreenOut)
    def post(self, code: str) -> dict[str, Any]:
        """Re-screen every open nomination against the newest registry and rules."""
        session = get_session()
        begin_write(session)
        program = service.get_program(session, code)
        service.require_manager(current_principal(), program)
        summary = rescreen(session, program, current_principal())
        session.commit()
        return summary.as_dict()
