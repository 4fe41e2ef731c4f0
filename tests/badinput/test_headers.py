"""Bad headers: missing or malformed credentials, content types and lengths, languages."""

from __future__ import annotations

import pytest

from tests.api.conftest import RRN
from tests.badinput.conftest import World, assert_problem

EVALUATE = "/api/v1/evaluate"
BODY = b'{"program": "kimchi-2026", "nominee": {"rrn": "' + RRN["이철수"].encode() + b'", "name": "\xec\x9d\xb4"}}'

# (case id, headers, raw body, content type, status)
CASES: list[tuple[str, dict[str, str], bytes, str, int]] = [
    ("no Authorization", {}, BODY, "application/json", 401),
    ("Basic instead of Bearer", {"Authorization": "Basic YWRtaW46YWRtaW4="}, BODY, "application/json", 401),
    ("Bearer without a token", {"Authorization": "Bearer "}, BODY, "application/json", 401),
    ("unknown token", {"Authorization": "Bearer sb_" + "A" * 43}, BODY, "application/json", 401),
    ("token of 8 KB", {"Authorization": "Bearer " + "x" * 8192}, BODY, "application/json", 401),
    ("token with spaces inside", {"Authorization": "Bearer sb_a sb_b"}, BODY, "application/json", 401),
    ("body as text/plain", {}, BODY, "text/plain", 422),
    ("body as form data", {}, b"program=kimchi-2026", "application/x-www-form-urlencoded", 422),
    ("body that is not UTF-8", {}, b'{"program": "\xff\xfe"}', "application/json", 400),
    ("an unreadable Accept-Language", {"Accept-Language": "zz;q=abc,,;"}, b"{}", "application/json", 422),
]  # fmt: skip


@pytest.mark.parametrize(("headers", "raw", "content_type", "status"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_bad_headers(world: World, headers: dict[str, str], raw: bytes, content_type: str, status: int) -> None:
    who = None if "Authorization" in headers or status == 401 else "haengdang"
    with world.unchanged():
        response = world.call("POST", EVALUATE, who, raw=raw, headers=headers, content_type=content_type)
        assert_problem(response, status)


def test_a_declared_length_over_one_megabyte(world: World) -> None:
    """The limit is judged on the declared length, before the body is read."""
    with world.unchanged():
        response = world.client.post(
            EVALUATE, data=BODY, content_type="application/json", environ_overrides={"CONTENT_LENGTH": "5242880"},
            headers={"Authorization": f"Bearer {world.tokens['haengdang']}"},
        )  # fmt: skip
        assert_problem(response, 413)
