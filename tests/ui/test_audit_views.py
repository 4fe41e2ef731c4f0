"""The auditor's desk (/admin/audit) through Flask's test client: who may open it (the one
access policy: ``audit.read``), the month (default last month by the frozen clock, a bad one a
422 page), the page's numbers against ``service.audit.monthly_report``, keeping a report and
its download, the log search and its export behind a reason. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service import audit, clock
from service.db import get_db
from service.models import AuditEntry, AuditReport
from service.security import Principal
from tests.api.conftest import RRN
from tests.ui.conftest import csrf_token, login, page_text

pytestmark = pytest.mark.usefixtures("desk")


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def _reads(app: Flask, at: str, actor: str, people: range, role: str = "nominator",
           institution: str = "haengdang1-center") -> None:  # fmt: skip
    """``actor`` read ``people`` (synthetic blind indexes) at ``at``: entries of the access log."""
    with get_db(app).sessionmaker() as session, clock.frozen(at):
        audit.record(session, Principal(actor, 1, institution, institution, role), "nomination.read",
                     [(f"{n:064x}", "450312-2******") for n in people], target="t")  # fmt: skip
        session.commit()


@pytest.fixture
def october(app: Flask) -> None:
    """October 2026: four nominators read 5, 4, 6 and 90 people (a volume flag); one reads on
    Monday 5 October, 개천절's substitute holiday, in office hours (an out-of-hours flag)."""
    _reads(app, "2026-10-14T10:00:00+09:00", "user:a", range(0, 5))
    _reads(app, "2026-10-14T11:00:00+09:00", "user:b", range(5, 9), institution="eungbong-center")
    _reads(app, "2026-10-15T11:00:00+09:00", "user:c", range(9, 15), institution="eungbong-center")
    _reads(app, "2026-10-16T14:00:00+09:00", "user:d", range(100, 190), institution="hope-church")
    _reads(app, "2026-10-05T10:30:00+09:00", "user:holiday", range(0, 2))


def _rows(html: str, attribute: str) -> dict[str, dict[str, int]]:
    """``<tr data-{attribute}="key">`` rows of the page and their ``data-count`` cells."""
    rows: dict[str, dict[str, int]] = {}
    for key, body in re.findall(rf'<tr data-{attribute}="([^"]+)"[^>]*>(.*?)</tr>', html, re.S):
        rows[key] = {name: int(value) for name, value in re.findall(r'data-count="(\w+)">(\d+)<', body)}
    return rows


@pytest.mark.parametrize("username", ["auditor", "policy"])
def test_auditors_and_admins_open_it_from_the_menu(app: Flask, username: str) -> None:
    client = _client(app, username)
    page = client.get("/admin/programs")
    assert 'href="/admin/audit"' in page.get_data(as_text=True) and "접속기록 점검" in page_text(page)
    review = client.get("/admin/audit")
    assert review.status_code == 200
    assert "2026-10" in page_text(review)  # last month by the frozen clock (2026-11-25)
    assert 'value="2026-10"' in review.get_data(as_text=True)


@pytest.mark.parametrize("username", ["senior", "center", "policy-dept"])
def test_other_roles_neither_see_nor_open_it(app: Flask, username: str) -> None:
    client = _client(app, username)
    assert "접속기록 점검" not in page_text(client.get("/admin/programs"))
    token = csrf_token(client.get("/admin/programs"))
    for response in (client.get("/admin/audit"), client.get("/admin/audit?month=2026-11"),
                     client.get("/admin/audit/log"), client.get("/admin/audit/reports/1"),
                     client.post("/admin/audit/reports", data={"csrf_token": token, "month": "2026-10"}),
                     client.post("/admin/audit/log/export",
                                 data={"csrf_token": token, "reason": "x", "format": "csv"})):  # fmt: skip
        assert response.status_code == 403, response.request.path
    with get_db(app).sessionmaker() as session:
        assert session.scalars(select(AuditReport)).first() is None


def test_an_anonymous_visitor_is_sent_to_the_login(app: Flask) -> None:
    response = app.test_client().get("/admin/audit")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "month", ["2026-13", "2026-1", "26-10", "abc", "2026-10-01", "<script>x</script>", "０２０２６-１０"]
)
def test_a_bad_month_is_a_clear_422_page(app: Flask, month: str) -> None:
    response = _client(app, "auditor").get("/admin/audit", query_string={"month": month})
    assert response.status_code == 422
    text = page_text(response)
    assert "월은 YYYY-MM 형식이어야 합니다" in text and "<script>x" not in response.get_data(as_text=True)
    english = _client(app, "auditor").get("/admin/audit", query_string={"month": month, "lang": "en"})
    assert english.status_code == 422 and "the month must be YYYY-MM" in page_text(english)


def test_the_page_shows_what_monthly_report_says(app: Flask, october: None) -> None:
    response = _client(app, "auditor").get("/admin/audit?month=2026-10")
    assert response.status_code == 200
    html, text = response.get_data(as_text=True), page_text(response)
    with get_db(app).sessionmaker() as session:
        report = audit.monthly_report(session, "2026-10")
    assert _rows(html, "actor") == {
        row["actor"]: {"entries": row["entries"], "people": row["people"], "out_of_hours": row["out_of_hours"]}
        for row in report["by_actor"]
    }
    assert _rows(html, "institution") == {
        row["institution"]: {"entries": row["entries"], "people": row["people"], "actors": row["actors"]}
        for row in report["by_institution"]
    }
    assert _rows(html, "action") == {r["action"]: {"entries": r["entries"], "people": r["people"]}
                                     for r in report["by_action"]}  # fmt: skip
    flags = re.findall(r'<tr data-flag="(\w+)" data-actor="([^"]+)"', html)
    expected = [("volume", "user:d"), ("out_of_hours", "user:holiday")]
    assert flags == [(f["kind"], f["actor"]) for f in report["flags"]] == expected
    for flag in report["flags"]:
        assert flag["reason_ko"] in text
    assert "공휴일·구 휴무일을 뺀 평일" in text  # the reason says holidays count
    assert "2026-10-05 개천절 대체 휴일" in text and "2026-10-09 한글날" in text
    assert 'href="/admin/audit/log?actor=user:d&amp;date_from=2026-10-01&amp;date_to=2026-10-31"' in html
    english = _client(app, "auditor").get("/admin/audit?month=2026-10&lang=en")
    assert report["flags"][1]["reason_en"].replace("'", "&#39;") in english.get_data(as_text=True)
    assert "Alternative holiday for National Foundation Day" in page_text(english)


