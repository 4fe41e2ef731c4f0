"""Benchmark ``POST /api/v1/evaluate`` over loopback against a bare Flask JSON endpoint.

Run it as a script (it is not a pytest test)::

    .venv/bin/python tests/bench/bench_api.py [--seconds S] [--concurrency C] [--workers W]

Set-up, in a temporary directory: a scratch SQLite database filled by ``seonbyeol init-db`` and
``seonbyeol demo`` (Seongdong-gu, 20,000 synthetic residents), and a nominator token made with
``seonbyeol create-token --institution haengdang1-center --role nominator``. Then:

* **evaluate**: ``seonbyeol serve --bind 127.0.0.1:PORT --workers W`` (gunicorn sync workers);
  the bodies cycle through 200 demo residents (a seeded sample of the 20,000: living,
  deceased, moved out, outside the district; a few with a misspelt name) over the demo programs.
* **baseline**: a bare Flask app whose one view parses the same JSON body and answers a small
  JSON document, served by ``python -m gunicorn`` with the same settings as ``seonbyeol serve``
  (``service/server.py``: sync workers, one thread, the same timeout and access log to stdout).

Both are loaded by the same client: C threads, each with its own persistent ``http.client``
connection (gunicorn's sync workers close the connection after every response, so the client
reconnects as needed, the same for both), after a short warm-up, until S seconds or
``--max-requests`` requests. It prints requests/s, p50/p99 latency and the ratio evaluate/bare
(target: at least 0.5). With ``--profile`` (or when the ratio is under 0.5) it profiles evaluate
requests in-process with cProfile (Flask test client, same database) and prints the top functions.

The client runs on the same machine, so it competes with the servers for CPU: its own CPU time is
printed too.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
SEONBYEOL = str(BIN / "seonbyeol") if (BIN / "seonbyeol").exists() else "seonbyeol"
TARGET_RATIO = 0.5
# The options service/server.py gives gunicorn (kept in step by hand: it builds them inside run()).
GUNICORN_OPTIONS = [
    "--threads", "1", "--worker-class", "sync", "--timeout", "60",
    "--access-logfile", "-", "--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss',
]  # fmt: skip


# --------------------------------------------------------------------------- the bare app


def bare_app() -> Any:
    """A Flask app with one JSON view: parse the body, answer a small verdict-shaped document."""
    from flask import Flask, jsonify, request

    app = Flask("bare")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    @app.post("/api/v1/evaluate")
    def evaluate() -> Any:
        body = request.get_json()
        nominee = body["nominee"]
        masked = nominee["rrn"][:8] + "******"
        verdict = {"outcome": "eligible", "ruleset": {"name": body["program"], "version": 1, "sha256": "0" * 64},
                   "reasons": [], "evaluated_at": "2026-11-25T10:00:00+09:00"}  # fmt: skip
        return jsonify({"program": body["program"], "nominee": {"rrn": masked, "name": nominee["name"]},
                        "verdict": verdict})  # fmt: skip

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    return app


# --------------------------------------------------------------------------- load client


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    seconds: float = 0.0
    client_cpu: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        data = sorted(self.latencies)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(q * len(data)))] * 1000


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_load(
    port: int, bodies: Sequence[bytes], headers: dict[str, str], seconds: float, concurrency: int, max_requests: int
) -> Load:
    """C threads post bodies round-robin until ``seconds`` pass or ``max_requests`` are sent."""
    load = Load()
    lock = threading.Lock()
    counter = iter(range(max_requests))
    deadline = 0.0
    start_gate = threading.Barrier(concurrency + 1)

    def worker(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        outcomes: dict[str, int] = {}
        errors = 0
        i = offset
        start_gate.wait()
        while time.perf_counter() < deadline:
            with lock:
                if next(counter, None) is None:
                    break
            body = bodies[i % len(bodies)]
            i += concurrency
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/evaluate", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                continue
            latencies.append(time.perf_counter() - t0)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.status == 200:
                outcome = json.loads(data).get("verdict", {}).get("outcome", "?")
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        conn.close()
        with lock:
            load.latencies.extend(latencies)
            load.errors += errors
            for k, v in statuses.items():
                load.statuses[k] = load.statuses.get(k, 0) + v
            for k2, v in outcomes.items():
                load.outcomes[k2] = load.outcomes.get(k2, 0) + v

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(concurrency)]
    for t in threads:
        t.start()
    cpu0 = _cpu()
    t0 = time.perf_counter()
    deadline = t0 + seconds
    start_gate.wait()
    for t in threads:
        t.join()
    load.seconds = time.perf_counter() - t0
    load.client_cpu = _cpu() - cpu0
    return load


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


def cli(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([SEONBYEOL, *args], env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"seonbyeol {' '.join(args)} failed ({proc.returncode})")
    return proc.stdout


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


# --------------------------------------------------------------------------- profile


def profile_evaluate(env: dict[str, str], token: str, bodies: list[dict[str, Any]], requests: int) -> None:
    """cProfile ``requests`` evaluate calls in-process (Flask test client) and print the top functions."""
    from service import create_app

    app = create_app({"DATABASE_URL": env["DATABASE_URL"], "DATA_KEY": env["SEONBYEOL_DATA_KEY"],
                      "SECRET_KEY": env["SEONBYEOL_SECRET_KEY"]})  # fmt: skip
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for body in bodies[:20]:  # warm-up: compile the rule sets, fill caches
        client.post("/api/v1/evaluate", json=body, headers=headers)
    t0 = time.perf_counter()
    for n in range(requests):
        client.post("/api/v1/evaluate", json=bodies[n % len(bodies)], headers=headers)
    plain = (time.perf_counter() - t0) / requests
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    for n in range(requests):
        response = client.post("/api/v1/evaluate", json=bodies[n % len(bodies)], headers=headers)
        assert response.status_code == 200, response.data
    profiler.disable()
    elapsed = time.perf_counter() - t0
    print(f"\nin-process (Flask test client, one process): {plain * 1000:.2f} ms per evaluate request; "
          f"under cProfile {elapsed / requests * 1000:.2f} ms ({requests} requests)")  # fmt: skip
    sections = (
        ("tottime", "own time, all code", True, ()),
        ("cumulative", "cumulative time, project code", False, (rf"{re.escape(str(ROOT))}/(service|rules)/",)),
        ("cumulative", "cumulative time, all code", True, ()),
    )  # fmt: skip
    for key, label, strip, restrict in sections:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        if strip:
            stats.strip_dirs()
        stats.sort_stats(key).print_stats(*restrict, 25)
        text = out.getvalue()
        print(f"--- top 25 by {label} ---")
        print(text[text.find("   ncalls") :].rstrip().replace(str(ROOT) + "/", ""))


# --------------------------------------------------------------------------- main


def print_errors(log: Path, limit: int = 8) -> None:
    """Summarise the servers' error log: the distinct exception lines and how often each came."""
    counts: dict[str, int] = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        text = line.strip()
        if text.startswith(("File ", "[", "Traceback", "^", "~")) or not ("Error" in text or "Exception" in text):
            continue
        text = re.sub(r"[0-9a-f]{32}", "…", text)[:200]
        counts[text] = counts.get(text, 0) + 1
    print("  server errors (stderr, most frequent first):")
    for text, n in sorted(counts.items(), key=lambda kv: -kv[1])[:limit]:
        print(f"    {n:6d}x {text}")


