"""``seonbyeol demo [--district FILE]``: fill an empty database with a district's demo (synthetic data).

The default is Seongdong-gu. Another district file (``seonbyeol load-district`` format) gets its
demo from a ``<name>.demo.yaml`` beside it when there is one (streets, programs, who gave past
receipts), and otherwise from the district file alone: no code to write for a new district.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from . import db as db_mod
from .demo import synthetic
from .district import DistrictFileError, load_district, parse_district_file
from .models import District, Institution, Nomination, Program
from .registry_import import import_receipts, import_residents
from .security import Principal, get_cipher

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DISTRICT_FILE = DEMO_DIR / "seongdong.yaml"
DISTRICTS_DIR = Path(__file__).resolve().parent / "districts"
"""District files shipped with the service besides the default demo (광진구: gwangjin.yaml)."""


class DemoError(RuntimeError):
    pass


def demo_profile(path: Path, district: dict[str, Any]) -> synthetic.DemoDistrict:
    """The synthetic-data profile of a district file: Seongdong's own, or its ``.demo.yaml``, or derived."""
    if path.resolve() == DISTRICT_FILE.resolve():
        return synthetic.SEONGDONG
    companion = path.with_name(f"{path.stem}.demo.yaml")
    profile: dict[str, Any] | None = None
    if companion.exists():
        try:
            loaded = yaml.safe_load(companion.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise DemoError(f"{companion}: 데모 설정을 읽을 수 없습니다 (cannot read the demo profile): {exc}") from exc
        if not isinstance(loaded, dict):
            raise DemoError(f"{companion}: 데모 설정은 YAML 매핑이어야 합니다 (the demo profile must be a mapping)")
        profile = loaded
    try:
        return synthetic.demo_district(district, profile)
    except (ValueError, KeyError, TypeError) as exc:
        raise DemoError(f"{companion if profile is not None else path}: {exc}") from exc


def load_demo(
    app: Flask, residents: int = 20000, echo: Callable[[str], None] = print, district_file: Path | None = None
) -> bool:
    """Load a district's demo into an empty database; return False (changing nothing) if already loaded.

    Every step is idempotent, so a run interrupted half-way is completed by the next run.
    A database holding another district is refused: the demo never mixes with real data.
    """
    path = district_file or DISTRICT_FILE
    database = db_mod.get_db(app)
    try:
        district = parse_district_file(path)
    except DistrictFileError as exc:
        raise DemoError(str(exc)) from None
    place = demo_profile(path, district)
    with database.session() as session:
        others = session.scalars(select(District.code).where(District.code != district["district"]["code"])).all()
        if others:
            raise DemoError(f"데이터베이스에 다른 구({', '.join(others)})가 있어 데모를 넣지 않습니다")
        if session.scalar(select(func.count()).select_from(Nomination)):
            echo("데모가 이미 들어 있습니다 (demo already loaded: nothing to do)")
            return False
        load_district(session, district)
    cipher = get_cipher(app)
    rows = list(synthetic.generate_residents(residents, district=place))
    result = import_residents(database.sessionmaker, enumerate(rows, start=2), cipher)
    echo(f"주민 {result.inserted + result.unchanged}명 (synthetic residents), 거부 {result.rejected}")
    if result.rejected:
        raise DemoError(f"synthetic residents rejected: {result.rejects[:3]}")
    receipts = import_receipts(
        database.sessionmaker, enumerate(synthetic.generate_receipts(rows, district=place), start=2), cipher
    )
    echo(f"수혜 이력 {receipts.inserted + receipts.unchanged}건 (receipts)")
    coordinator = next(i["code"] for i in district["institutions"] if i["kind"] == "department")
    _programs_and_nominations(app, rows, echo, place, coordinator)
    db_mod.refresh_statistics(database)
    with database.session() as session:
        audit.record(
            session, audit.CLI, "demo.load", target=f"district:{district['district']['code']}",
            detail={"residents": result.inserted + result.unchanged,
                    "receipts": receipts.inserted + receipts.unchanged},
        )  # fmt: skip
    return True


def _programs_and_nominations(
    app: Flask, rows: list[dict[str, str]], echo: Callable[[str], None], place: synthetic.DemoDistrict, admin_code: str
) -> None:
    """Create the demo programs (as the coordinating department) and nominate through the same
    screening service as the API."""
    from marshmallow import ValidationError

    from . import rrn
    from .api.schemas import ProgramIn
    from .errors import ServiceError
    from .nominating import nominate
    from .programs import create_program

    database = db_mod.get_db(app)
    cipher = get_cipher(app)
    with database.session() as session:
        admin = _principal(session, admin_code, "admin")
        existing = set(session.scalars(select(Program.code)))
        for body in place.programs:
            if body["code"] not in existing:
                try:
                    create_program(session, ProgramIn().load(body), admin)
                except (ValidationError, ServiceError) as exc:
                    why = exc.messages if isinstance(exc, ValidationError) else f"{exc.ko} ({exc.en})"
                    raise DemoError(f"데모 사업 {body['code']}을(를) 만들 수 없습니다 (cannot create): {why}") from None
    with database.session() as session:
        institutions = [
            {"code": i.code, "name": i.name, "kind": i.kind, "dong": i.dong_code}
            for i in session.scalars(select(Institution))
        ]
        plan = synthetic.plan_nominations(rows, institutions, district=place)
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
    echo(f"사업 {len(place.programs)}개, 추천 {len(plan)}건 (programs, nominations): {summary}")


def _principal(session: Session, code: str, role: str) -> Principal:
    inst = session.scalar(select(Institution).where(Institution.code == code))
    if inst is None:
        raise DemoError(f"demo institution {code} missing")
    return Principal(f"demo:{code}", inst.id, inst.code, inst.name, role)
