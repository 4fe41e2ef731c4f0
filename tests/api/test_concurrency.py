"""Race-proof duplicates: 100 simultaneous nominations of one person from 10 institutions,
through the real WSGI stack (gunicorn, several worker processes), on each backend."""

from __future__ import annotations

import copy
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flask.testing import FlaskCliRunner

from tests.conftest import FROZEN_NOW
from tests.factories import DISTRICT, write_csv, write_district

from .conftest import PROGRAM, RESIDENTS, RRN
from .live_server import request, serve


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

    with serve(database_url, tmp_path) as (base, log_path):
        status, created = request(f"{base}/api/v1/programs", admin_token, PROGRAM)
        assert status == 201, created
        barrier = threading.Barrier(20)
        url = f"{base}/api/v1/programs/kimchi-2026/nominations"
        body = {"nominee": {"rrn": RRN["이철수"], "name": "이철수"}}

        def fire(i: int) -> tuple[int, dict[str, Any]]:
            if i < 20:
                barrier.wait()
            return request(url, tokens[i % 10], body)

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(fire, range(100)))
        # an RRN in a query string must not reach the access log either
        status, _ = request(f"{base}/api/v1/audit?subject={RRN['이철수']}", admin_token)
        assert status == 200
    server_log = log_path.read_text()
    assert '"method": "GET", "path": "/api/v1/audit", "status": 200' in server_log  # the JSON access log is
    # written, without the query string...
    for number in RRN.values():  # ...but never with an RRN in it
        assert number not in server_log and number.replace("-", "") not in server_log
    assert Counter(s for s, _ in results) == {201: 100}
    outcomes = Counter(r["verdict"]["outcome"] for _, r in results)
    assert {r["verdict"]["evaluated_at"] for _, r in results} == {FROZEN_NOW}  # every worker read the frozen clock
    assert outcomes == {"eligible": 1, "ineligible": 99}
    duplicates = [r for _, r in results if any(x["rule"] == "duplicate_nomination" for x in r["verdict"]["reasons"])]
    assert len(duplicates) == 99
    winner = next(r for _, r in results if r["verdict"]["outcome"] == "eligible")
    for r in duplicates:
        facts = next(x for x in r["verdict"]["reasons"] if x["rule"] == "duplicate_nomination")["facts"]
        assert facts["person.first_institution_name"].startswith("테스트")
        assert r["id"] > winner["id"]
