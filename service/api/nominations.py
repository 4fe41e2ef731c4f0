"""Nominations: evaluate (dry run), nominate, list, read, change status."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app
from flask.json.provider import DefaultJSONProvider
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from .. import batch, exports, lifecycle, nominating, replay
from .. import nominations as service
from ..db import get_session, read_only
from ..errors import Invalid, NotFound
from ..facts import ProgramScope
from ..models import Program
from ..policies import cached_scope
from ..programs import get_program
from ..security import get_cipher
from . import schemas, serialize
from .auth import current_principal, requires
from .problems import wants_english

blp = Blueprint("nominations", __name__, url_prefix="/api/v1", description="추천과 판정 (nominations and verdicts)")


def _program_or_422(session: Session, code: str) -> Program:
    try:
        return get_program(session, code)
    except NotFound:
        raise _unknown_program(code) from None


def _unknown_program(code: str) -> Invalid:
    errors = {"program": [f"사업 '{code}'이(가) 없습니다 (unknown program)"]}
    return Invalid("없는 사업입니다", "unknown program", errors)


def _scope_or_422(session: Session, code: str) -> ProgramScope:
    """The program's screening scope (cached per process; checked against the program row by the
    facts statement itself), in a read-only transaction: the evaluate path."""
    read_only(session)
    try:
        return cached_scope(session, code)
    except NotFound:
        raise _unknown_program(code) from None


_Plan = list[tuple[str, "tuple[bool, _Plan] | None"]]
_PLANS: dict[type[Schema], _Plan] = {}


def _plan(schema: type[Schema]) -> _Plan:
    """Which fields of ``schema`` a dump keeps, and which of them nest another schema."""
    plan = _PLANS.get(schema)
    if plan is None:
        plan = []
        for name, field in schema._declared_fields.items():
            if isinstance(field, fields.Nested):
                plan.append((name, (False, _plan(type(field.schema)))))
            elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
                plan.append((name, (True, _plan(type(field.inner.schema)))))
            else:
                plan.append((name, None))
        _PLANS[schema] = plan
    return plan


def _dump(plan: _Plan, data: dict[str, Any], seen: dict[int, Any]) -> dict[str, Any]:
    """``data`` reduced to the plan's fields; a nested value met before in this answer (batch
    verdicts share their reasons) is dumped once (``seen``, by identity, lives one answer)."""
    out: dict[str, Any] = {}
    for name, nested in plan:
        if name not in data:
            continue
        value = data[name]
        if nested is None or value is None:
            out[name] = value
            continue
        done = seen.get(id(value))
        if done is None:
            done = [_dump(nested[1], v, seen) for v in value] if nested[0] else _dump(nested[1], value, seen)
            seen[id(value)] = done
        out[name] = done
    return out


def _json_response(schema: type[Schema], data: dict[str, Any]) -> Response:
    """What ``@blp.response(200, schema)`` answers for ``data`` (the schema's fields only, the app's
    JSON settings: UTF-8, sorted keys), without marshmallow's per-field dump: the verdict is
    already plain JSON values of the declared types (a test compares both)."""
    return current_app.json.response(_dump(_plan(schema), data, {}))


def _as_is(verdict: dict[str, Any]) -> dict[str, Any]:
    return verdict


def _batch_response(code: str, judged: list[batch.Judged], english: bool) -> Response:
    """The batch answer: what :func:`_json_response` gives for BatchEvaluateOut (the same bytes: a
    test compares both), with each distinct verdict localised, reduced and encoded once. A batch's
    verdicts are copies sharing their parts (VerdictMaker memoises the builds), so a verdict is
    known by its scalars and the identity of its parts; 1,000 nominees have a few dozen."""
    localise = serialize.localise if english else _as_is  # the language is the request's: ask once
    provider = current_app.json
    plain = isinstance(provider, DefaultJSONProvider) and provider.compact is not False and not current_app.debug
    if not plain or not provider.sort_keys:  # another layout of the app's JSON: the general path
        items = [{"nominee": {"rrn": j.nominee.number.masked, "name": j.nominee.name}, "verdict": localise(j.verdict)}
                 for j in judged]  # fmt: skip
        return _json_response(schemas.BatchEvaluateOut, {"program": code, "items": items})

    def dumps(value: Any) -> str:
        return provider.dumps(value, separators=(",", ":"))

    if [name for name, _ in _plan(schemas.NomineeOut)] != ["rrn", "name"]:
        raise RuntimeError("NomineeOut changed: _batch_response encodes its two strings itself")
    string = json.encoder.encode_basestring_ascii if provider.ensure_ascii else json.encoder.encode_basestring
    verdict_plan = _plan(schemas.VerdictOut)
    texts: dict[tuple[Any, ...], str] = {}
    seen: dict[int, Any] = {}
    parts = []
    for j in judged:
        verdict = j.verdict
        # the verdict's keys and the identity of its values (all alive in ``judged`` meanwhile)
        key = (*verdict, *map(id, verdict.values()))
        text = texts.get(key)
        if text is None:
            text = texts[key] = dumps(_dump(verdict_plan, localise(verdict), seen))
        # sorted keys: nominee < verdict, name < rrn
        parts.append(f'{{"nominee":{{"name":{string(j.nominee.name)},"rrn":{string(j.nominee.number.masked)}}},'
                     f'"verdict":{text}}}')  # fmt: skip
    body = f'{{"items":[{",".join(parts)}],"program":{dumps(code)}}}\n'  # items < program
    return current_app.response_class(body, mimetype=provider.mimetype)


@blp.route("/evaluate")
class Evaluate(MethodView):
    # the facts are one statement; the access record checks a recently authenticated token
    @requires("evaluate", reads_first=True, per_statement=True, recent_token=True)
    @blp.arguments(schemas.EvaluateIn())  # one instance: no schema (and nested schema) built per request
    @blp.response(200, schemas.EvaluateOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Dry run: the verdict a nomination would get now (stores only the audit entry)."""
        session = get_session()
        program = _scope_or_422(session, body["program"])
        nominee = body["nominee"]
        screened = nominating.evaluate(
            session, get_cipher(), program, nominee["rrn"], nominee["name"], current_principal(),
            durable_audit=current_app.config.get("EVALUATE_AUDIT_COMMIT", "durable") == "durable",
        )  # fmt: skip
        return _json_response(
            schemas.EvaluateOut,
            {
                "program": program.code,
                "nominee": {"rrn": nominee["rrn"].masked, "name": nominee["name"]},
                "verdict": serialize.localise(screened.verdict),
            },
        )


