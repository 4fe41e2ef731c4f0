"""Welfare programs: creation, reading with counts, and parameter changes (new versions)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

import rules

from . import audit
from .errors import Conflict, Forbidden, Invalid, NotFound
from .models import Institution, Nomination, Program, ResourceCategory, Sponsor
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


def can_manage(principal: Principal, program: Program) -> bool:
    """Admins manage every program; a department only the programs it owns."""
    return principal.role == "admin" or (
        principal.role == "department" and program.department_id == principal.institution_id
    )


def require_manager(principal: Principal, program: Program) -> None:
    if not can_manage(principal, program):
        raise Forbidden(
            "이 사업을 관리하는 부서만 할 수 있습니다",
            "only the department that owns this program (or an admin) may do this",
        )


def create_program(session: Session, body: dict[str, Any], principal: Principal) -> Program:
    """Create a program and publish its own rule set, version 1, extending ``body['ruleset']``."""
    errors: dict[str, list[str]] = {}
    department = session.scalar(select(Institution).where(Institution.code == body["department"]))
    if department is None or department.kind != "department":
        errors["department"] = ["복지 부서 코드가 아닙니다 (not a department code)"]
    elif principal.role == "department" and department.id != principal.institution_id:
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


def change_parameters(
    session: Session, program: Program, values: dict[str, Any], principal: Principal, reason: str | None
) -> Program:
    """Publish the next version of the program's rule set with some parameters changed."""
    require_manager(principal, program)
    current = ruleset_for(program.ruleset_version)
    next_version = latest_version_number(session, current.name) + 1
    try:
        derived = current.derive(current.name, values, next_version)
    except rules.RuleSetError as exc:
        raise Invalid("기준값이 올바르지 않습니다", "invalid parameters", _ruleset_errors(exc)) from None
    version = publish(session, derived, program.base_ruleset, principal.actor, reason)
    program.ruleset_version_id = version.id
    program.ruleset_version = version
    audit.record(
        session, principal, "program.parameters", target=f"program:{program.code}",
        detail={"version": derived.version, "changed": values},
    )  # fmt: skip
    return program


def program_counts(session: Session, program: Program) -> dict[str, Any]:
    rows = session.execute(
        select(Nomination.status, Nomination.current_outcome, func.count())
        .where(Nomination.program_id == program.id)
        .group_by(Nomination.status, Nomination.current_outcome)
    ).all()
    by_status: dict[str, int] = {s: 0 for s in ("open", "confirmed", "delivered", "cancelled")}
    by_outcome: dict[str, int] = {o: 0 for o in ("eligible", "review", "ineligible")}
    for status, outcome, n in rows:
        by_status[status] = by_status.get(status, 0) + n
        by_outcome[outcome] = by_outcome.get(outcome, 0) + n
    return {"nominations": sum(by_status.values()), "by_status": by_status, "by_outcome": by_outcome}


def describe(session: Session, program: Program) -> dict[str, Any]:
    """The program as the API shows it: its rule set, parameters (with bounds) and counts."""
    ruleset = ruleset_for(program.ruleset_version)
    return {
        "code": program.code,
        "name": program.name,
        "department": program.department.code,
        "resource_category": program.category.code,
        "sponsor": program.sponsor.code if program.sponsor else None,
        "quota": program.quota,
        "starts_on": program.starts_on,
        "ends_on": program.ends_on,
        "status": program.status,
        "base_ruleset": program.base_ruleset,
        "ruleset": {"name": ruleset.name, "version": ruleset.version, "sha256": ruleset.sha256},
        "parameters": parameter_values(ruleset),
        "parameter_bounds": {name: p.as_dict() for name, p in ruleset.parameters.items()},
        "rules": [{"id": r.id, "severity": r.severity} for r in ruleset.rules],
        "counts": program_counts(session, program),
    }
