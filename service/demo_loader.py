"""``seonbyeol demo``: fill an empty database with the Seongdong-gu demo (synthetic data)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from . import db as db_mod
from .district import load_district, parse_district_file
from .models import District, Institution, Nomination, Program
from .registry_import import import_receipts, import_residents
from .security import Principal, get_cipher

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DISTRICT_FILE = DEMO_DIR / "seongdong.yaml"


class DemoError(RuntimeError):
    pass


def load_demo(app: Flask, residents: int = 20000, echo: Callable[[str], None] = print) -> bool:
    """Load the demo into an empty database; return False (changing nothing) if already loaded.

    Every step is idempotent, so a run interrupted half-way is completed by the next run.
    A database holding another district is refused: the demo never mixes with real data.
    """
    from .demo import synthetic

    database = db_mod.get_db(app)
    district = parse_district_file(DISTRICT_FILE)
    with database.session() as session:
        others = session.scalars(select(District.code).where(District.code != district["district"]["code"])).all()
        if others:
            raise DemoError(f"데이터베이스에 다른 구({', '.join(others)})가 있어 데모를 넣지 않습니다")
        if session.scalar(select(func.count()).select_from(Nomination)):
            echo("데모가 이미 들어 있습니다 (demo already loaded: nothing to do)")
            return False
        load_district(session, district)
    cipher = get_cipher(app)
    rows = list(synthetic.generate_residents(residents))
    result = import_residents(database.sessionmaker, enumerate(rows, start=2), cipher)
    echo(f"주민 {result.inserted + result.unchanged}명 (synthetic residents), 거부 {result.rejected}")
    if result.rejected:
        raise DemoError(f"synthetic residents rejected: {result.rejects[:3]}")
    receipts = import_receipts(database.sessionmaker, enumerate(synthetic.generate_receipts(rows), start=2), cipher)
    echo(f"수혜 이력 {receipts.inserted + receipts.unchanged}건 (receipts)")
    _programs_and_nominations(app, rows, echo)
    with database.session() as session:
        audit.record(
            session, audit.CLI, "demo.load", target=f"district:{district['district']['code']}",
            detail={"residents": result.inserted + result.unchanged,
                    "receipts": receipts.inserted + receipts.unchanged},
        )  # fmt: skip
    return True


def _programs_and_nominations(app: Flask, rows: list[dict[str, str]], echo: Callable[[str], None]) -> None:
    """Create the demo programs and nominate through the same screening service as the API."""
    from . import rrn
    from .api.schemas import ProgramIn
    from .demo import synthetic
    from .nominating import nominate
    from .programs import create_program

    database = db_mod.get_db(app)
    cipher = get_cipher(app)
    with database.session() as session:
        admin = _principal(session, "welfare-policy", "admin")
        existing = set(session.scalars(select(Program.code)))
        for body in synthetic.DEMO_PROGRAMS:
            if body["code"] not in existing:
                create_program(session, ProgramIn().load(body), admin)
    with database.session() as session:
        institutions = [
            {"code": i.code, "name": i.name, "kind": i.kind, "dong": i.dong_code}
            for i in session.scalars(select(Institution))
        ]
        plan = synthetic.plan_nominations(rows, institutions)
        programs = {p.code: p for p in session.scalars(select(Program))}
        principals: dict[str, Principal] = {}
        outcomes: dict[str, int] = {}
        for item in plan:
            who = principals.get(item["institution"])
            if who is None:
                who = principals[item["institution"]] = _principal(session, item["institution"], "nominator")
            nomination = nominate(
                session, cipher, programs[item["program"]], rrn.parse(item["rrn"]), item["name"],
                "데모 추천 (demo nomination)", None, who,
            )  # fmt: skip
            outcomes[nomination.current_outcome] = outcomes.get(nomination.current_outcome, 0) + 1
    summary = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
    echo(f"사업 {len(synthetic.DEMO_PROGRAMS)}개, 추천 {len(plan)}건 (programs, nominations): {summary}")


def _principal(session: Session, code: str, role: str) -> Principal:
    inst = session.scalar(select(Institution).where(Institution.code == code))
    if inst is None:
        raise DemoError(f"demo institution {code} missing")
    return Principal(f"demo:{code}", inst.id, inst.code, inst.name, role)