@blp.route("/evaluate/batch")
class EvaluateBatch(MethodView):
    @requires("evaluate", reads_first=True)
    @blp.arguments(schemas.BatchEvaluateIn)
    @blp.response(200, schemas.BatchEvaluateOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Up to 1,000 dry runs at once: each verdict exactly what ``/evaluate`` would answer for
        that nominee alone (stores only the audit entries)."""
        session = get_session()
        program = _program_or_422(session, body["program"])
        nominees = [batch.Nominee(n["rrn"], n["name"]) for n in body["nominees"]]
        judged = batch.evaluate_batch(session, get_cipher(), program, nominees, current_principal())
        return _batch_response(program.code, judged, wants_english())


@blp.route("/programs/<code>/nominations")
class ProgramNominations(MethodView):
    @requires("nominate")
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
        nomination = nominating.nominate(
            session, get_cipher(), program, nominee["rrn"], nominee["name"], body.get("note"),
            body.get("replaces"), current_principal(),
        )  # fmt: skip
        return serialize.nomination(service.as_dict(session, nomination))

    @requires("nominations.read")
    @blp.arguments(schemas.NominationListArgs, location="query")
    @blp.response(200, schemas.NominationList)
    def get(self, args: dict[str, Any], code: str) -> dict[str, Any]:
        """The program's nominations the caller may see (a nominator: its own institution's)."""
        session = get_session()
        program = get_program(session, code)
        filters = service.ListFilters(
            args.get("status"), args.get("outcome"), args.get("institution"), args["limit"], args["offset"]
        )
        if args["format"] != "json":  # a download that lists people: a reason is required and recorded
            reason = exports.require_reason(args.get("reason"))
            rows = service.export(session, current_principal(), program, filters, reason)
            body = exports.render(args["format"], f"추천-{program.code}", service.EXPORT_HEADERS, rows)
            return exports.attachment(body, args["format"], f"nominations-{program.code}")  # type: ignore[return-value]
        items, total = service.list_for_program(session, current_principal(), program, filters)
        return {"items": [serialize.nomination(n) for n in items], "total": total}


@blp.route("/nominations/<id:nomination_id>")
class NominationItem(MethodView):
    @requires("nominations.read")
    @blp.response(200, schemas.NominationOut)
    def get(self, nomination_id: int) -> dict[str, Any]:
        """One nomination with its verdict history, oldest first."""
        return serialize.nomination(service.read(get_session(), current_principal(), nomination_id))


@blp.route("/nominations/<id:nomination_id>/status")
class NominationStatus(MethodView):
    @requires("programs.manage")
    @blp.arguments(schemas.StatusIn)
    @blp.response(200, schemas.NominationOut)
    def post(self, body: dict[str, Any], nomination_id: int) -> dict[str, Any]:
        """Confirm, deliver (records a receipt) or cancel a nomination."""
        session = get_session()
        principal = current_principal()
        nomination = service.get_visible(session, principal, nomination_id)
        lifecycle.change_status(session, nomination, body["status"], body.get("note"), principal)
        return serialize.nomination(service.as_dict(session, nomination, with_history=True))


@blp.route("/nominations/<id:nomination_id>/replay")
class NominationReplay(MethodView):
    @requires("nominations.read")
    @blp.response(200, schemas.ReplayOut)
    def get(self, nomination_id: int) -> dict[str, Any]:
        """Every stored verdict re-derived from its stored facts and rule-set version."""
        return replay.replay_nomination(get_session(), current_principal(), nomination_id)