def test_keeping_the_report_stores_records_and_shows_it(app: Flask, october: None) -> None:
    client = _client(app, "auditor")
    page = client.get("/admin/audit?month=2026-10")
    kept = client.post("/admin/audit/reports", data={"csrf_token": csrf_token(page), "month": "2026-10"})
    assert kept.status_code == 302
    with get_db(app).sessionmaker() as session:
        report = session.scalars(select(AuditReport)).one()
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.report")).one()
    assert kept.headers["Location"].endswith(f"/admin/audit/reports/{report.id}")
    assert report.month == "2026-10" and report.created_by == "user:auditor" and entry.actor == "user:auditor"
    assert entry.target == f"audit_report:{report.id}" and report.body["totals"]["flags"] == 2
    shown = client.get(kept.headers["Location"])
    assert shown.status_code == 200 and report.sha256 in page_text(shown) and "보관했습니다" in page_text(shown)
    assert _rows(shown.get_data(as_text=True), "actor")["user:d"]["people"] == 90
    download = client.get(f"/admin/audit/reports/{report.id}.json")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert hashlib.sha256(download.data).hexdigest() == report.sha256 == audit.report_digest(download.get_json())
    again = client.get("/admin/audit?month=2026-10")
    assert f'href="/admin/audit/reports/{report.id}"' in again.get_data(as_text=True)  # the month's kept reports
    assert client.get("/admin/audit/reports/999999").status_code == 404
    without_token = client.post("/admin/audit/reports", data={"month": "2026-10"})
    assert without_token.status_code == 400


def test_the_log_search_is_recorded_and_masks_the_subjects(app: Flask, october: None) -> None:
    client = _client(app, "auditor")
    response = client.get("/admin/audit/log?actor=user:d&date_from=2026-10-01&date_to=2026-10-31")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert len(re.findall(r"<tr data-entry=", html)) == 50 and "90건" in page_text(response)  # one page of 50
    assert "450312-2******" in html and RRN["김순자"] not in html
    with get_db(app).sessionmaker() as session:
        reads = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.read")))
    assert len(reads) == 50  # one entry per person shown: the auditor's reading is access too
    assert {(r.actor, r.detail["filters"]["actor"]) for r in reads} == {("user:auditor", "user:d")}
    bad = client.get("/admin/audit/log?date_from=2026-10-31&date_to=2026-10-01")
    assert bad.status_code == 422 and "끝 날짜가 시작 날짜보다 앞섭니다" in page_text(bad)
    assert client.get("/admin/audit/log?date_from=2026-13-01").status_code == 422


def _export(client: FlaskClient, **fields: Any) -> Any:
    page = client.get("/admin/audit/log")
    return client.post("/admin/audit/log/export", data={"csrf_token": csrf_token(page), **fields})


def _exports(app: Flask) -> list[AuditEntry]:
    with get_db(app).sessionmaker() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.export")))


def test_the_export_needs_a_reason_and_keeps_it(app: Flask, october: None) -> None:
    client = _client(app, "auditor")
    refused = _export(client, reason=" ", format="csv", actor="user:a")
    assert refused.status_code == 422 and "내려받는 사유를 적어 주세요" in page_text(refused)
    hidden = _export(client, reason=f"민원 {RRN['김순자']}", format="csv")
    assert hidden.status_code == 422 and "주민등록번호로 보이는 숫자가 있습니다" in page_text(hidden)
    assert RRN["김순자"] not in hidden.get_data(as_text=True)
    assert _exports(app) == []
    done = _export(client, reason="2026년 10월 정기 점검", format="csv", actor="user:a",
                   date_from="2026-10-01", date_to="2026-10-31")  # fmt: skip
    assert done.status_code == 200 and "attachment" in done.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(done.data.decode("utf-8-sig"))))
    assert len(rows) == 1 + 5 and {r[2] for r in rows[1:]} == {"user:a"}
    recorded = _exports(app)  # one entry per person the file names, each with the reason
    assert len(recorded) == 5 and {subject.subject_masked for subject in recorded} == {"450312-2******"}
    assert {(e.actor, e.detail["reason"], e.detail["rows"]) for e in recorded} == {
        ("user:auditor", "2026년 10월 정기 점검", 5)
    }
    xlsx = _export(client, reason="점검", format="xlsx")
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")
    assert _export(client, reason="점검", format="pdf").status_code == 422


def test_the_english_pages_have_no_korean_but_the_data(app: Flask, october: None) -> None:
    client = _client(app, "auditor")
    client.get("/admin/audit?lang=en")
    for path in ("/admin/audit?month=2026-10", "/admin/audit/log?actor=user:a"):
        text = page_text(client.get(path))
        text = text.replace("한국어", "")  # the language switch names itself
        for data in ("복지정책과",):  # the officer's institution, from the database
            text = text.replace(data, "")
        assert not re.findall(r"[가-힣]+", text), (path, re.findall(r"[가-힣]+", text))
