"""A real ``seonbyeol serve``: the smoke test passes against it, and SIGTERM stops it gracefully.

Graceful means the request in flight is answered: the test sends a request's headers and half of
its body, has gunicorn's master receive SIGTERM, then sends the rest and still gets 200 before
the server shuts down. No sleep decides the outcome: the request is in flight by construction.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner

from tests.api.conftest import PROGRAM, RESIDENTS, RRN
from tests.api.live_server import request, serve
from tests.factories import write_csv, write_district


def _token(runner: FlaskCliRunner, institution: str, role: str) -> str:
    out = runner.invoke(args=["create-token", "--institution", institution, "--role", role])
    assert out.exit_code == 0, out.output
    return str(out.output.strip().splitlines()[-1])


def _wait_for(log: Path, pattern: str, seconds: float = 20) -> re.Match[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(errors="replace"))
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not in the server log:\n{log.read_text(errors='replace')[-3000:]}")


def test_smoke_passes_then_sigterm_lets_the_request_in_flight_finish(
    runner: FlaskCliRunner, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml"))]).exit_code == 0
    assert runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", RESIDENTS))]).exit_code == 0
    admin = _token(runner, "welfare-policy", "admin")
    nominator = _token(runner, "haengdang1-center", "nominator")
    monkeypatch.setenv("SEONBYEOL_GRACEFUL_TIMEOUT", "15")  # passed on to the server by the environment
    with serve(database_url, tmp_path, workers=1) as (base, log):
        assert request(f"{base}/api/v1/programs", admin, PROGRAM)[0] == 201

        smoke = runner.invoke(args=["smoke", "--url", base])
        assert smoke.exit_code == 0, smoke.output
        assert "스모크 시험 통과: 6/6, 건너뜀 0 (smoke test passed)" in smoke.output
        assert "실패" not in smoke.output
        listed = runner.invoke(args=["list-tokens", "--active"])
        assert "smoke-test" not in listed.output  # the run's temporary token is revoked

        master = int(_wait_for(log, r"Listening at: http://127\.0\.0\.1:\d+ \((\d+)\)").group(1))
        host, port = base.removeprefix("http://").split(":")
        body = json.dumps({"program": "kimchi-2026", "nominee": {"rrn": RRN["김순자"], "name": "김순자"}}).encode()
        head = (
            f"POST /api/v1/evaluate HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {nominator}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(head + body[:10])  # the worker is now reading this request's body
            time.sleep(0.3)
            os.kill(master, signal.SIGTERM)
            _wait_for(log, r"Handling signal: term")
            conn.sendall(body[10:])
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.startswith(b"HTTP/1.1 200"), answer[:500]
        verdict = json.loads(rest.partition(b"\r\n\r\n")[2])["verdict"]
        assert verdict["outcome"] == "eligible"
        _wait_for(log, r"Shutting down: Master")


def test_smoke_fails_when_nothing_answers(runner: FlaskCliRunner) -> None:
    from tests.api.live_server import free_port

    result = runner.invoke(args=["smoke", "--url", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code == 1
    assert "서버에 연결할 수 없습니다" in result.output and "smoke test FAILED" in result.output
