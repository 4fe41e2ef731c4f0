"""Resource pools (phase 2): a sponsor's stock allocated across departments' programs.

Allocations never exceed the pool (the pool row is locked while allocating); a delivered
nomination of a program with an allocation draws one unit, and delivering beyond the
program's allocation is refused (``lifecycle``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from . import access, audit
from .db import begin_write
from .errors import Conflict, Invalid, NotFound
from .models import Allocation, Nomination, Pool, Program, ResourceCategory, Sponsor
from .security import Principal


def _pool(session: Session, code: str, for_update: bool = False) -> Pool:
    query = select(Pool).where(Pool.code == code).options(joinedload(Pool.sponsor), joinedload(Pool.category))
    pool = session.scalar(query.with_for_update(of=Pool) if for_update else query)
    if pool is None:
        raise NotFound(f"자원 풀 '{code}'을(를) 찾을 수 없습니다", f"pool '{code}' not found")
    return pool


def create_pool(session: Session, body: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """Register a sponsor's pool of one resource category; commits."""
    access.require(principal, "pools.manage")
    begin_write(session)
    errors: dict[str, list[str]] = {}
    category = session.scalar(select(ResourceCategory).where(ResourceCategory.code == body["resource_category"]))
    if category is None:
        errors["resource_category"] = ["등록되지 않은 자원 분류입니다 (unknown resource category)"]
    sponsor = None
    if body.get("sponsor"):
        sponsor = session.scalar(select(Sponsor).where(Sponsor.code == body["sponsor"]))
        if sponsor is None:
            errors["sponsor"] = ["등록되지 않은 후원자입니다 (unknown sponsor)"]
    if session.scalar(select(Pool.id).where(Pool.code == body["code"])) is not None:
        raise Conflict(
            f"자원 풀 코드 '{body['code']}'이(가) 이미 있습니다", f"pool '{body['code']}' exists",
            {"code": ["이미 있는 코드입니다 (the code is taken)"]},
        )  # fmt: skip
    if errors or category is None:
        raise Invalid("입력값이 올바르지 않습니다", "invalid pool", errors)
    pool = Pool(code=body["code"], name=body["name"], sponsor_id=sponsor.id if sponsor else None,
                category_id=category.id, quantity=body["quantity"], created_by=principal.actor)  # fmt: skip
    session.add(pool)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"자원 풀 코드 '{body['code']}'이(가) 이미 있습니다", f"pool '{body['code']}' exists") from None
    audit.record(session, principal, "pool.create", target=f"pool:{pool.code}", detail={"quantity": pool.quantity})
    session.commit()
    return describe(session, pool.code, principal)


def allocate(session: Session, code: str, program_code: str, quantity: int, principal: Principal) -> dict[str, Any]:
    """Give a program (more of) a pool's stock; 422 for another category, 409 beyond the pool."""
    access.require(principal, "pools.manage")
    begin_write(session)
    pool = _pool(session, code, for_update=True)
    program = session.scalar(select(Program).where(Program.code == program_code))
    if program is None:
        raise Invalid("없는 사업입니다", "unknown program", {"program": [f"사업 '{program_code}'이(가) 없습니다"]})
    if program.category_id != pool.category_id:
        raise Invalid(
            "사업의 자원 분류가 풀과 다릅니다", "the program's resource category is not the pool's",
            {"program": [f"'{program_code}'은(는) '{pool.category.code}' 분류가 아닙니다 (another category)"]},
        )  # fmt: skip
    existing = session.scalar(select(Allocation).where(Allocation.program_id == program.id))
    if existing is not None and existing.pool_id != pool.id:
        raise Conflict(
            "이 사업은 다른 자원 풀에서 배분받았습니다", "the program draws from another pool",
            {"program": ["다른 자원 풀에서 배분받은 사업입니다 (the program draws from another pool)"]},
        )  # fmt: skip
    allocated = session.scalar(select(func.coalesce(func.sum(Allocation.quantity), 0)).where(
        Allocation.pool_id == pool.id)) or 0  # fmt: skip
    if allocated + quantity > pool.quantity:
        left = pool.quantity - allocated
        raise Conflict(
            f"풀의 남은 수량({left})보다 많이 배분할 수 없습니다",
            f"only {left} of the pool are left to allocate",
            {"quantity": [f"배분할 수 있는 수량은 {left}입니다 (only {left} left to allocate)"]},
        )
    if existing is None:
        session.add(Allocation(pool_id=pool.id, program_id=program.id, quantity=quantity, created_by=principal.actor))
    else:
        existing.quantity += quantity
    audit.record(session, principal, "pool.allocate", target=f"pool:{pool.code}",
                 detail={"program": program.code, "quantity": quantity})  # fmt: skip
    session.commit()
    return describe(session, pool.code, principal)


def delivered_counts(session: Session, program_ids: list[int]) -> dict[int, int]:
    """Delivered nominations per program."""
    rows = session.execute(
        select(Nomination.program_id, func.count())
        .where(Nomination.program_id.in_(program_ids), Nomination.status == "delivered")
        .group_by(Nomination.program_id)
    ).all()
    return {program_id: int(n) for program_id, n in rows}


def allocation_of(session: Session, program_id: int) -> int | None:
    """The program's allocation, or None when it draws from no pool."""
    return session.scalar(select(Allocation.quantity).where(Allocation.program_id == program_id))


def describe(session: Session, code: str, principal: Principal) -> dict[str, Any]:
    """The pool with its allocations and what has been delivered from it."""
    access.require(principal, "pools.read")
    pool = _pool(session, code)
    allocations = list(
        session.scalars(
            select(Allocation)
            .where(Allocation.pool_id == pool.id)
            .options(joinedload(Allocation.program).joinedload(Program.department))
            .order_by(Allocation.id)
        )
    )
    delivered = delivered_counts(session, [a.program_id for a in allocations])
    allocated = sum(a.quantity for a in allocations)
    used = sum(delivered.get(a.program_id, 0) for a in allocations)
    return {
        "code": pool.code, "name": pool.name, "sponsor": pool.sponsor.code if pool.sponsor else None,
        "resource_category": pool.category.code, "quantity": pool.quantity, "allocated": allocated,
        "delivered": used, "remaining": pool.quantity - used,
        "allocations": [
            {"program": a.program.code, "department": a.program.department.code, "quantity": a.quantity,
             "delivered": delivered.get(a.program_id, 0)}
            for a in allocations
        ],
    }  # fmt: skip


def list_pools(session: Session, principal: Principal) -> list[dict[str, Any]]:
    access.require(principal, "pools.read")
    return [describe(session, code, principal) for code in session.scalars(select(Pool.code).order_by(Pool.id))]


def choices(session: Session, principal: Principal) -> dict[str, list[tuple[str, str]]]:
    """The sponsors and resource categories a new pool may name, as (code, name), for a form."""
    access.require(principal, "pools.read")
    return {
        "sponsors": [(c, n) for c, n in session.execute(select(Sponsor.code, Sponsor.name).order_by(Sponsor.name))],
        "categories": [
            (c, n) for c, n in session.execute(select(ResourceCategory.code, ResourceCategory.name).order_by(
                ResourceCategory.id))
        ],
    }  # fmt: skip
