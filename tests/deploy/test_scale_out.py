"""Scale-out: two ``seonbyeol serve`` processes on different ports, one PostgreSQL database.

The guarantees that the race tests prove inside one server hold across servers, because they
live in the database (unique indexes, the household advisory lock, version numbers), not in a
process: the duplicate race and the household race split across both servers, and a threshold
published through one server is what the other uses on its very next evaluation. PostgreSQL
only (several servers on one SQLite file is not a supported deployment); skipped loudly when
PostgreSQL is unreachable.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskCliRunner

from tests.api.conftest import PROGRAM, RECEIPTS, RESIDENTS, RRN
from tests.api.live_server import request, serve
from tests.factories import DISTRICT, RECEIPT_COLUMNS, resident, write_csv, write_district

pytestmark = pytest.mark.postgres


@pytest.fixture(params=["postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: overrides the suite's sqlite/postgresql parametrisation for this module."""
    return str(request.param)


@contextmanager
def two_servers(database_url: str, workdir: Path) -> Iterator[list[str]]:
    """Two production servers (2 workers each) on their own ports, against the same database."""
    with ExitStack() as stack:
        bases = [stack.enter_context(serve(database_url, workdir, workers=2))[0] for _ in range(2)]
        assert bases[0] != bases[1]
        yield bases


def _token(runner: FlaskCliRunner, institution: str, role: str) -> str:
    out = runner.invoke(args=["create-token", "--institution", institution, "--role", role])
    assert out.exit_code == 0, out.output
    return str(out.output.strip().splitlines()[-1])


def _district(tmp_path: Path, runner: FlaskCliRunner, centers: list[str]) -> None:
    district = copy.deepcopy(DISTRICT)
    district["institutions"] += [
        {"code": c, "name": f"테스트{i}동주민센터", "kind": "community_center", "dong": "1120056000"}
        for i, c in enumerate(centers)
    ]
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml", district))]).exit_code == 0


def test_one_accepted_of_100_nominations_split_across_two_servers(
    runner: FlaskCliRunner, database_url: str, tmp_path: Path
) -> None:
    centers = [f"center-{i:02d}" for i in range(10)]
    _district(tmp_path, runner, centers)
    assert runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", RESIDENTS))]).exit_code == 0
    tokens = [_token(runner, c, "nominator") for c in centers]
    admin = _token(runner, "welfare-policy", "admin")
    with two_servers(database_url, tmp_path) as bases:
        assert request(f"{bases[0]}/api/v1/programs", admin, PROGRAM)[0] == 201
        body = {"nominee": {"rrn": RRN["이철수"], "name": "이철수"}}
        barrier = threading.Barrier(20)

        def fire(i: int) -> tuple[int, int, dict[str, Any]]:
            if i < 20:
                barrier.wait()
            server = i % 2
            status, answer = request(f"{bases[server]}/api/v1/programs/kimchi-2026/nominations", tokens[i % 10], body)
            return server, status, answer

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(fire, range(100)))
    assert Counter(s for _, s, _ in results) == {201: 100}
    assert Counter(server for server, _, _ in results) == {0: 50, 1: 50}
    outcomes = Counter(a["verdict"]["outcome"] for _, _, a in results)
    assert outcomes == {"eligible": 1, "ineligible": 99}
    winner = next(a for _, _, a in results if a["verdict"]["outcome"] == "eligible")
    for _, _, answer in results:
        if answer is not winner:
            assert [r["rule"] for r in answer["verdict"]["reasons"]] == ["duplicate_nomination"]
            assert answer["id"] > winner["id"]
    # both servers answered some of the 99 duplicates: the guarantee is the database's, not a process's
    assert {server for server, _, a in results if a is not winner} == {0, 1}


def test_household_members_nominated_at_once_through_two_servers(
    runner: FlaskCliRunner, database_url: str, tmp_path: Path
) -> None:
    _district(tmp_path, runner, ["center-a", "center-b"])
    rows = []
    for h in range(10):  # ten two-person households: the head through one server, the member through the other
        rows.append(resident(f"4001{h + 10:02d}-2{h:06d}", f"세대주{h}", f"R{h}", "head"))
        rows.append(resident(f"4202{h + 10:02d}-1{h:06d}", f"세대원{h}", f"R{h}", "member"))
    assert runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", rows))]).exit_code == 0
    tokens = [_token(runner, "center-a", "nominator"), _token(runner, "center-b", "nominator")]
    admin = _token(runner, "welfare-policy", "admin")
    with two_servers(database_url, tmp_path) as bases:
        assert request(f"{bases[1]}/api/v1/programs", admin, PROGRAM)[0] == 201
        barrier = threading.Barrier(len(rows))

        def fire(i: int) -> tuple[str, int, dict[str, Any]]:
            row = rows[i]
            barrier.wait()
            url = f"{bases[i % 2]}/api/v1/programs/kimchi-2026/nominations"
            status, answer = request(url, tokens[i % 2], {"nominee": {"rrn": row["rrn"], "name": row["name"]}})
            return row["household_id"], status, answer

        with ThreadPoolExecutor(max_workers=len(rows)) as pool:
            results = list(pool.map(fire, range(len(rows))))
    by_household: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for household, status, answer in results:
        assert status == 201, answer
        by_household[household].append(answer)
    assert len(by_household) == 10
    for household, answers in by_household.items():
        rules = [[r["rule"] for r in a["verdict"]["reasons"]] for a in answers]
        assert sorted(rules) == [[], ["household_already_nominated"]], (household, rules)
        plain = next(a for a in answers if not a["verdict"]["reasons"])
        flagged = next(a for a in answers if a["verdict"]["reasons"])
        assert plain["verdict"]["outcome"] == "eligible" and flagged["verdict"]["outcome"] == "review"
        assert flagged["id"] > plain["id"]


def test_a_threshold_published_through_one_server_is_used_by_the_other_at_once(
    runner: FlaskCliRunner, database_url: str, tmp_path: Path
) -> None:
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml"))]).exit_code == 0
    assert runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", RESIDENTS))]).exit_code == 0
    receipts = write_csv(tmp_path / "c.csv", RECEIPTS, RECEIPT_COLUMNS)
    assert runner.invoke(args=["import-receipts", str(receipts)]).exit_code == 0
    admin = _token(runner, "welfare-policy", "admin")
    nominator = _token(runner, "haengdang1-center", "nominator")
    over_served = {"program": "kimchi-2026", "nominee": {"rrn": RRN["오복동"], "name": "오복동"}}  # 2 kimchi this year
    with two_servers(database_url, tmp_path) as (first, second):
        assert request(f"{first}/api/v1/programs", admin, PROGRAM)[0] == 201
        status, before = request(f"{second}/api/v1/evaluate", nominator, over_served)
        assert status == 200, before
        assert before["verdict"]["ruleset"]["version"] == 1
        assert [r["rule"] for r in before["verdict"]["reasons"]] == ["household_resource_limit"]

        url = f"{first}/api/v1/programs/kimchi-2026/parameters"
        status, changed = request(url, admin, {"parameters": {"household_limit": 3}}, method="PUT")
        assert status == 200, changed
        assert changed["ruleset"]["version"] == 2

        status, after = request(f"{second}/api/v1/evaluate", nominator, over_served)  # the other server, at once
        assert status == 200, after
        assert after["verdict"]["ruleset"] == changed["ruleset"]  # name, version 2, the same sha256
        assert after["verdict"]["outcome"] == "eligible" and after["verdict"]["reasons"] == []
        status, program = request(f"{second}/api/v1/programs/kimchi-2026", admin)
        assert status == 200 and program["parameters"]["household_limit"] == 3
