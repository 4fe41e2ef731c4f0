"""The seed's whole process on the demo district, through the API: a program with a quota and a
pool allocation; nominations from a community center, a welfare center and a private body
(a duplicate, a deceased person, a household already served by another program); a death
event; re-screening; notification and replacement; confirmation up to the quota; delivery
within the allocation; statistics, the progress monitor and the pool at each step."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient, FlaskCliRunner

from service.demo import synthetic

RESIDENTS = 1500
PROGRAM = {
    "code": "kimchi-extra", "name": "추가 김장김치 나눔", "department": "senior-welfare",
    "resource_category": "kimchi", "sponsor": "red-cross", "quota": 3, "starts_on": "2026-11-20",
    "ends_on": "2026-12-31", "ruleset": "base-screening", "parameters": {},
}  # fmt: skip


class Client:
    def __init__(self, client: FlaskClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def __call__(self, method: str, path: str, who: str, body: Any = None) -> tuple[int, Any]:
        response = self.client.open(path, method=method, json=body,
                                    headers={"Authorization": f"Bearer {self.tokens[who]}"})  # fmt: skip
        return response.status_code, response.get_json()


def _token(runner: FlaskCliRunner, institution: str, role: str) -> str:
    out = runner.invoke(args=["create-token", "--institution", institution, "--role", role])
    assert out.exit_code == 0, out.output
    return str(out.output.strip().splitlines()[-1])


def test_the_seed_process_end_to_end(client: FlaskClient, runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["demo", "--residents", str(RESIDENTS)]).exit_code == 0
    tokens = {
        "admin": _token(runner, "welfare-policy", "admin"),
        "dept": _token(runner, "senior-welfare", "department"),
        "center": _token(runner, "haengdang1-center", "nominator"),
        "welfare": _token(runner, "seongdong-welfare-center", "nominator"),
        "private": _token(runner, "seongdong-food-bank", "nominator"),
        "system": _token(runner, "welfare-policy", "system"),
    }
    api = Client(client, tokens)
    rows = list(synthetic.generate_residents(RESIDENTS))
    by_household: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_household.setdefault(r["household_id"], []).append(r)

    # a department creates a program with a quota; the admin allocates it part of a sponsor's pool
    assert api("POST", "/api/v1/programs", "dept", PROGRAM)[0] == 201
    status, pool = api("POST", "/api/v1/pools", "admin", {"code": "redcross-kimchi", "name": "적십자 김장김치",
                       "sponsor": "red-cross", "resource_category": "kimchi", "quantity": 1000})  # fmt: skip
    assert status == 201 and pool["remaining"] == 1000
    assert api("POST", "/api/v1/pools/redcross-kimchi/allocations", "admin",
               {"program": "rice-2026", "quantity": 5})[0] == 422  # another category  # fmt: skip
    assert api("POST", "/api/v1/pools/redcross-kimchi/allocations", "admin",
               {"program": "kimchi-extra", "quantity": 2000})[0] == 409  # more than the pool  # fmt: skip
    status, pool = api("POST", "/api/v1/pools/redcross-kimchi/allocations", "admin",
                       {"program": "kimchi-extra", "quantity": 2})  # fmt: skip
    assert status == 201 and pool["allocated"] == 2

    def verdict_now(row: dict[str, str]) -> dict[str, Any]:
        body = {"program": "kimchi-extra", "nominee": {"rrn": row["rrn"], "name": row["name"]}}
        return dict(api("POST", "/api/v1/evaluate", "center", body)[1]["verdict"])

    # people the rules find plainly eligible now (dry runs), in different households
    plain: list[dict[str, str]] = []
    seen: set[str] = set()
    for r in rows:
        fresh = r["status"] == "active" and r["household_id"] not in seen and len(plain) < 5
        if fresh and verdict_now(r)["outcome"] == "eligible":
            plain.append(r)
            seen.add(r["household_id"])
    assert len(plain) == 5
    deceased = next(r for r in rows if r["status"] == "deceased" and verdict_now(r)["outcome"] == "ineligible")
    # a household with an accepted nomination in the demo's open kimchi program
    _, demo_list = api("GET", "/api/v1/programs/kimchi-2026/nominations?outcome=eligible", "admin")
    masked = {(n["nominee"]["name"], n["nominee"]["rrn"]) for n in demo_list["items"]}
    served = next(
        m for r in rows if (r["name"], r["rrn"][:8] + "******") in masked
        for m in by_household[r["household_id"]] if m is not r and m["status"] == "active"
    )  # fmt: skip

    def nominate(who: str, row: dict[str, str], **extra: Any) -> dict[str, Any]:
        body = {"nominee": {"rrn": row["rrn"], "name": row["name"]}, **extra}
        status, answer = api("POST", "/api/v1/programs/kimchi-extra/nominations", who, body)
        assert status == 201, answer
        return dict(answer)

    def rules(answer: dict[str, Any]) -> set[str]:
        return {r["rule"] for r in answer["verdict"]["reasons"]}

    first = nominate("center", plain[0])
    duplicate = nominate("welfare", plain[0])
    assert duplicate["verdict"]["outcome"] == "ineligible" and rules(duplicate) == {"duplicate_nomination"}
    dead = nominate("private", deceased)
    assert "deceased" in rules(dead)
    elsewhere = nominate("welfare", served)
    assert elsewhere["verdict"]["outcome"] == "review" and "household_nominated_elsewhere" in rules(elsewhere)
    second = nominate("center", plain[1])
    third = nominate("private", plain[2])

    _, progress = api("GET", "/api/v1/programs/kimchi-extra/progress", "dept")
    owed = {o["nomination"] for o in progress["owed"]}
    assert owed == {duplicate["id"], dead["id"]}
    assert progress["counts"]["nominations"] == 6

    # a death event arrives for the community center's first nominee; re-screening confirms it
    status, event = api("POST", "/api/v1/registry/events", "system",
                        {"type": "death", "rrn": plain[0]["rrn"], "date": "2026-11-24"})  # fmt: skip
    assert status == 200 and event["applied"] is True
    _, summary = api("POST", "/api/v1/programs/kimchi-extra/rescreen", "dept")
    assert summary["screened"] == 6 and summary["changed"] == 0  # the event already re-screened
    _, notes = api("GET", "/api/v1/notifications?unread=true", "center")
    note = next(n for n in notes["items"] if n["nomination"] == first["id"])
    assert note["kind"] == "nomination_ineligible"
    # the welfare center's duplicate names a person who has died: still ineligible, never promoted
    _, again = api("GET", f"/api/v1/nominations/{duplicate['id']}", "admin")
    assert again["verdict"]["outcome"] == "ineligible"
    _, reminders = api(
        "POST", "/api/v1/programs/kimchi-extra/reminders", "dept", {"institution": "seongdong-food-bank"}
    )
    assert reminders["sent"] == 1
    _, private_notes = api("GET", "/api/v1/notifications", "private")
    assert [n["kind"] for n in private_notes["items"]] == ["replacement_requested"]

    replacement = nominate("center", plain[3], replaces=first["id"])
    assert replacement["verdict"]["outcome"] == "eligible"
    _, progress = api("GET", "/api/v1/programs/kimchi-extra/progress", "dept")
    assert first["id"] not in {o["nomination"] for o in progress["owed"]}

    # confirm up to the quota (3), deliver within the allocation (2)
    for n in (second, third, replacement):
        status, confirmed = api("POST", f"/api/v1/nominations/{n['id']}/status", "dept", {"status": "confirmed"})
        assert status == 200, confirmed
    status, _ = api("POST", f"/api/v1/nominations/{elsewhere['id']}/status", "dept", {"status": "confirmed"})
    assert status == 409  # the quota is full
    _, confirmed_notes = api("GET", "/api/v1/notifications", "private")
    assert "selection_confirmed" in {n["kind"] for n in confirmed_notes["items"]}
    for n in (second, third):
        assert api("POST", f"/api/v1/nominations/{n['id']}/status", "dept", {"status": "delivered"})[0] == 200
    assert api("POST", f"/api/v1/nominations/{replacement['id']}/status", "dept", {"status": "delivered"})[0] == 409

    _, program = api("GET", "/api/v1/programs/kimchi-extra", "dept")
    assert (program["counts"]["confirmed"], program["counts"]["delivered"], program["counts"]["remaining"]) == (1, 2, 0)
    _, pool = api("GET", "/api/v1/pools/redcross-kimchi", "dept")
    assert (pool["allocated"], pool["delivered"], pool["remaining"]) == (2, 2, 998)
    assert pool["allocations"] == [{"program": "kimchi-extra", "department": "senior-welfare", "quantity": 2,
                                    "delivered": 2}]  # fmt: skip
    _, stats = api("GET", "/api/v1/stats?by=institution&program=kimchi-extra", "dept")
    by_inst = {r["key"]: r for r in stats["rows"]}
    assert by_inst["haengdang1-center"]["nominations"] == 3 and by_inst["haengdang1-center"]["delivered"] == 1
    assert by_inst["seongdong-food-bank"]["delivered"] == 1
    assert stats["totals"]["delivered"] == 2 and stats["totals"]["nominations"] == 7
    status, concentrated = api("GET", "/api/v1/stats?by=household", "dept")
    assert status == 422  # a list of people needs a reason
    _, concentrated = api("GET", "/api/v1/stats?by=household&reason=집중 점검", "dept")
    assert any("추가 김장김치 나눔" in r["programs"] for r in concentrated["rows"])
