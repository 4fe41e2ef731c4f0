"""Races across worker processes: household members nominated at the same moment, and two
threshold changes at the same moment, through gunicorn with 4 workers, on each backend."""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flask.testing import FlaskCliRunner

from tests.factories import DISTRICT, resident, write_csv, write_district

from .conftest import PROGRAM
from .live_server import request, serve

HOUSEHOLDS = 10


def _token(runner: FlaskCliRunner, institution: str, role: str) -> str:
    out = runner.invoke(args=["create-token", "--institution", institution, "--role", role])
    assert out.exit_code == 0, out.output
    return str(out.output.strip().splitlines()[-1])


def _household_rows() -> list[dict[str, str]]:
    """Ten two-person households: heads born 1940, members born 1942 (valid RRNs)."""
    rows = []
    for h in range(HOUSEHOLDS):
        rows.append(resident(f"4001{h + 10:02d}-2{h:06d}", f"세대주{h}", f"R{h}", "head"))
        rows.append(resident(f"4202{h + 10:02d}-1{h:06d}", f"세대원{h}", f"R{h}", "member"))
    return rows


def test_household_members_nominated_at_once_only_one_is_accepted_plainly(
    runner: FlaskCliRunner, database_url: str, tmp_path: Path
) -> None:
    district = copy.deepcopy(DISTRICT)
    codes = ["center-a", "center-b"]
    district["institutions"] += [
        {"code": c, "name": f"테스트{c}", "kind": "community_center", "dong": "1120056000"} for c in codes
    ]
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml", district))]).exit_code == 0
    rows = _household_rows()
    assert runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", rows))]).exit_code == 0
    tokens = {c: _token(runner, c, "nominator") for c in codes}
    admin = _token(runner, "welfare-policy", "admin")
    with serve(database_url, tmp_path) as (base, _log):
        assert request(f"{base}/api/v1/programs", admin, PROGRAM)[0] == 201
        url = f"{base}/api/v1/programs/kimchi-2026/nominations"
        barrier = threading.Barrier(len(rows))

        def fire(i: int) -> tuple[str, int, dict[str, Any]]:
            row = rows[i]
            barrier.wait()
            status, answer = request(url, tokens[codes[i % 2]], {"nominee": {"rrn": row["rrn"], "name": row["name"]}})
            return row["household_id"], status, answer

        with ThreadPoolExecutor(max_workers=len(rows)) as pool:
            results = list(pool.map(fire, range(len(rows))))
    by_household: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for household, status, answer in results:
        assert status == 201, answer
        by_household[household].append(answer)
    assert len(by_household) == HOUSEHOLDS
    for household, answers in by_household.items():
        plain = [a for a in answers if not any(r["rule"] == "household_already_nominated"
                                               for r in a["verdict"]["reasons"])]  # fmt: skip
        assert len(plain) == 1, (household, [a["verdict"] for a in answers])
        assert plain[0]["verdict"]["outcome"] == "eligible"
        flagged = next(a for a in answers if a is not plain[0])
        assert flagged["verdict"]["outcome"] == "review" and flagged["id"] > plain[0]["id"]


def test_two_threshold_changes_at_once_lose_nothing(runner: FlaskCliRunner, database_url: str, tmp_path: Path) -> None:
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml"))]).exit_code == 0
    admin = _token(runner, "welfare-policy", "admin")
    department = _token(runner, "senior-welfare", "department")
    with serve(database_url, tmp_path) as (base, _log):
        assert request(f"{base}/api/v1/programs", admin, PROGRAM)[0] == 201
        url = f"{base}/api/v1/programs/kimchi-2026/parameters"
        for round_ in range(5):
            changes = [({"lookback_days": 100 + round_}, admin), ({"household_limit": 2 + round_}, department)]
            barrier = threading.Barrier(2)

            def fire(change: tuple[dict[str, int], str], barrier: threading.Barrier = barrier) -> tuple[int, Any]:
                barrier.wait()
                return request(url, change[1], {"parameters": change[0]}, method="PUT")

            with ThreadPoolExecutor(max_workers=2) as pool:
                results = list(pool.map(fire, changes))
            statuses = sorted(s for s, _ in results)
            assert statuses in ([200, 200], [200, 409]), results
            status, program = request(f"{base}/api/v1/programs/kimchi-2026", admin)
            if statuses == [200, 200]:
                versions = sorted(a["ruleset"]["version"] for _, a in results)
                assert versions[1] == versions[0] + 1
                # the later version kept the earlier change: no lost update
                assert program["parameters"] == {"lookback_days": 100 + round_, "household_limit": 2 + round_}
            else:
                winner = next(change for (s, _), change in zip(results, changes, strict=True) if s == 200)
                assert all(program["parameters"][k] == v for k, v in winner[0].items())
