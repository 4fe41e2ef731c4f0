"""Benchmark bulk re-screening (``seonbyeol rescreen PROGRAM``) on PostgreSQL at district scale.

Run it as a script (it is not a pytest test)::

    .venv/bin/python tests/bench/bench_rescreen.py [--residents 300000] [--steps 25000,50000,100000]
        [--backend postgresql|sqlite|both]

Set-up: a scratch database on ``SEONBYEOL_BENCH_PG`` (default the local server; with ``--backend
sqlite`` or ``both`` also a SQLite file in a temporary directory, measured the same way) filled by
``seonbyeol init-db`` and ``seonbyeol demo --residents N`` (Seongdong-gu, its programs and 300
nominations), then nominations of ``kimchi-2026`` added with one ``INSERT … SELECT`` (every
k-th resident, alive or not, from the district's community centres) up to each step's count.

For each step: a first re-screening (it stores a verdict for every new nomination), then the
timed one (the steady state: the previous verdicts are read and nothing much changes), each in
the CLI's transaction shape (``begin_write``, the program's re-screening lock, commit). SQL
statements are counted with an engine event (one per ``execute``/``executemany``), and must not
grow with the number of nominations. **Baseline**, measured in the same run: reading the rows the
re-screening starts from (the program's open nominations joined with their residents) into
Python, the floor of any re-screening. Linear time shows as a flat µs per nomination. The load
average is printed at the start and beside each step (the machine may be shared).
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("SEONBYEOL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BIN = Path(sys.executable).parent
SEONBYEOL = str(BIN / "seonbyeol") if (BIN / "seonbyeol").exists() else "seonbyeol"
TARGET_RATE = 10_000
PROGRAM = "kimchi-2026"

_ADD = """
INSERT INTO nominations (program_id, institution_id, rrn_index, rrn_enc, rrn_masked, nominee_name, household_key,
                         status, current_outcome, created_by, created_at, key_id)
SELECT :program_id, (SELECT id FROM institutions WHERE kind = 'community_center' ORDER BY id LIMIT 1),
       r.rrn_index, r.rrn_enc, r.rrn_masked, r.name, r.household_key, 'open', 'eligible', 'bench', CURRENT_TIMESTAMP,
       r.key_id
FROM residents r
WHERE r.id % :every = 0 AND NOT EXISTS (SELECT 1 FROM nominations n WHERE n.rrn_index = r.rrn_index
                                        AND n.program_id = :program_id)
ORDER BY r.id LIMIT :count
"""
_READ = """
SELECT n.id, n.rrn_index, n.household_key, n.nominee_name, n.status, n.current_outcome, r.birth_date, r.status,
       r.dong_code, r.relation
FROM nominations n LEFT JOIN residents r ON r.rrn_index = n.rrn_index
WHERE n.program_id = :program_id AND n.status IN ('open', 'confirmed') ORDER BY n.id
"""


def cli(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([SEONBYEOL, *args], env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
        raise SystemExit(f"seonbyeol {' '.join(args)} failed ({proc.returncode})")
    return proc.stdout


def _pg_admin() -> Any:
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


def rescreen_once(app: Any, program_code: str) -> tuple[Any, float, int]:
    """One re-screening in the CLI's transaction shape: (summary, seconds, SQL statements)."""
    from sqlalchemy import event

    from service.audit import CLI
    from service.db import begin_write, get_db
    from service.locks import lock_program_for_rescreen
    from service.programs import get_program
    from service.rescreening import rescreen

    database = get_db(app)
    count = [0]

    def counter(*_args: Any) -> None:
        count[0] += 1

    event.listen(database.engine, "before_cursor_execute", counter)
    try:
        t0 = time.perf_counter()
        with database.session() as session:
            begin_write(session)
            program = get_program(session, program_code)
            lock_program_for_rescreen(session, program.id, wait=True)
            summary = rescreen(session, program, CLI)
        seconds = time.perf_counter() - t0
    finally:
        event.remove(database.engine, "before_cursor_execute", counter)
    return summary, seconds, count[0]


def read_baseline(app: Any, program_id: int) -> float:
    from sqlalchemy import text

    from service.db import get_db

    t0 = time.perf_counter()
    with get_db(app).session() as session:
        rows = session.execute(text(_READ), {"program_id": program_id}).all()
    assert rows
    return time.perf_counter() - t0


