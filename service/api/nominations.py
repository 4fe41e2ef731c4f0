"""Nominations: evaluate (dry run), nominate, list, read, change status."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit
from .. import screening as service
from ..db import get_session
from ..errors import Invalid, NotFound
from ..models import Institution, Nomination, Verdict
from ..programs import get_program
from ..security import Principal, get_cipher
from . import schemas, serialize
from .auth import current_principal, requires

blp = Blueprint("nominations", __name__, url_prefix="/api/v1", description="추천과 판정 (nominations and verdicts)")


def _program_or_422(session: Session, code: str) -> Any:
    try:
        return get_program(session, code)
    except NotFound:
        raise Invalid(
            "없는 사업입니다", "unknown program", {"program": [f"사업 '{code}'이(가) 없습니다 (unknown program)"]}
        ) from None


@blp.route("/evaluate")
class Evaluate(MethodView):
    @requires()
    @blp.arguments(schemas.EvaluateIn)
    @blp.response(200, schemas.EvaluateOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Dry run: the verdict a nomination would get now (stores only the audit entry)."""
        session = get_session()
        program = _program_or_422(session, body["program"])
        nominee = body["nominee"]
        screened = service.evaluate(
            session, get_cipher(), program, nominee["rrn"], nominee["name"], current_principal()
        )
        return {
            "program": program.code,
            "nominee": {"rrn": nominee["rrn"].masked, "name": nominee["name"]},
            "verdict": serialize.localise(screened.verdict),
        }


def _scope(query: Any, principal: Principal) -> Any:
    """Nominators see only their own institution's nominations."""
    if principal.role == "nominator":
        return query.where(Nomination.institution_id == principal.institution_id)
    return query


@blp.route("/programs/<code>/nominations")
class ProgramNominations(MethodView):
    @requires("nominator", "admin", "department")
    @blp.arguments(schemas.NominateIn)
    @blp.response(201, schemas.NominationOut)
    def post(self, body: dict[str, Any], code: str) -> dict[str, Any]:
        """Nominate: stores the nomination and answers with its verdict (duplicates too)."""
        session = get_session()
        if body.get("program") not in (None, code):
            raise Invalid("경로와 본문의 사업이 다릅니다", "program in body differs from the path",
                          {"program": ["must match the path or be omitted"]})  # fmt: skip
        program = get_program(session, code)
        nominee = body["nominee"]
        nomination = service.nominate(
            session, get_cipher(), program, nominee["rrn"], nominee["name"], body.get("note"),
            body.get("replaces"), current_principal(),
        )  # fmt: skip
        return serialize.nomination(session, nomination)

    @requires()
    @blp.arguments(schemas.NominationListArgs, location="query")
    @blp.response(200, schemas.NominationList)
    def get(self, args: dict[str, Any], code: str) -> dict[str, Any]:
        """The program's nominations (a nominator sees only its own institution's)."""
        session = get_session()
        principal = current_principal()
        program = get_program(session, code)
        query = _scope(select(Nomination).where(Nomination.program_id == program.id), principal)
        if args.get("status"):
            query = query.where(Nomination.status == args["status"])
        if args.get("outcome"):
            query = query.where(Nomination.current_outcome == args["outcome"])
        if args.get("institution"):
            query = query.join(Institution, Institution.id == Nomination.institution_id).where(
                Institution.code == args["institution"]
            )
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = list(session.scalars(query.order_by(Nomination.id).limit(args["limit"]).offset(args["offset"])))
        verdicts = _latest_verdicts(session, [n.id for n in page])
        audit.record(
            session, principal, "nomination.list", [(n.rrn_index, n.rrn_masked) for n in page] or [(None, None)],
            target=f"program:{program.code}",
        )  # fmt: skip
        session.commit()
        return {"items": [serialize.nomination(session, n, verdicts.get(n.id, {})) for n in page], "total": total}


def _latest_verdicts(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    latest = (
        select(func.max(Verdict.id)).where(Verdict.nomination_id.in_(ids)).group_by(Verdict.nomination_id)
    ).scalar_subquery()
    return {v.nomination_id: v.body for v in session.scalars(select(Verdict).where(Verdict.id.in_(latest)))}


@blp.route("/nominations/<id:nomination_id>")
class NominationItem(MethodView):
    @requires()
    @blp.response(200, schemas.NominationOut)
    def get(self, nomination_id: int) -> dict[str, Any]:
        """One nomination with its verdict history, oldest first."""
        session = get_session()
        principal = current_principal()
        nomination = service.get_nomination(session, nomination_id, principal)
        out = serialize.nomination(session, nomination, with_history=True)
        audit.record(
            session, principal, "nomination.read", [(nomination.rrn_index, nomination.rrn_masked)],
            target=f"nomination:{nomination.id}",
        )  # fmt: skip
        session.commit()
        return out


@blp.route("/nominations/<id:nomination_id>/status")
class NominationStatus(MethodView):
    @requires("admin", "department")
    @blp.arguments(schemas.StatusIn)
    @blp.response(200, schemas.NominationOut)
    def post(self, body: dict[str, Any], nomination_id: int) -> dict[str, Any]:
        """Confirm, deliver (records a receipt) or cancel a nomination."""
        session = get_session()
        principal = current_principal()
        nomination = service.get_nomination(session, nomination_id, principal)
        service.change_status(session, nomination, body["status"], body.get("note"), principal)
        return serialize.nomination(session, nomination, with_history=True)
