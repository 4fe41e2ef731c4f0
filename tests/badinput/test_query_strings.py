"""Bad query strings: a 422 naming the parameter (or the documented 4xx), and nothing stored."""

from __future__ import annotations

import pytest

from tests.api.conftest import RRN
from tests.badinput.conftest import World, assert_problem

NOMINATIONS = "/api/v1/programs/kimchi-2026/nominations"

# (case id, path with query, role, status, parameter named in errors or None)
CASES: list[tuple[str, str, str, int, str | None]] = [
    ("stats without by", "/api/v1/stats", "admin", 422, "by"),
    ("stats by an unknown grouping", "/api/v1/stats?by=religion", "admin", 422, "by"),
    ("stats as PDF", "/api/v1/stats?by=dong&format=pdf", "admin", 422, "format"),
    ("households without a reason", "/api/v1/stats?by=household", "admin", 422, "reason"),
    ("households as CSV with a blank reason", "/api/v1/stats?by=household&format=csv&reason=%20", "admin", 422,
     "reason"),
    ("look-back of zero days", "/api/v1/stats?by=household&days=0&reason=x", "admin", 422, "days"),
    ("look-back of letters", "/api/v1/stats?by=household&days=abc&reason=x", "admin", 422, "days"),
    ("reason of 501 characters", "/api/v1/stats?by=household&reason=" + "a" * 501, "admin", 422, "reason"),
    ("audit from month 13", "/api/v1/audit?from=2026-13-01", "auditor", 422, "from"),
    ("audit to before from", "/api/v1/audit?from=2026-11-02&to=2026-11-01", "auditor", 422, "to"),
    ("audit subject not an RRN", "/api/v1/audit?subject=12345", "auditor", 422, "subject"),
    ("audit limit of zero", "/api/v1/audit?limit=0", "auditor", 422, "limit"),
    ("audit limit of 1,001", "/api/v1/audit?limit=1001", "auditor", 422, "limit"),
    ("audit negative offset", "/api/v1/audit?offset=-1", "auditor", 422, "offset"),
    ("audit export without a reason", "/api/v1/audit?format=csv", "auditor", 422, "reason"),
    ("audit export as PDF", "/api/v1/audit?format=pdf&reason=x", "auditor", 422, "format"),
    ("audit actor with NUL", "/api/v1/audit?actor=a%00b", "auditor", 422, "actor"),
    ("nominations of an unknown status", NOMINATIONS + "?status=archived", "admin", 422, "status"),
    ("nominations of an unknown outcome", NOMINATIONS + "?outcome=maybe", "admin", 422, "outcome"),
    ("nominations export without a reason", NOMINATIONS + "?format=xlsx", "admin", 422, "reason"),
    ("nominations offset beyond 2^63", NOMINATIONS + "?offset=9223372036854775808", "admin", 422, "offset"),
    ("notifications unread=maybe", "/api/v1/notifications?unread=maybe", "haengdang", 422, "unread"),
    ("programs of an unknown status", "/api/v1/programs?status=archived", "admin", 422, "status"),
    ("audit for a nominator", "/api/v1/audit?limit=5", "haengdang", 403, None),
    ("an absurd nomination id", "/api/v1/nominations/99999999999999999999", "admin", 404, None),
    # a download's reason is kept in the access log: never an RRN in it (the number is not echoed: World.call)
    ("households with an RRN as the reason", f"/api/v1/stats?by=household&reason={RRN['김순자']}", "admin", 422,
     "reason"),
    ("audit export with an RRN in the reason", f"/api/v1/audit?format=csv&reason=민원%20{RRN['김순자']}", "auditor",
     422, "reason"),
    ("nominations export with an RRN in the reason", NOMINATIONS + f"?format=csv&reason={RRN['김순자']}", "admin",
     422, "reason"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "who", "status", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_query(world: World, path: str, who: str, status: int, field: str | None) -> None:
    with world.unchanged():
        assert_problem(world.call("GET", path, who), status, field)