def run_backend(backend: str, url: str, env: dict[str, str], residents: int, steps: list[int]) -> list[tuple[Any, ...]]:
    """Fill one scratch database and measure every step: rows of (backend, step results)."""
    t0 = time.perf_counter()
    cli(env, "init-db")
    cli(env, "demo", "--residents", str(residents))
    print(f"{backend}: demo database with {residents:,} residents ready in {time.perf_counter() - t0:.1f} s")
    os.environ.update(env)
    import logging

    from sqlalchemy import text

    from service import create_app
    from service.db import get_db

    logging.disable(logging.INFO)
    app = create_app({"DATABASE_URL": url})
    rows = []
    with app.app_context():
        with get_db(app).session() as session:
            program_id = session.scalar(text("SELECT id FROM programs WHERE code = :c"), {"c": PROGRAM})
            total = session.scalar(text("SELECT count(*) FROM residents"))
        every = max(1, int(total) // (max(steps) + 1000))
        for step in steps:
            with get_db(app).session() as session:
                have = session.scalar(
                    text("SELECT count(*) FROM nominations WHERE program_id = :p AND status IN ('open', 'confirmed')"),
                    {"p": program_id},
                )
                session.execute(text(_ADD), {"program_id": program_id, "every": every, "count": step - have})
                session.execute(text("ANALYZE"))
            first, first_s, first_n = rescreen_once(app, PROGRAM)
            base_s = read_baseline(app, program_id)
            summary, seconds, statements = rescreen_once(app, PROGRAM)
            base_s = min(base_s, read_baseline(app, program_id))
            load = os.getloadavg()[0]
            rows.append((backend, summary.screened, seconds, statements, base_s, load))
            print(f"  {summary.screened:>7,} nominations: first run {first_s:6.2f} s ({first.stored:,} verdicts "
                  f"stored, {first_n} statements); steady run {seconds:6.2f} s = "
                  f"{summary.screened / seconds:,.0f}/s, {seconds / summary.screened * 1e6:.1f} µs each, "
                  f"{statements} statements, {summary.engine_calls:,} engine calls, {summary.stored:,} stored; "
                  f"baseline read {base_s:.2f} s; load {load:.1f}")  # fmt: skip
        get_db(app).engine.dispose()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--steps", default="25000,50000,100000", help="nominations of the program at each step")
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    args = parser.parse_args(argv)
    steps = [int(s) for s in args.steps.split(",")]
    print(f"bench_rescreen: {args.residents:,} residents, steps {steps}, {os.cpu_count()} CPUs "
          f"(load {os.getloadavg()[0]:.1f}), Python {sys.version.split()[0]}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")  # fmt: skip
    name = f"bench_rescreen_{os.getpid()}"
    base_env = {**os.environ, "SEONBYEOL_DATA_KEY": base64.urlsafe_b64encode(b"r" * 32).decode(),
                "SEONBYEOL_SECRET_KEY": "bench", "SEONBYEOL_INSTANCE_PATH": f"/tmp/{name}"}  # fmt: skip
    rows: list[tuple[Any, ...]] = []
    if args.backend in ("postgresql", "both"):
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
        try:
            rows += run_backend("postgresql", url, {**base_env, "DATABASE_URL": url}, args.residents, steps)
        finally:
            with _pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="bench_rescreen_") as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            rows += run_backend("sqlite", url, {**base_env, "DATABASE_URL": url}, args.residents, steps)
    for backend in dict.fromkeys(r[0] for r in rows):
        mine = [r for r in rows if r[0] == backend]
        for _b, screened, seconds, statements, base_s, load in mine:
            rate = screened / seconds
            verdict = ("met" if rate >= TARGET_RATE else "MISSED") if backend == "postgresql" else "(PostgreSQL's)"
            print(f"MEASURE rescreen {backend} {screened:>7,} nominations {rate:>9,.0f} nominations/s "
                  f"{seconds / screened * 1e6:6.1f} µs/nomination  statements {statements}  baseline "
                  f"{screened / base_s:>9,.0f} rows/s read  ratio {base_s / seconds:6.3f}  load {load:.1f}  "
                  f"target >= {TARGET_RATE:,}/s: {verdict}")  # fmt: skip
        per = [s / n * 1e6 for _b, n, s, _c, _base, _l in mine]
        print(f"MEASURE rescreen {backend} linearity µs per nomination {' / '.join(f'{p:.1f}' for p in per)} "
              f"(max/min {max(per) / min(per):.2f}); statements {' / '.join(str(r[3]) for r in mine)}")  # fmt: skip


if __name__ == "__main__":
    main()
