"""Benchmark ``POST /api/v1/evaluate`` and ``/evaluate/batch`` from outside, against a bare Flask endpoint.

Run it as a script (it is not a pytest test)::

    .venv/bin/python tests/bench/bench_api.py [--backend sqlite|postgresql|both] [--seconds 10] [--runs 3]

Set-up, per backend: a scratch database (a SQLite file in a temporary directory, or a database
``bench_api_<pid>`` on the PostgreSQL server of ``SEONBYEOL_BENCH_PG``) filled by ``seonbyeol
init-db`` and ``seonbyeol demo`` (Seongdong-gu, 20,000 synthetic residents, 300 nominations), a
nominator token, and ``SEONBYEOL_RATE_LIMIT=off`` (one token at thousands of requests/s would
otherwise be answered 429: the limit is a product setting, not a cost measured here).

Servers: **evaluate** is ``seonbyeol serve --workers W`` (gunicorn sync workers); the **baseline**
is a bare Flask app (:func:`bare_app`) whose views parse the same JSON bodies and answer
verdict-shaped documents, under ``python -m gunicorn`` with the options ``seonbyeol serve`` uses.

Measures, each printed as one line with its baseline and the ratio:

1. **throughput**: ``wrk -t2 -c16 -d S`` (Lua script: the bodies round-robin over 200 demo
   residents), bare and evaluate alternating, ``--runs`` times each; the medians of req/s and p99.
2. **fixed load**: an open-loop generator (:func:`fixed_rate`) sending ``--rate`` requests/s on
   schedule for S seconds (latency counted from the scheduled send time, so a stall is not hidden
   by the generator waiting: no coordinated omission); p50 / p99 against the bare app's.
3. **batch**: ``POST /evaluate/batch`` with 1,000 nominees, ``--batches`` different bodies posted
   by as many client threads as the server has workers, nominees/s end to end (the answers are
   decoded after the clock stops), bare and evaluate alternating ``--runs`` times, the best run of
   each; baseline the bare app answering the same body with 1,000 verdict-shaped items.
   ``--only batch`` takes this measure alone.

Every response of a measured run must be a 200 (wrk counts the others, the script fails on them).
With ``--profile`` it also profiles evaluate in-process (cProfile) and prints the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import cpu_use  # noqa: E402  (tests/bench, beside this script)

BIN = Path(sys.executable).parent
SEONBYEOL = str(BIN / "seonbyeol") if (BIN / "seonbyeol").exists() else "seonbyeol"
PG_ADMIN_URL = os.environ.get("SEONBYEOL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGET_RATIO = 0.35
TARGET_P99_MS = 25.0
TARGET_BATCH_RATE = 10_000
# The options service/server.py gives gunicorn (kept in step by hand: it builds them inside run()).
GUNICORN_OPTIONS = [
    "--threads", "1", "--worker-class", "sync", "--timeout", "60",
    "--access-logfile", "-", "--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss',
]  # fmt: skip


# --------------------------------------------------------------------------- the bare app


def bare_app() -> Any:
    """A Flask app whose views parse the body and answer small verdict-shaped documents."""
    from flask import Flask, jsonify, request

    app = Flask("bare")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    def verdict(program: str) -> dict[str, Any]:
        return {"outcome": "eligible", "ruleset": {"name": program, "version": 1, "sha256": "0" * 64},
                "reasons": [], "evaluated_at": "2026-11-25T10:00:00+09:00"}  # fmt: skip

    @app.post("/api/v1/evaluate")
    def evaluate() -> Any:
        body = request.get_json()
        nominee = body["nominee"]
        return jsonify({"program": body["program"], "nominee": {"rrn": nominee["rrn"][:8] + "******",
                        "name": nominee["name"]}, "verdict": verdict(body["program"])})  # fmt: skip

    @app.post("/api/v1/evaluate/batch")
    def evaluate_batch() -> Any:
        body = request.get_json()
        items = [{"nominee": {"rrn": n["rrn"][:8] + "******", "name": n["name"]}, "verdict": verdict(body["program"])}
                 for n in body["nominees"]]  # fmt: skip
        return jsonify({"program": body["program"], "items": items})

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    return app


# --------------------------------------------------------------------------- bodies


def evaluate_bodies(count: int = 200, seed: int = 11) -> list[dict[str, Any]]:
    """``count`` evaluate bodies for a seeded sample of the demo's residents over its programs."""
    from service.demo.synthetic import DEMO_PROGRAMS, generate_residents

    rng = random.Random(seed)
    residents = rng.sample(list(generate_residents()), count)
    programs = [str(p["code"]) for p in DEMO_PROGRAMS]
    bodies = []
    for n, r in enumerate(residents):
        name = r["name"] if n % 20 else r["name"][:-1] + ("철" if r["name"][-1] != "철" else "희")
        bodies.append({"program": programs[n % len(programs)], "nominee": {"rrn": r["rrn"], "name": name}})
    return bodies


