"""Benchmark the resident-registry import (``seonbyeol import-residents``) on SQLite and PostgreSQL.

Run it as a script (it is not a pytest test)::

    .venv/bin/python tests/bench/bench_import.py [--rows N] [--backend sqlite|postgresql|both]

What it does, for each backend:

1. writes a residents CSV of N synthetic rows (``service.demo.synthetic.generate_residents``);
2. **baseline**: reads and validates that CSV without writing anything (``read_csv`` +
   ``parse_resident_row``), the floor any import has to pay;
3. **import**: a fresh database (SQLite file or a scratch PostgreSQL database), migrated, then
   ``import_residents`` in chunks of ``--chunk`` rows (default: the command's 50,000) timed;
4. **re-import**: the same file again into the same database (every row unchanged).

On PostgreSQL the import is also compared with the floor of any database load: a raw
``COPY … FROM STDIN`` of the same CSV into an unindexed, unlogged table of text columns
(what ``psql \\copy`` does), measured in the same run (target: import ≤ 10× that).

Each phase runs in its own child process so that its peak RSS (``getrusage``) is its own; the
resident set size is also sampled every few batches to show that it stays flat while rows flow.
Ratios are printed against the baseline measured in the same run.

The generator numbers residents with a six-digit serial, so one run of it gives at most 999,999
unique RRNs. Rows past that come from a second run (another seed) written as foreigners' numbers
(7th digit + 4: 5/6 for 1900s births, 7/8 for 2000s, same sex parity, valid per the contract)
with their own household ids, which keeps every RRN unique up to 1,999,998 rows.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import csv
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import cpu_use  # noqa: E402  (tests/bench, beside this script)

PG_ADMIN_URL = os.environ.get("SEONBYEOL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
CHUNK = 999_999  # generate_residents' limit: six-digit serials
MAX_ROWS = 2 * CHUNK
SAMPLE_EVERY = 50_000  # rows between RSS samples


# --------------------------------------------------------------------------- data


def synthetic_rows(count: int) -> Iterator[dict[str, str]]:
    """``count`` resident rows with unique RRNs (see the module docstring for > 999,999)."""
    from service.demo.synthetic import generate_residents

    if not 0 < count <= MAX_ROWS:
        raise SystemExit(f"--rows must be between 1 and {MAX_ROWS:,}")
    yield from generate_residents(min(count, CHUNK))
    if count > CHUNK:
        for row in generate_residents(count - CHUNK, seed=7102):
            rrn = row["rrn"]
            row["rrn"] = f"{rrn[:7]}{int(rrn[7]) + 4}{rrn[8:]}"
            row["household_id"] = "F" + row["household_id"][1:]
            yield row


def write_csv(path: Path, count: int) -> None:
    from service.registry_import import RESIDENT_COLUMNS

    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=RESIDENT_COLUMNS)
        writer.writeheader()
        writer.writerows(synthetic_rows(count))


# --------------------------------------------------------------------------- memory


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def sampled(rows: Iterable[tuple[int, dict[str, str]]], samples: list[tuple[int, float]]) -> Iterator[Any]:
    """Pass rows through, noting (rows so far, RSS MiB) every SAMPLE_EVERY rows."""
    for n, item in enumerate(rows, start=1):
        if n % SAMPLE_EVERY == 0:
            samples.append((n, round(rss_mib(), 1)))
        yield item


# --------------------------------------------------------------------------- phases (child processes)


def _app(url: str, instance: str) -> Any:
    from service import create_app

    key = base64.urlsafe_b64encode(b"b" * 32).decode()
    return create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "DATA_KEY": key, "SECRET_KEY": "x"})


def phase_parse(csv_path: Path) -> dict[str, Any]:
    from service.registry_import import RESIDENT_COLUMNS, RowError, parse_resident_row, read_csv

    today = date.today()
    samples: list[tuple[int, float]] = []
    start_rss = rss_mib()
    t0 = time.perf_counter()
    rows = rejected = 0
    for _line, row in sampled(read_csv(csv_path, RESIDENT_COLUMNS), samples):
        rows += 1
        try:
            parse_resident_row(row, today)
        except RowError:
            rejected += 1
    elapsed = time.perf_counter() - t0
    return {"rows": rows, "rejected": rejected, "seconds": elapsed, "start_rss": start_rss,
            "peak_rss": peak_rss_mib(), "samples": samples}  # fmt: skip


def phase_import(csv_path: Path, url: str, instance: str, migrate: bool) -> dict[str, Any]:
    from service.db import get_db
    from service.migrations_runner import upgrade
    from service.registry_import import IMPORT_CHUNK, RESIDENT_COLUMNS, import_residents, read_csv
    from service.security import get_cipher

    app = _app(url, instance)
    with app.app_context():
        database = get_db(app)
        if migrate:
            upgrade(database.engine)
        samples: list[tuple[int, float]] = []
        start_rss = rss_mib()
        profiler = cProfile.Profile(time.process_time) if os.environ.get("BENCH_IMPORT_PROFILE") else None
        span = cpu_use.Span.start(importer=os.getpid())
        t0 = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        result = import_residents(
            database.sessionmaker,
            sampled(read_csv(csv_path, RESIDENT_COLUMNS), samples),
            get_cipher(app),
            batch_size=int(os.environ.get("BENCH_IMPORT_CHUNK", IMPORT_CHUNK)),
        )
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - t0
        span.stop()
        if profiler is not None:
            print_profile(profiler, f"import ({'first' if migrate else 'again'})")
        database.engine.dispose()
    return {"rows": result.read, "inserted": result.inserted, "updated": result.updated,
            "unchanged": result.unchanged, "rejected": result.rejected, "seconds": elapsed,
            "start_rss": start_rss, "peak_rss": peak_rss_mib(), "samples": samples, "cpu": _cpu(span)}  # fmt: skip


def _cpu(span: cpu_use.Span) -> dict[str, float]:
    return {"busy": span.busy, "idle": span.idle, "busy_share": span.busy_share,
            "importer": span.parts["importer"], "database": span.parts["database"]}  # fmt: skip


def print_profile(profiler: cProfile.Profile, label: str) -> None:
    """The top functions of a profiled phase, to stderr (stdout carries the phase's JSON result).
    cProfile sees the importing thread only: the merge thread's work is the database's."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    text = out.getvalue()
    sys.stderr.write(f"--- {label}: cProfile of the importing thread, CPU time, top 25 by tottime ---\n")
    sys.stderr.write(text[text.find("   ncalls") :].rstrip().replace(str(ROOT) + "/", "") + "\n")


def phase_copy(csv_path: Path, url: str) -> dict[str, Any]:
    """Baseline: a raw ``COPY … FROM STDIN`` (what ``psql \\copy`` does) of the same CSV into an
    unindexed table of text columns: no validation, no encryption, no index."""
    import psycopg

    from service.registry_import import RESIDENT_COLUMNS

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        columns = ", ".join(f"{c} text" for c in RESIDENT_COLUMNS)
        conn.execute(f"DROP TABLE IF EXISTS bench_raw_copy; CREATE UNLOGGED TABLE bench_raw_copy ({columns})")
        conn.commit()
        span = cpu_use.Span.start(importer=os.getpid())
        t0 = time.perf_counter()
        sql = "COPY bench_raw_copy FROM STDIN WITH (FORMAT csv, HEADER true)"
        with conn.cursor() as cur, cur.copy(sql) as copy, csv_path.open("rb") as fh:
            while block := fh.read(1 << 20):
                copy.write(block)
        conn.commit()
        elapsed = time.perf_counter() - t0
        span.stop()
        rows = conn.execute("SELECT count(*) FROM bench_raw_copy").fetchone()
        conn.execute("DROP TABLE bench_raw_copy")
        conn.commit()
    return {"rows": int(rows[0]) if rows else 0, "rejected": 0, "seconds": elapsed, "start_rss": rss_mib(),
            "peak_rss": peak_rss_mib(), "samples": [], "cpu": _cpu(span)}  # fmt: skip


def run_phase(*args: str) -> dict[str, Any]:
    """Run one phase in a fresh interpreter; its last stdout line is the JSON result."""
    proc = subprocess.run(
        [sys.executable, __file__, "--phase", *args], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"phase {args[0]} failed ({proc.returncode})")
    if os.environ.get("BENCH_IMPORT_PROFILE") and "cProfile" in proc.stderr:
        print(proc.stderr[proc.stderr.find("--- ") :].rstrip())
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- databases


def _pg_admin() -> Any:
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


def create_pg_database(name: str) -> str:
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_pg_database(name: str) -> None:
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_size(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
    return str(row[0]) if row else "?"


# --------------------------------------------------------------------------- report


def _rate(result: dict[str, Any]) -> float:
    return float(result["rows"]) / result["seconds"] if result["seconds"] else float("inf")


def _samples(result: dict[str, Any]) -> str:
    samples = result["samples"]
    if not samples:
        return "-"
    step = max(1, len(samples) // 6)
    picked = samples[::step]
    if picked[-1] != samples[-1]:
        picked.append(samples[-1])
    return ", ".join(f"{n // 1000}k:{mib:.0f}" for n, mib in picked)


def report_phase(label: str, result: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    rate = _rate(result)
    ratio = ""
    if baseline is not None:
        times = result["seconds"] / baseline["seconds"]
        ratio = f"  = {times:.2f}x the parse time ({rate / _rate(baseline):.2f} of its rate)"
    if "inserted" in result:
        counts = (f"  [inserted {result['inserted']:,}, updated {result['updated']:,}, "
                  f"unchanged {result['unchanged']:,}, rejected {result['rejected']:,}]")  # fmt: skip
    else:
        counts = f"  [rejected {result['rejected']:,}]"
    print(f"  {label:<11} {result['rows']:>10,} rows {result['seconds']:9.1f} s {rate:>10,.0f} rows/s{ratio}")
    print(f"  {'':<11} peak RSS {result['peak_rss']:.0f} MiB (RSS at start {result['start_rss']:.0f} MiB);"
          f" RSS by rows (k:MiB) {_samples(result)}{counts}")  # fmt: skip
    if cpu := result.get("cpu"):
        print(
            f"  {'':<11} CPU: importer {cpu['importer']:.1f} s, database {cpu['database']:.1f} s; "
            f"cores busy {cpu['busy']:.1f} of {cpu['busy'] + cpu['idle']:.1f} core-s ({cpu['busy_share']:.0%})"
        )


def bench_backend(backend: str, csv_path: Path, tmp: Path, baseline: dict[str, Any]) -> dict[str, Any]:
    instance = tmp / f"instance-{backend}"
    instance.mkdir()
    db_name = f"bench_import_{os.getpid()}"
    url = f"sqlite:///{tmp / 'bench.db'}" if backend == "sqlite" else create_pg_database(db_name)
    copy = None
    try:
        if backend == "postgresql":
            copy = run_phase("copy", str(csv_path), url)
        first = run_phase("import", str(csv_path), url, str(instance), "migrate")
        second = run_phase("import", str(csv_path), url, str(instance), "")
        size = f"{(tmp / 'bench.db').stat().st_size / 2**20:.0f} MiB" if backend == "sqlite" else pg_size(url)
    finally:
        if backend == "postgresql":
            drop_pg_database(db_name)
    print(f"\n{backend} (database size after import: {size})")
    report_phase("parse", baseline, None)
    report_phase("import", first, baseline)
    report_phase("re-import", second, baseline)
    if copy is not None:
        report_phase("raw COPY", copy, None)
        ratio = first["seconds"] / copy["seconds"]
        print(
            f"MEASURE import postgresql {first['rows']:,} rows {first['seconds']:.1f} s  baseline raw COPY "
            f"{copy['seconds']:.1f} s  ratio {ratio:.1f}x  target <= 10x: {'met' if ratio <= 10 else 'MISSED'}"
        )
        # Whether more processes could help: the CPU the import needs (importer + database), spread
        # perfectly over the cores, against the same raw COPY. Above 10x, no parallelism meets the
        # target on these cores: only less work per row does.
        for label, phase in (("import", first), ("re-import", second)):
            work = phase["cpu"]["importer"] + phase["cpu"]["database"]
            floor = work / cpu_use.CORES
            verdict = ("more processes could help" if floor / copy["seconds"] <= 10
                       else "above 10x: no number of processes meets the target on these cores")  # fmt: skip
            print(
                f"MEASURE {label} postgresql CPU floor on {cpu_use.CORES} cores  {floor:.1f} s "
                f"({work:.1f} core-s, cores busy {phase['cpu']['busy_share']:.0%})  baseline raw COPY "
                f"{copy['seconds']:.1f} s  ratio {floor / copy['seconds']:.1f}x  ({verdict})"
            )
    peak = max(first["peak_rss"], second["peak_rss"])
    print(
        f"MEASURE import {backend} {first['rows']:,} rows {first['rows'] / first['seconds']:,.0f} rows/s  baseline "
        f"parse {baseline['rows'] / baseline['seconds']:,.0f} rows/s  "
        f"ratio {baseline['seconds'] / first['seconds']:.3f}  peak RSS {peak:.0f} MiB  "
        f"target < 200 MiB: {'met' if peak < 200 else 'MISSED'}"
    )
    return {"backend": backend, "import": first, "reimport": second, "size": size}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--keep-csv", type=Path, default=None, help="reuse or keep the CSV at this path")
    parser.add_argument("--chunk", type=int, default=None, help="rows per committed chunk (default: the command's)")
    parser.add_argument("--profile", action="store_true", help="cProfile the import phases (their own time grows)")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase:  # child process
        kind, csv_path, *rest = args.phase
        if kind == "parse":
            out = phase_parse(Path(csv_path))
        elif kind == "copy":
            out = phase_copy(Path(csv_path), rest[0])
        else:
            url, instance, migrate = (*rest, "")[:3]
            out = phase_import(Path(csv_path), url, instance, migrate == "migrate")
        print(json.dumps(out))
        return

    if args.profile:
        os.environ["BENCH_IMPORT_PROFILE"] = "1"  # read by the import phases (child processes)
    if args.chunk:
        os.environ["BENCH_IMPORT_CHUNK"] = str(args.chunk)  # read by the import phases (child processes)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    from service.registry_import import IMPORT_CHUNK

    print(f"bench_import: {args.rows:,} rows, chunks of {args.chunk or IMPORT_CHUNK:,}, "
          f"backends {', '.join(backends)}, {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M')}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmpdir:
        tmp = Path(tmpdir)
        csv_path = args.keep_csv or tmp / "residents.csv"
        if args.keep_csv and csv_path.exists() and _line_count(csv_path) == args.rows + 1:
            print(f"reusing {csv_path}")
        else:
            t0 = time.perf_counter()
            write_csv(csv_path, args.rows)
            print(f"generated {csv_path.name}: {csv_path.stat().st_size / 2**20:.0f} MiB "
                  f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        baseline = run_phase("parse", str(csv_path))
        if baseline["rejected"]:
            raise SystemExit(f"the synthetic CSV has {baseline['rejected']} invalid rows")
        for backend in backends:
            bench_backend(backend, csv_path, tmp, baseline)


def _line_count(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in islice(fh, None))


if __name__ == "__main__":
    main()
