"""Response headers: no caching of personal data, a strict CSP on the admin UI, HSTS over TLS."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from service import create_app
from service.config import ConfigError
from service.db import get_db
from service.headers import ADMIN_CSP
from tests.conftest import TEST_DATA_KEY

from .conftest import Api

BRIEF_CSP = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
    "font-src": "'self'", "frame-ancestors": "'none'", "form-action": "'self'", "base-uri": "'none'",
}  # fmt: skip
TEMPLATES = Path(__file__).resolve().parents[2] / "admin_ui" / "templates"


def _common(response: Any) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin")


def _csp(response: Any) -> dict[str, str]:
    directives = [d.strip().split(None, 1) for d in response.headers["Content-Security-Policy"].split(";")]
    return {d[0]: (d[1] if len(d) > 1 else "") for d in directives if d}


def test_every_api_answer_is_not_stored(api: Api, program: dict[str, Any]) -> None:
    answers = [
        api.call("GET", "/api/v1/programs/kimchi-2026"),
        api.nominate("haengdang", "김순자"),
        api.call("GET", "/api/v1/programs/kimchi-2026/nominations?format=csv&reason=점검"),
        api.call("GET", "/api/v1/programs/nope"),  # errors too: a 422 may name a field's value
        api.call("GET", "/api/v1/programs", None),
        api.call("POST", "/api/v1/evaluate", "admin", {"program": "kimchi-2026"}),
    ]
    assert [a.status_code for a in answers] == [200, 201, 200, 404, 401, 422]
    for answer in answers:
        _common(answer)
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in answer.headers  # plain HTTP


def test_a_header_the_view_set_is_kept_unless_it_must_be_replaced(app: Flask) -> None:
    """The headers are added in one pass over the view's: its own X-Frame-Options and CSP stay
    (a default only), its Cache-Control does not (personal data is never stored)."""

    @app.get("/api/v1/_probe")
    def probe() -> Any:
        return "", 200, {"X-Frame-Options": "SAMEORIGIN", "Cache-Control": "public, max-age=60",
                         "Content-Security-Policy": "default-src 'none'", "X-Own": "kept"}  # fmt: skip

    response = app.test_client().get("/api/v1/_probe")
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers.getlist("Cache-Control") == ["no-store"] and response.headers["Pragma"] == "no-cache"
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers["X-Own"] == "kept" and response.headers["X-Content-Type-Options"] == "nosniff"
    secure = app.test_client().get("/api/v1/_probe", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_api_answers_neither_read_nor_set_the_cookie_session(api: Api, program: dict[str, Any]) -> None:
    """Only the admin UI has a login session: an API answer sets no cookie and does not vary by one."""
    answer = api.call("POST", "/api/v1/evaluate", "haengdang", {"program": "kimchi-2026",
                      "nominee": {"rrn": "900101-1234567", "name": "없는 사람"}})  # fmt: skip
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    assert "cookie" not in answer.headers.get("Vary", "").lower()


def test_the_openapi_document_and_docs_may_be_cached(api: Api) -> None:
    for path in ("/api/v1/openapi.json", "/api/v1/docs"):
        response = api.client.get(path)
        assert response.status_code == 200
        _common(response)
        assert "no-store" not in response.headers.get("Cache-Control", "")
    docs = api.client.get("/api/v1/docs")
    assert "script-src" not in docs.headers["Content-Security-Policy"]  # the page has no script


def test_admin_pages_have_the_strict_policy_and_are_not_stored(client: Any) -> None:
    page = client.get("/admin/login")
    assert page.status_code == 200
    _common(page)
    policy = _csp(page)
    for directive, value in BRIEF_CSP.items():
        assert policy[directive] == value, directive
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "same-origin"  # Flask-WTF's CSRF check reads the Referer over HTTPS
    redirect = client.get("/admin/programs")  # not logged in: a redirect, still not stored
    assert redirect.status_code in (302, 303) and redirect.headers["Cache-Control"] == "no-store"
    static = client.get("/admin/static/admin.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("Cache-Control", "")
    assert _csp(static)["default-src"] == "'self'"
    static.close()


def test_the_admin_templates_have_no_inline_script_or_style() -> None:
    """What the policy forbids must not be in the templates: it would break under the CSP."""
    offenders = []
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.I)
    for template in sorted(TEMPLATES.rglob("*.html")):
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), start=1):
            if inline.search(line):
                offenders.append(f"{template.relative_to(TEMPLATES)}:{number}: {line.strip()[:80]}")
    assert not offenders, offenders
    assert ADMIN_CSP.count("'self'") >= 6


def test_hsts_only_over_tls(client: Any) -> None:
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    # a client cannot claim TLS itself: X-Forwarded-Proto counts only from a trusted proxy
    spoofed = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers


def _app(tmp_path: Path, database_url: str, **config: Any) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path / "i2"),
                       "SECRET_KEY": "x", "DATA_KEY": TEST_DATA_KEY, **config})  # fmt: skip


def test_behind_a_trusted_proxy_its_forwarded_proto_counts(tmp_path: Path, sqlite_url: str) -> None:
    app = _app(tmp_path, sqlite_url, TRUSTED_PROXIES="1")
    try:
        client = app.test_client()
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        response = client.get("/healthz", headers=forwarded)
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        assert "Strict-Transport-Security" not in client.get("/healthz").headers
    finally:
        get_db(app).engine.dispose()


@pytest.mark.parametrize("value", ["-1", "many", "9"])
def test_a_bad_trusted_proxies_setting_stops_start_up(tmp_path: Path, sqlite_url: str, value: str) -> None:
    with pytest.raises(ConfigError, match="SEONBYEOL_TRUSTED_PROXIES"):
        _app(tmp_path, sqlite_url, TRUSTED_PROXIES=value)