def batch_bodies(count: int, size: int = 1000, seed: int = 12) -> list[dict[str, Any]]:
    """``count`` batch bodies of ``size`` demo residents each (a few repeated, as other systems send)."""
    from service.demo.synthetic import DEMO_PROGRAMS, generate_residents

    rng = random.Random(seed)
    residents = list(generate_residents())
    program = str(DEMO_PROGRAMS[0]["code"])
    return [
        {"program": program, "nominees": [{"rrn": r["rrn"], "name": r["name"]} for r in rng.sample(residents, size)]}
        for _ in range(count)
    ]


def describe_bodies(bodies: list[dict[str, Any]]) -> str:
    from service.demo.synthetic import SEONGDONG_DONGS, generate_residents

    index = {r["rrn"]: r for r in generate_residents()}
    picked = [index[b["nominee"]["rrn"]] for b in bodies]
    active = sum(r["status"] == "active" and r["dong_code"] in SEONGDONG_DONGS for r in picked)
    outside = sum(r["dong_code"] not in SEONGDONG_DONGS for r in picked)
    deceased = sum(r["status"] == "deceased" for r in picked)
    moved = sum(r["status"] == "moved_out" for r in picked)
    typos = sum(index[b["nominee"]["rrn"]]["name"] != b["nominee"]["name"] for b in bodies)
    programs = sorted({b["program"] for b in bodies})
    return (f"{len(bodies)} residents: {active} living in the district, {outside} outside, {deceased} deceased, "
            f"{moved} moved out, {typos} with a misspelt name; programs {', '.join(programs)}")  # fmt: skip


# --------------------------------------------------------------------------- wrk


WRK_SCRIPT = """
local bodies = {}
local i = 0
local token = os.getenv("BENCH_TOKEN") or ""
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, "/api/v1/evaluate", nil, bodies[i])
end
"""


@dataclass
class Wrk:
    rate: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(port: int, seconds: float, connections: int, threads: int, env: dict[str, str]) -> Wrk:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", env["BENCH_SCRIPT"],
         f"http://127.0.0.1:{port}"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    n_bad = int(bad.group(1)) if bad else 0
    n_bad += sum(int(g) for g in errors.groups()[1:]) if errors else 0  # connect errors are gunicorn's backlog
    return Wrk(rate, p50, p99, total, n_bad)


# --------------------------------------------------------------------------- fixed-rate load


@dataclass
class Fixed:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    late_sends: int = 0

    def pct(self, q: float) -> float:
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000 if data else float("nan")


async def _one(port: int, raw: bytes, scheduled: float, result: Fixed) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await reader.read()  # gunicorn's sync worker closes the connection after the answer
    result.latencies.append(time.perf_counter() - scheduled)
    status = int(data[9:12]) if data[:5] == b"HTTP/" else 0
    result.statuses[status] = result.statuses.get(status, 0) + 1
    writer.close()


async def _fixed(port: int, requests: Sequence[bytes], rate: float, seconds: float) -> Fixed:
    result = Fixed()
    tasks = []
    start = time.perf_counter() + 0.05
    for n in range(int(rate * seconds)):
        scheduled = start + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.002:
            result.late_sends += 1
        tasks.append(asyncio.create_task(_one(port, requests[n % len(requests)], scheduled, result)))
    await asyncio.gather(*tasks)
    return result


def fixed_rate(port: int, bodies: Sequence[bytes], headers: dict[str, str], rate: float, seconds: float) -> Fixed:
    """Send ``rate`` requests/s on a fixed schedule (open loop) and time each from its scheduled start."""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    requests = [(f"POST /api/v1/evaluate HTTP/1.1\r\nHost: bench\r\n{head}Content-Length: {len(b)}\r\n"
                 f"Connection: close\r\n\r\n").encode() + b for b in bodies]  # fmt: skip
    return asyncio.run(_fixed(port, requests, rate, seconds))


