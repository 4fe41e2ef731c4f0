"""Welfare programs: creation, reading with counts, status, and parameter changes (new versions).

A parameter change builds on the version it read: the program row is locked for the change
(PostgreSQL ``FOR UPDATE``; SQLite's writer lock), so two changes at once give two
consecutive versions, or a 409 when the caller named the version it expected and another
change came first. A change of no value publishes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

import rules

from . import access, audit
from . import rrn as rrn_mod
from .db import begin_write
from .errors import Conflict, Forbidden, Invalid, NotFound
from .lifecycle import lock_program
from .models import Institution, Nomination, Program, ResourceCategory, RuleSetVersion, Sponsor
from .policies import latest_version_number, library, parameter_values, publish, ruleset_for
from .security import Principal


def _ruleset_errors(exc: rules.RuleSetError, prefix: str = "") -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for problem in exc.problems:
        errors.setdefault(prefix + problem.field, []).append(problem.message)
    return errors


def get_program(session: Session, code: str) -> Program:
    program = session.scalar(
        select(Program)
        .where(Program.code == code)
        .options(
            joinedload(Program.department), joinedload(Program.category), joinedload(Program.sponsor),
            joinedload(Program.ruleset_version),
        )
    )  # fmt: skip
    if program is None:
        raise NotFound(f"사업 '{code}'을(를) 찾을 수 없습니다", f"program '{code}' not found")
    return program


def create_program(session: Session, body: dict[str, Any], principal: Principal) -> Program:
    """Create a program and publish its own rule set, version 1, extending ``body['ruleset']``."""
    errors: dict[str, list[str]] = {}
    department = session.scalar(select(Institution).where(Institution.code == body["department"]))
    if department is None or department.kind != "department":
        errors["department"] = ["복지 부서 코드가 아닙니다 (not a department code)"]
    elif not access.can_create_program_for(principal, department.id):
        raise Forbidden("다른 부서의 사업은 만들 수 없습니다", "a department creates only its own programs")
    category = session.scalar(select(ResourceCategory).where(ResourceCategory.code == body["resource_category"]))
    if category is None:
        errors["resource_category"] = ["등록되지 않은 자원 분류입니다 (unknown resource category)"]
    sponsor = None
    if body.get("sponsor"):
        sponsor = session.scalar(select(Sponsor).where(Sponsor.code == body["sponsor"]))
        if sponsor is None:
            errors["sponsor"] = ["등록되지 않은 후원자입니다 (unknown sponsor)"]
    starts, ends = body.get("starts_on"), body.get("ends_on")
    if isinstance(starts, date) and isinstance(ends, date) and ends < starts:
        errors["ends_on"] = ["종료일이 시작일보다 빠릅니다 (ends before it starts)"]
    if body["code"] in library():
        raise Conflict(
            f"사업 코드 '{body['code']}'은(는) 정책 라이브러리의 규칙 집합 이름과 같아 쓸 수 없습니다",
            f"program code '{body['code']}' is the name of a rule set in the policy library",
        )
    base_name = body["ruleset"]
    derived = None
    try:
        base = library().get(base_name)
    except KeyError:
        errors["ruleset"] = [f"규칙 집합 '{base_name}'이(가) 없습니다 (unknown rule set)"]
    else:
        try:
            derived = base.derive(body["code"], dict(body.get("parameters") or {}), 1)
        except rules.RuleSetError as exc:
            errors.update(_ruleset_errors(exc))
    if session.scalar(select(Program.id).where(Program.code == body["code"])) is not None:
        raise Conflict(f"사업 코드 '{body['code']}'이(가) 이미 있습니다", f"program '{body['code']}' exists")
    if errors or derived is None or department is None or category is None:
        raise Invalid("입력값이 올바르지 않습니다", "invalid program", errors)
    if latest_version_number(session, derived.name):
        raise Conflict(f"규칙 집합 이름 '{derived.name}'이(가) 이미 쓰이고 있습니다",
                       f"a rule set named '{derived.name}' already exists")  # fmt: skip
    version = publish(session, derived, base_name, principal.actor, "사업 생성 (program created)")
    program = Program(
        code=body["code"],
        name=body["name"],
        department_id=department.id,
        category_id=category.id,
        sponsor_id=sponsor.id if sponsor else None,
        quota=body.get("quota"),
        starts_on=starts,
        ends_on=ends,
        base_ruleset=base_name,
        ruleset_version_id=version.id,
    )
    session.add(program)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"사업 코드 '{body['code']}'이(가) 이미 있습니다", f"program '{body['code']}' exists") from None
    audit.record(session, principal, "program.create", target=f"program:{program.code}")
    return program


UNIT_KO = {"times": "회", "days": "일", "years": "세", "people": "명", "won": "원"}
"""Korean words for the parameter units the policies use."""


def _bound_errors(ruleset: rules.RuleSet, values: dict[str, Any]) -> dict[str, list[str]]:
    """Korean-first messages for unknown parameters and values outside their bounds."""
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        param = ruleset.parameters.get(name)
        field = f"parameters.{name}"
        if param is None:
            known = ", ".join(ruleset.parameters) or "없음"
            errors[field] = [f"없는 기준값입니다 (unknown parameter; known: {known})"]
        elif isinstance(value, bool) or not isinstance(value, int):
            errors[field] = ["정수여야 합니다 (must be an integer)"]
        elif not param.min <= value <= param.max:
            ko_unit = UNIT_KO.get(param.unit, f" {param.unit}" if param.unit else "")
            en_unit = f" {param.unit}" if param.unit else ""
            errors[field] = [
                f"{param.min}–{param.max}{ko_unit} 범위여야 합니다 (must be within {param.min}–{param.max}{en_unit})"
            ]
    return errors


def proposed_ruleset(current: rules.RuleSet, values: dict[str, Any]) -> rules.RuleSet:
    """A program's rule set with ``values`` applied, as its next version would be (422 for an
    unknown parameter or a value out of bounds). Simulation and publishing both use it."""
    errors = _bound_errors(current, values)
    if errors:
        raise Invalid("기준값이 올바르지 않습니다", "invalid parameters", errors)
    try:
        return current.derive(current.name, values, current.version + 1)
    except rules.RuleSetError as exc:
        raise Invalid("기준값이 올바르지 않습니다", "invalid parameters", _ruleset_errors(exc)) from None


def change_parameters(
    session: Session,
    program: Program,
    values: dict[str, Any],
    principal: Principal,
    reason: str | None,
    expected_version: int | None = None,
) -> Program:
    """Publish the next version of the program's rule set with some parameters changed.

    The caller has begun the write transaction; the program row is locked here and the change
    builds on the version current under the lock. ``expected_version`` (the version the
    caller's form showed) turns a concurrent change into a 409 instead of building on it.
    """
    access.require_manager(principal, program)
    rrn_mod.refuse_in_text("reason", reason)  # kept in the version history for years: never an RRN
    program = lock_program(session, program.id)
    program.ruleset_version = session.get_one(RuleSetVersion, program.ruleset_version_id)
    current = ruleset_for(program.ruleset_version)
    if expected_version is not None and expected_version != current.version:
        raise Conflict(
            f"다른 사용자가 먼저 변경했습니다 (현재 버전 {current.version}); 새 값을 확인하고 다시 시도하세요",
            f"the rule set changed meanwhile (now version {current.version}, you edited {expected_version})",
        )
    derived = proposed_ruleset(current, values)
    if derived.sha256 == current.sha256:
        return program  # nothing changes: publish nothing
    if latest_version_number(session, current.name) >= derived.version:
        raise Conflict("규칙 집합 버전이 동시에 게시되었습니다; 다시 시도하세요", "a version was published meanwhile")
    try:
        with session.begin_nested():
            version = publish(session, derived, program.base_ruleset, principal.actor, reason)
    except IntegrityError:
        raise Conflict(
            "규칙 집합 버전이 동시에 게시되었습니다; 다시 시도하세요", "a version was published meanwhile"
        ) from None
    program.ruleset_version_id = version.id
    program.ruleset_version = version
    changed = {k: v for k, v in values.items() if current.parameters[k].value != v}
    audit.record(
        session, principal, "program.parameters", target=f"program:{program.code}",
        detail={"version": derived.version, "changed": changed, "reason": reason},
    )  # fmt: skip
    return program


def publish_parameters(
    session: Session,
    code: str,
    values: dict[str, Any],
    principal: Principal,
    reason: str | None,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """Change thresholds in a transaction of its own (API and admin UI); commits and answers
    the program's description."""
    access.require(principal, "programs.manage")
    begin_write(session)
    program = get_program(session, code)
    access.require_manager(principal, program)
    program = change_parameters(session, program, values, principal, reason, expected_version)
    session.commit()
    return describe(session, program)


def set_status(session: Session, code: str, status: str, principal: Principal) -> dict[str, Any]:
    """Open or close a program (a closed program refuses nominations); commits."""
    access.require(principal, "programs.manage")
    begin_write(session)
    program = get_program(session, code)
    access.require_manager(principal, program)
    program = lock_program(session, program.id)
    if program.status != status:
        program.status = status
        audit.record(session, principal, f"program.{status}", target=f"program:{program.code}")
    session.commit()
    return describe(session, program)


def list_programs(
    session: Session, principal: Principal, status: str | None = None, department: str | None = None
) -> list[dict[str, Any]]:
    """Every program (programs carry no personal data), newest first, optionally filtered."""
    access.require(principal, "programs.read")
    query = select(Program).options(
        joinedload(Program.department), joinedload(Program.category), joinedload(Program.sponsor),
        joinedload(Program.ruleset_version),
    )  # fmt: skip
    if status:
        query = query.where(Program.status == status)
    if department:
        query = query.join(Institution, Institution.id == Program.department_id).where(Institution.code == department)
    programs = list(session.scalars(query.order_by(Program.id.desc())))
    counts = _counts(session, [p.id for p in programs])
    return [
        {**describe(session, p, counts.get(p.id, [])), "manageable": access.can_manage_program(principal, p)}
        for p in programs
    ]


def version_history(session: Session, program: Program) -> list[dict[str, Any]]:
    """Every published version of the program's rule set, newest first: who, when, why."""
    name = ruleset_for(program.ruleset_version).name
    rows = session.scalars(
        select(RuleSetVersion).where(RuleSetVersion.name == name).order_by(RuleSetVersion.version.desc())
    )
    return [
        {
            "version": r.version,
            "sha256": r.sha256,
            "created_by": r.created_by,
            "created_at": r.created_at,
            "reason": r.reason,
            "parameters": dict(r.parameters),
        }  # fmt: skip
        for r in rows
    ]


def version_yaml(session: Session, program: Program, version: int) -> str:
    """The self-contained YAML of one published version."""
    name = ruleset_for(program.ruleset_version).name
    text = session.scalar(
        select(RuleSetVersion.yaml_text).where(RuleSetVersion.name == name, RuleSetVersion.version == version)
    )
    if text is None:
        raise NotFound(f"버전 {version}이(가) 없습니다", f"version {version} not found")
    return text


def _counts(session: Session, program_ids: list[int]) -> dict[int, list[tuple[str, str, int]]]:
    rows = session.execute(
        select(Nomination.program_id, Nomination.status, Nomination.current_outcome, func.count())
        .where(Nomination.program_id.in_(program_ids))
        .group_by(Nomination.program_id, Nomination.status, Nomination.current_outcome)
    ).all()
    out: dict[int, list[tuple[str, str, int]]] = {}
    for program_id, status, outcome, n in rows:
        out.setdefault(program_id, []).append((status, outcome, n))
    return out


def program_counts(program: Program, rows: list[tuple[str, str, int]]) -> dict[str, Any]:
    """Nominations by status and outcome, and the quota's use (confirmed + delivered)."""
    by_status: dict[str, int] = {s: 0 for s in ("open", "confirmed", "delivered", "cancelled")}
    by_outcome: dict[str, int] = {o: 0 for o in ("eligible", "review", "ineligible")}
    for status, outcome, n in rows:
        by_status[status] = by_status.get(status, 0) + n
        by_outcome[outcome] = by_outcome.get(outcome, 0) + n
    placed = by_status["confirmed"] + by_status["delivered"]
    return {
        "nominations": sum(by_status.values()), "by_status": by_status, "by_outcome": by_outcome,
        "quota": program.quota, "confirmed": by_status["confirmed"], "delivered": by_status["delivered"],
        "remaining": None if program.quota is None else max(program.quota - placed, 0),
    }  # fmt: skip


def describe(session: Session, program: Program, counts: list[tuple[str, str, int]] | None = None) -> dict[str, Any]:
    """The program as the API shows it: its rule set, parameters (with bounds and the rules
    they feed) and counts."""
    ruleset = ruleset_for(program.ruleset_version)
    if counts is None:
        counts = _counts(session, [program.id]).get(program.id, [])
    used_by = {name: [r.id for r in ruleset.rules if name in r.params] for name in ruleset.parameters}
    return {
        "code": program.code,
        "name": program.name,
        "department": program.department.code,
        "department_name": program.department.name,
        "resource_category": program.category.code,
        "resource_category_name": program.category.name,
        "sponsor": program.sponsor.code if program.sponsor else None,
        "quota": program.quota,
        "starts_on": program.starts_on,
        "ends_on": program.ends_on,
        "status": program.status,
        "base_ruleset": program.base_ruleset,
        "ruleset": {"name": ruleset.name, "version": ruleset.version, "sha256": ruleset.sha256},
        "parameters": parameter_values(ruleset),
        "parameter_bounds": {name: {**p.as_dict(), "used_by": used_by[name]} for name, p in ruleset.parameters.items()},
        "rules": [{"id": r.id, "severity": r.severity, "message": r.message.as_dict()} for r in ruleset.rules],
        "counts": program_counts(program, counts),
    }
