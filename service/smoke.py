"""``seonbyeol smoke``: is a running server answering as it should? (after install, upgrade, restore)

The same few calls an IT officer would make by hand with curl, in order, each reported on one
line, Korean first: health and version, readiness (schema current), the OpenAPI document, the
program list and one dry-run evaluation with a bearer token, and finally that a revoked token
is refused. Without ``--token`` a ``system`` token of the coordinating department is made for the
run (expiring within a day) and revoked at the end, so no credential is left behind. The
evaluation is a dry run: it stores nothing but its audit entry.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

SMOKE_RRN = "000229-3000000"
"""A well-formed number for the dry run (29 Feb 2000, the 7th digit 3); no verdict depends on who it is."""
SMOKE_NAME = "점검용"
TOKEN_NAME = "smoke-test"


@dataclass
class SmokeReport:
    """What the run found: one line per check; ``ok`` is False as soon as one check failed."""

    lines: list[str] = field(default_factory=list)
    failed: int = 0
    skipped: int = 0
    passed: int = 0

    @property
    def ok(self) -> bool:
        return self.failed == 0


def call(
    base: str, path: str, token: str | None = None, body: dict[str, Any] | None = None, timeout: float = 15
) -> tuple[int, Any]:
    """One HTTP call; the status and the decoded JSON answer (None if the answer is not JSON)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method="POST" if data else "GET")
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, None


def run_smoke(
    base: str,
    token: str | None,
    expected_version: str,
    program: str | None = None,
    revoke: Callable[[], None] | None = None,
    echo: Callable[[str], None] = print,
) -> SmokeReport:
    """Run every check against the server at ``base``; ``revoke`` (if given) revokes ``token`` before
    the last check, which then expects a 401."""
    report = SmokeReport()

    def outcome(ok: bool | None, ko: str, en: str) -> None:
        mark = "통과 (ok)  " if ok else "건너뜀 (skip)" if ok is None else "실패 (FAIL)"
        if ok:
            report.passed += 1
        elif ok is None:
            report.skipped += 1
        else:
            report.failed += 1
        line = f"{mark} {ko} ({en})"
        report.lines.append(line)
        echo(line)

    try:
        status, health = call(base, "/healthz")
    except OSError as exc:
        outcome(False, f"서버에 연결할 수 없습니다: {base}", f"cannot reach the server: {exc}")
        return report
    version = (health or {}).get("version") if isinstance(health, dict) else None
    outcome(status == 200 and health.get("status") == "ok", f"/healthz {status}, 버전 {version}", "health, version")
    if version and version != expected_version:
        echo(f"주의 (note): 서버 버전 {version}, 이 명령의 버전 {expected_version} (server and command differ)")
    status, ready = call(base, "/readyz")
    detail = ready.get("detail", "") if isinstance(ready, dict) and status != 200 else "스키마 최신"
    outcome(status == 200, f"/readyz {status}: {detail}", "database answers, schema current")
    status, spec = call(base, "/api/v1/openapi.json")
    documented = isinstance(spec, dict) and bool(spec.get("paths"))
    outcome(status == 200 and documented, f"OpenAPI 문서 {status}", "API document")
    if not token:
        outcome(None, "API 토큰이 없어 사업·판정 점검을 건너뜁니다 (load-district 먼저)", "no token: API skipped")
        return report
    status, programs = call(base, "/api/v1/programs", token)
    items = programs.get("items", []) if isinstance(programs, dict) else []
    outcome(status == 200, f"사업 목록 {status}: {len(items)}개", "program list with a bearer token")
    chosen = program or next((p["code"] for p in items if p.get("status") == "open"), None)
    if chosen is None:
        outcome(None, "열린 사업이 없어 판정 점검을 건너뜁니다", "no open program: evaluation skipped")
    else:
        body = {"program": chosen, "nominee": {"rrn": SMOKE_RRN, "name": SMOKE_NAME}}
        status, answer = call(base, "/api/v1/evaluate", token, body)
        verdict = answer.get("verdict", {}) if isinstance(answer, dict) else {}
        masked = isinstance(answer, dict) and answer.get("nominee", {}).get("rrn") == SMOKE_RRN[:8] + "******"
        fine = (
            status == 200
            and masked
            and verdict.get("outcome") in ("eligible", "review", "ineligible")
            and verdict.get("ruleset", {}).get("name") == chosen
        )
        outcome(fine, f"{chosen} 모의 판정 {status}: {verdict.get('outcome')}", "dry-run evaluation, RRN masked")
    if revoke is not None:
        revoke()
        status, _ = call(base, "/api/v1/programs", token)
        outcome(status == 401, f"폐기한 토큰 {status}", "a revoked token is refused")
    return report


def make_token(session: Session) -> str | None:
    """A ``system`` token of the first department (the coordinating one) that expires within a day
    even if the run is killed before revoking it; None before load-district."""
    from .models import Institution
    from .security import issue_token

    code = session.scalar(select(Institution.code).where(Institution.kind == "department").order_by(Institution.id))
    return None if code is None else issue_token(session, code, "system", TOKEN_NAME, expires_days=1).token


def revoke_token(session: Session, token: str) -> None:
    """Revoke a token made by :func:`make_token` (its row stays, for the audit trail; twice is harmless)."""
    from .security import revoke_token as revoke

    revoke(session, token)
