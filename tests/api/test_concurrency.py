"""Race-proof duplicates: 100 simultaneous nominations of one person from 10 institutions,
through the real WSGI stack (gunicorn, several worker processes), on each backend."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flask.testing import FlaskCliRunner

from tests.conftest import TEST_DATA_KEY
from tests.factories import DISTRICT, write_csv, write_district

from .conftest import PROGRAM, RESIDENTS, RRN


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_one_accepted_99_duplicates(runner: FlaskCliRunner, database_url: str, tmp_path: Path) -> None:
    district = copy.deepcopy(DISTRICT)
    codes = [f"center-{i:02d}" for i in range(10)]
    district["institutions"] += [
        {"code": c, "name": f"테스트{i}동주민센터", "kind": "community_center", "dong": "1120056000"}
        for i, c in enumerate(codes)
    ]
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml", district))]).exit_code == 0
    assert runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", RESIDENTS))]).exit_code == 0
    tokens = [
        runner.invoke(args=["create-token", "--institution", c, "--role", "nominator"]).output.strip().splitlines()[-1]
        for c in codes
    ]
    admin = runner.invoke(args=["create-token", "--institution", "welfare-policy", "--role", "admin"])
    admin_token = admin.output.strip().splitlines()[-1]

    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SEONBYEOL_DATA_KEY": TEST_DATA_KEY,
           "SEONBYEOL_SECRET_KEY": "test", "SEONBYEOL_ENV": "development"}  # fmt: skip
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "4"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("server did not start: " + (tmp_path / "server.log").read_text()[-2000:])
        status, created = _request(f"{base}/api/v1/programs", admin_token, PROGRAM)
        assert status == 201, created
        barrier = threading.Barrier(20)
        url = f"{base}/api/v1/programs/kimchi-2026/nominations"
        body = {"nominee": {"rrn": RRN["이철수"], "name": "이철수"}}

        def fire(i: int) -> tuple[int, dict[str, Any]]:
            if i < 20:
                barrier.wait()
            return _request(url, tokens[i % 10], body)

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(fire, range(100)))
        # an RRN in a query string must not reach the access log either
        status, _ = _request(f"{base}/api/v1/audit?subject={RRN['이철수']}", admin_token)
        assert status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    server_log = (tmp_path / "server.log").read_text()
    assert "/api/v1/audit" in server_log  # the access log is written...
    for number in RRN.values():  # ...but never with an RRN in it
        assert number not in server_log and number.replace("-", "") not in server_log
    assert Counter(s for s, _ in results) == {201: 100}
    outcomes = Counter(r["verdict"]["outcome"] for _, r in results)
    assert outcomes == {"eligible": 1, "ineligible": 99}
    duplicates = [r for _, r in results if any(x["rule"] == "duplicate_nomination" for x in r["verdict"]["reasons"])]
    assert len(duplicates) == 99
    winner = next(r for _, r in results if r["verdict"]["outcome"] == "eligible")
    for r in duplicates:
        facts = next(x for x in r["verdict"]["reasons"] if x["rule"] == "duplicate_nomination")["facts"]
        assert facts["person.first_institution_name"].startswith("테스트")
        assert r["id"] > winner["id"]