def report(label: str, load: Load) -> None:
    others = {k: v for k, v in load.statuses.items() if k != 200}
    p50, p99 = load.percentile(0.5), load.percentile(0.99)
    print(f"  {label:<9} {load.rate:9,.0f} req/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
          f"  ({load.ok:,} ok in {load.seconds:.1f} s; other statuses {others or 'none'}, errors {load.errors};"
          f" client CPU {load.client_cpu / load.seconds:.0%} of one core)")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per server")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--max-requests", type=int, default=1_000_000, help="stop after this many requests")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each run")
    parser.add_argument("--profile", action="store_true", help="profile evaluate even if the target is met")
    parser.add_argument("--profile-requests", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (database, server log)")
    args = parser.parse_args(argv)

    print(f"bench_api: {args.seconds:g} s per server, concurrency {args.concurrency}, {args.workers} gunicorn "
          f"sync workers, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="bench_api_"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
            "SEONBYEOL_DATA_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "SEONBYEOL_SECRET_KEY": "bench",
        })  # fmt: skip
        t0 = time.perf_counter()
        cli(env, "init-db")
        cli(env, "demo")
        token = cli(env, "create-token", "--institution", "haengdang1-center", "--role", "nominator")
        token = token.strip().splitlines()[-1]
        print(f"demo database ready in {time.perf_counter() - t0:.1f} s")
        bodies = evaluate_bodies()
        print(f"bodies: {describe_bodies(bodies)}")
        payloads = [json.dumps(b, ensure_ascii=False).encode() for b in bodies]
        base_headers = {"Content-Type": "application/json"}
        eval_headers = {**base_headers, "Authorization": f"Bearer {token}"}

        log = (tmp / "servers.log").open("wb")
        results: dict[str, Load] = {}
        for label in ("bare", "evaluate"):
            port = free_port()
            bind = f"127.0.0.1:{port}"
            if label == "evaluate":
                command = [SEONBYEOL, "serve", "--bind", bind, "--workers", str(args.workers)]
                headers = eval_headers
            else:
                command = [sys.executable, "-m", "gunicorn", "--bind", bind, "--workers", str(args.workers),
                           *GUNICORN_OPTIONS, "--pythonpath", str(BENCH_DIR), "bench_api:bare_app()"]  # fmt: skip
                headers = base_headers
            proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
            procs.append(proc)
            wait_ready(port, proc)
            run_load(port, payloads, headers, args.warmup, args.concurrency, args.max_requests)
            results[label] = run_load(port, payloads, headers, args.seconds, args.concurrency, args.max_requests)
            stop(proc)
        log.close()

        print("\nresults")
        report("bare", results["bare"])
        report("evaluate", results["evaluate"])
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(results["evaluate"].outcomes.items()))
        print(f"  evaluate outcomes: {outcomes}")
        bare, evaluate = results["bare"], results["evaluate"]
        ratio = evaluate.rate / bare.rate if bare.rate else 0.0
        verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
        print(f"  ratio evaluate/bare: {ratio:.3f} ({verdict} the target {TARGET_RATIO}); "
              f"latency p50 ratio {evaluate.percentile(0.5) / bare.percentile(0.5):.1f}x")  # fmt: skip
        if any(set(r.statuses) - {200} or r.errors for r in results.values()):
            print_errors(tmp / "servers.log")
        if evaluate.ok == 0 or bare.ok == 0:
            raise SystemExit("a server answered no request with 200")
        if args.profile or ratio < TARGET_RATIO:
            profile_evaluate(env, token, bodies, args.profile_requests)
    finally:
        for proc in procs:
            stop(proc)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
