"""``seonbyeol demo``: fill an empty database with the Seongdong-gu demo (synthetic data)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from . import db as db_mod
from .district import load_district, parse_district_file
from .models import District, Resident
from .registry_import import import_receipts, import_residents
from .security import get_cipher

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DISTRICT_FILE = DEMO_DIR / "seongdong.yaml"


class DemoError(RuntimeError):
    pass


def load_demo(app: Flask, residents: int = 20000, echo: Callable[[str], None] = print) -> bool:
    """Load the demo into an empty database; return False (and change nothing) if not empty."""
    from .demo import synthetic

    database = db_mod.get_db(app)
    with database.session() as session:
        if session.scalar(select(func.count()).select_from(Resident)) or session.scalar(
            select(func.count()).select_from(District)
        ):
            echo(
                "데이터베이스가 비어 있지 않아 데모를 건너뜁니다 (database not empty: demo skipped)"
            )
            return False
        load_district(session, parse_district_file(DISTRICT_FILE))
    cipher = get_cipher(app)
    rows = list(synthetic.generate_residents(residents))
    result = import_residents(database.sessionmaker, enumerate(rows, start=2), cipher)
    echo(f"주민 {result.inserted}명 (synthetic residents), 거부 {result.rejected}")
    if result.rejected:
        raise DemoError(f"synthetic residents rejected: {result.rejects[:3]}")
    receipts = import_receipts(
        database.sessionmaker, enumerate(synthetic.generate_receipts(rows), start=2), cipher
    )
    echo(f"수혜 이력 {receipts.inserted}건 (receipts)")
    return True