# --------------------------------------------------------------------------- batch


def post_batches(port: int, bodies: Sequence[bytes], headers: dict[str, str], clients: int = 1) -> tuple[float, int]:
    """Post each batch body once from ``clients`` threads (one per server worker: a throughput
    measure, the same for both servers); (nominees/s, non-200 answers). The answers are parsed
    after the clock stops, so the client's JSON decoding does not count against the server."""
    answers: list[tuple[int, bytes]] = []
    queue = list(bodies)
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request("POST", "/api/v1/evaluate/batch", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            conn.close()
            with lock:
                answers.append((response.status, data))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(max(1, clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    nominees = sum(len(json.loads(data)["items"]) for status, data in answers if status == 200)
    return nominees / elapsed, sum(status != 200 for status, _ in answers)


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on port {port} not ready after {timeout} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


SERVER_PIDS: dict[int, int] = {}
"""port → pid of the server (gunicorn's arbiter) listening there, for :class:`cpu_use.Span`."""


@contextmanager
def server(command: list[str], env: dict[str, str], log: Any) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen([*command, "--bind", f"127.0.0.1:{port}"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=log)  # fmt: skip
    try:
        wait_ready(port, proc)
        SERVER_PIDS[port] = proc.pid
        yield port
    finally:
        SERVER_PIDS.pop(port, None)
        stop(proc)


def cli(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([SEONBYEOL, *args], env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"seonbyeol {' '.join(args)} failed ({proc.returncode})")
    return proc.stdout


def _pg_admin() -> Any:
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


@contextmanager
def scratch_database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    name = f"bench_api_{os.getpid()}"
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------- profile


def profile_evaluate(env: dict[str, str], token: str, bodies: list[dict[str, Any]], requests: int) -> None:
    """cProfile ``requests`` evaluate calls in-process (Flask test client) and print the top functions."""
    import logging

    from service import create_app

    logging.disable(logging.INFO)
    app = create_app({"DATABASE_URL": env["DATABASE_URL"], "DATA_KEY": env["SEONBYEOL_DATA_KEY"],
                      "SECRET_KEY": env["SEONBYEOL_SECRET_KEY"], "RATE_LIMIT": "off"})  # fmt: skip
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for body in bodies[:20]:  # warm-up: compile the rule sets, fill caches
        client.post("/api/v1/evaluate", json=body, headers=headers)
    t0 = time.process_time()
    for n in range(requests):
        client.post("/api/v1/evaluate", json=bodies[n % len(bodies)], headers=headers)
    plain = (time.process_time() - t0) / requests
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for n in range(requests):
        response = client.post("/api/v1/evaluate", json=bodies[n % len(bodies)], headers=headers)
        assert response.status_code == 200, response.data
    profiler.disable()
    print(f"\nin-process (Flask test client): {plain * 1000:.2f} ms CPU per evaluate request ({requests} requests)")
    for key, restrict in (("tottime", ()), ("cumulative", (rf"{re.escape(str(ROOT))}/(service|rules)/",))):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(key).print_stats(*restrict, 25)
        text = out.getvalue()
        print(f"--- top 25 by {key} ---")
        print(text[text.find("   ncalls") :].rstrip().replace(str(ROOT) + "/", ""))


# --------------------------------------------------------------------------- main


def cpu_per_request(spans: list[cpu_use.Span], runs: list[Wrk]) -> tuple[float, float, float, float]:
    """Medians over the runs: server, database and wrk CPU ms per request, and the cores' busy share."""
    pairs = list(zip(spans, runs, strict=True))
    server, database, client = (statistics.median(1000 * s.parts[part] / r.requests for s, r in pairs)
                                for part in ("server", "database", "children"))  # fmt: skip
    return server, database, client, statistics.median(s.busy_share for s in spans)


def line(name: str, value: str, baseline: str, ratio: float, target: str, met: bool) -> None:
    print(f"MEASURE {name:<34} {value:>22}  baseline {baseline:>22}  ratio {ratio:7.3f}  "
          f"target {target}: {'met' if met else 'MISSED'}")  # fmt: skip


def bench_backend(backend: str, args: argparse.Namespace, tmp: Path) -> None:
    with scratch_database(backend, tmp / backend) as url:
        (tmp / backend).mkdir(exist_ok=True)
        env = dict(os.environ)
        env.update({"DATABASE_URL": url, "SEONBYEOL_DATA_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
                    "SEONBYEOL_SECRET_KEY": "bench", "SEONBYEOL_RATE_LIMIT": "off",
                    "SEONBYEOL_INSTANCE_PATH": str(tmp / backend)})  # fmt: skip
        t0 = time.perf_counter()
        cli(env, "init-db")
        cli(env, "demo")
        token = cli(env, "create-token", "--institution", "haengdang1-center", "--role", "nominator")
        token = token.strip().splitlines()[-1].split()[-1]
        print(f"\n{backend}: demo database ready in {time.perf_counter() - t0:.1f} s")
        bodies = evaluate_bodies()
        payloads = [json.dumps(b, ensure_ascii=False).encode() for b in bodies]
        (tmp / "bodies.jsonl").write_bytes(b"\n".join(payloads) + b"\n")
        (tmp / "bench.lua").write_text(WRK_SCRIPT)
        env.update({"BENCH_BODIES": str(tmp / "bodies.jsonl"), "BENCH_SCRIPT": str(tmp / "bench.lua")})
        auth = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        plain = {"Content-Type": "application/json"}
        commands = {
            "evaluate": [SEONBYEOL, "serve", "--workers", str(args.workers)],
            "bare": [sys.executable, "-m", "gunicorn", "--workers", str(args.workers), *GUNICORN_OPTIONS,
                     "--pythonpath", str(BENCH_DIR), "bench_api:bare_app()"],
        }  # fmt: skip
        log = (tmp / f"servers-{backend}.log").open("ab")
        runs: dict[str, list[Wrk]] = {"bare": [], "evaluate": []}
        spans: dict[str, list[cpu_use.Span]] = {"bare": [], "evaluate": []}
        fixed: dict[str, Fixed] = {}
        batch_rate: dict[str, float] = {}
        batches = [json.dumps(b, ensure_ascii=False).encode() for b in batch_bodies(args.batches)]
        with server(commands["bare"], env, log) as bare_port, server(commands["evaluate"], env, log) as eval_port:
            ports = {"bare": bare_port, "evaluate": eval_port}
            if "evaluate" in args.only:
                for label, port in ports.items():  # warm-up: rule sets compiled, caches filled, pools open
                    run_wrk(port, 2, args.connections, 2, {**env, "BENCH_TOKEN": token if label == "evaluate" else ""})
                for _run in range(args.runs):
                    for label, port in ports.items():
                        wrk_env = {**env, "BENCH_TOKEN": token if label == "evaluate" else ""}
                        span = cpu_use.Span.start(server=SERVER_PIDS[port])
                        runs[label].append(run_wrk(port, args.seconds, args.connections, 2, wrk_env))
                        spans[label].append(span.stop())
                for label, port in ports.items():
                    fixed[label] = fixed_rate(port, payloads, auth if label == "evaluate" else plain, args.rate,
                                              args.seconds)  # fmt: skip
            if "batch" in args.only:
                for label, port in ports.items():  # warm-up: both workers, so no batch meets a cold one
                    post_batches(port, batches[:4], auth if label == "evaluate" else plain, args.workers)
                rates: dict[str, list[float]] = {"bare": [], "evaluate": []}
                for _run in range(args.runs):  # alternating, the best of the runs
                    for label, port in ports.items():
                        rate, bad = post_batches(port, batches, auth if label == "evaluate" else plain, args.workers)
                        if bad:
                            raise SystemExit(f"{label}: {bad} batch answers were not 200 (see {log.name})")
                        rates[label].append(rate)
                batch_rate = {label: max(values) for label, values in rates.items()}
                print("  batch nominees/s " + "; ".join(f"{k} " + ", ".join(f"{v:,.0f}" for v in vs)
                                                       for k, vs in rates.items()))  # fmt: skip
        log.close()
        if "batch" in args.only:
            line(f"batch {backend} 1000 nominees x{args.workers} clients", f"{batch_rate['evaluate']:,.0f} nominees/s",
                 f"{batch_rate['bare']:,.0f} nominees/s", batch_rate["evaluate"] / batch_rate["bare"],
                 f">= {TARGET_BATCH_RATE:,} nominees/s", batch_rate["evaluate"] >= TARGET_BATCH_RATE)  # fmt: skip
        if "evaluate" not in args.only:
            return
        for label, results in runs.items():
            for r in results:
                if r.bad:
                    raise SystemExit(f"{backend} {label}: {r.bad} answers were not 200 (see the servers' log)")
            print(f"  wrk {label:<8} req/s " + ", ".join(f"{r.rate:,.0f}" for r in results)
                  + "; p99 ms " + ", ".join(f"{r.p99_ms:.1f}" for r in results))  # fmt: skip
        for label, f in fixed.items():
            if set(f.statuses) != {200}:
                raise SystemExit(f"{backend} {label} fixed-rate: statuses {f.statuses}")
        b_rate = statistics.median(r.rate for r in runs["bare"])
        e_rate = statistics.median(r.rate for r in runs["evaluate"])
        b_p99 = statistics.median(r.p99_ms for r in runs["bare"])
        e_p99 = statistics.median(r.p99_ms for r in runs["evaluate"])
        ratio = e_rate / b_rate
        if os.environ.get("SEONBYEOL_EVALUATE_AUDIT_COMMIT", "durable").strip().lower() == "fast":
            backend = f"{backend} (audit commit fast)"  # SEONBYEOL_EVALUATE_AUDIT_COMMIT passed to the server
        line(f"evaluate {backend} wrk c{args.connections} req/s", f"{e_rate:,.0f} req/s", f"{b_rate:,.0f} req/s",
             ratio, f">= {TARGET_RATIO}", ratio >= TARGET_RATIO)  # fmt: skip
        print(f"MEASURE evaluate {backend} wrk p99 (under saturation)  {e_p99:.1f} ms  baseline {b_p99:.1f} ms")
        cpu = {label: cpu_per_request(spans[label], runs[label]) for label in runs}
        for label, (server_ms, database_ms, client_ms, busy) in cpu.items():
            print(f"  CPU per request, {label:<8} server {server_ms:.2f} ms + database {database_ms:.2f} ms "
                  f"(wrk {client_ms:.2f} ms); cores busy {busy:.0%}")  # fmt: skip
        e_cpu, b_cpu = (cpu[label][0] + cpu[label][1] for label in ("evaluate", "bare"))
        print(f"MEASURE evaluate {backend} CPU per request (server + database)  {e_cpu:.2f} ms  "
              f"baseline {b_cpu:.2f} ms  ratio {b_cpu / e_cpu:.3f}  (cores busy {cpu['evaluate'][3]:.0%}: "
              f"the ratio above reaches {TARGET_RATIO} at <= {b_cpu / TARGET_RATIO:.2f} ms)")  # fmt: skip
        e, b = fixed["evaluate"], fixed["bare"]
        line(f"evaluate {backend} p99 at {args.rate:g} req/s", f"{e.pct(0.99):.1f} ms (p50 {e.pct(0.5):.1f})",
             f"{b.pct(0.99):.1f} ms (p50 {b.pct(0.5):.1f})", e.pct(0.99) / b.pct(0.99), f"<= {TARGET_P99_MS:g} ms",
             e.pct(0.99) <= TARGET_P99_MS)  # fmt: skip
        if e.late_sends or b.late_sends:
            print(f"  (the generator sent {e.late_sends} / {b.late_sends} requests more than 2 ms late)")
        if args.profile:
            profile_evaluate(env, token, bodies, args.profile_requests)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per wrk run and per fixed-rate run")
    parser.add_argument("--runs", type=int, default=3, help="wrk runs per server (alternating; medians reported)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--rate", type=float, default=150.0, help="requests/s of the fixed-rate run")
    parser.add_argument("--batches", type=int, default=10, help="1,000-nominee batches posted per server")
    parser.add_argument(
        "--only",
        choices=("evaluate", "batch"),
        nargs="+",
        default=["evaluate", "batch"],
        help="which measures to take (evaluate: wrk and the fixed rate; batch: 1,000-nominee batches)",
    )
    parser.add_argument("--profile", action="store_true", help="profile evaluate in-process too")
    parser.add_argument("--profile-requests", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (databases, server logs)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    load = os.getloadavg()[0]
    print(f"bench_api: {args.seconds:g} s per run, {args.runs} wrk runs per server, {args.connections} connections, "
          f"{args.workers} gunicorn sync workers, {os.cpu_count()} CPUs (load {load:.1f}), "
          f"Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M')}")  # fmt: skip
    print(f"bodies: {describe_bodies(evaluate_bodies())}")
    tmp = Path(tempfile.mkdtemp(prefix="bench_api_"))
    try:
        for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
            bench_backend(backend, args, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
