"""Through the real server (gunicorn, several workers): a revoked token is refused by every
worker at once (evaluate too, whose workers remember a token for a minute and let its access
record check it), and the server's log is JSON lines with request ids and no personal data."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flask.testing import FlaskCliRunner

from tests.api.conftest import PROGRAM, RESIDENTS, RRN
from tests.api.live_server import serve
from tests.factories import write_csv, write_district


def _call(url: str, token: str, body: Any = None, request_id: str | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:  # fmt: skip
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET", headers=headers or {})
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    req.add_header("Connection", "close")
    if request_id:
        req.add_header("X-Request-ID", request_id)
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            resp.read()
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, dict(exc.headers)


def _token(runner: FlaskCliRunner, institution: str, role: str) -> str:
    out = runner.invoke(args=["create-token", "--institution", institution, "--role", role])
    assert out.exit_code == 0, out.output
    return str(out.output.strip().splitlines()[-1])


def test_revocation_in_every_worker_and_json_logs(runner: FlaskCliRunner, database_url: str, tmp_path: Path) -> None:
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml"))]).exit_code == 0
    assert runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", RESIDENTS))]).exit_code == 0
    admin, nominator = _token(runner, "welfare-policy", "admin"), _token(runner, "haengdang1-center", "nominator")
    with serve(database_url, tmp_path, workers=3) as (base, log_path):
        assert _call(f"{base}/api/v1/programs", admin, PROGRAM)[0] == 201
        evaluate = {"program": "kimchi-2026", "nominee": {"rrn": RRN["김순자"], "name": "김순자"}}
        status, headers = _call(f"{base}/api/v1/evaluate", nominator, evaluate, request_id="live-evaluate-1")
        assert status == 200 and headers["X-Request-ID"] == "live-evaluate-1"
        assert _call(f"{base}/api/v1/audit?subject={RRN['이철수']}", admin)[0] == 200
        bad = {"program": "kimchi-2026", "nominee": {"rrn": RRN["박영수"][:-1] + "x", "name": "박영수"}}
        assert _call(f"{base}/api/v1/evaluate", nominator, bad)[0] == 422

        def burst(path: str = "/api/v1/programs", body: Any = None) -> Counter[int]:
            with ThreadPoolExecutor(max_workers=8) as pool:
                return Counter(pool.map(lambda _: _call(f"{base}{path}", nominator, body)[0], range(32)))

        claimed = _call(f"{base}/healthz", admin, headers={"X-Forwarded-Proto": "https"})[1]
        assert "Strict-Transport-Security" not in claimed  # no proxy is trusted: a client cannot claim TLS
        assert burst() == {200: 32}  # every worker has seen the token working
        # evaluate: every worker now remembers the token (no lookup within the minute) ...
        assert burst("/api/v1/evaluate", evaluate) == {200: 32}
        revoked = runner.invoke(args=["revoke-token", nominator[:10]])
        assert revoked.exit_code == 0, revoked.output
        assert burst() == {401: 32}  # and every worker refuses it at once
        assert burst("/api/v1/evaluate", evaluate) == {401: 32}  # ... and its access record refuses it
        assert _call(f"{base}/api/v1/programs", admin)[0] == 200
    lines = [ln for ln in log_path.read_text().splitlines() if ln.strip()]
    records = []
    for line in lines:
        if line.startswith("the clock is frozen at"):  # the tests' frozen clock, said before logging is set up
            continue
        records.append(json.loads(line))  # every line is a JSON object
    access = [r for r in records if r.get("event") == "access"]
    assert len(access) >= 70
    assert all("?" not in r["path"] and r["request_id"] for r in access)
    assert any(r["request_id"] == "live-evaluate-1" and r["path"] == "/api/v1/evaluate" for r in access)
    audit_line = next(r for r in access if r["path"] == "/api/v1/audit")
    assert (audit_line["institution"], audit_line["role"], audit_line["status"]) == ("welfare-policy", "admin", 200)
    assert audit_line["token_prefix"] == admin[:10]
    refused = [r for r in access if r["path"] == "/api/v1/programs" and r["status"] == 401]
    assert len(refused) == 32
    served_by = {r["pid"] for r in access if r["path"] == "/api/v1/programs"}
    assert len(served_by) >= 2, "the bursts reached several workers"
    evaluated_by = {r["pid"] for r in access if r["path"] == "/api/v1/evaluate" and r["status"] == 401}
    assert len(evaluated_by) >= 2, "the refused evaluations reached several workers"
    text = log_path.read_text()
    for secret in [*RRN.values(), *[n.replace("-", "") for n in RRN.values()], *RRN.keys(), admin, nominator]:
        assert secret not in text, secret
