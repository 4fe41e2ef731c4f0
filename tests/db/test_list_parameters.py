"""A ``Statement``'s list parameters (``{text_list:…}``, ``{int_list:…}``: one JSON text split by
the server) select exactly the rows whose values are in the list, whatever the values hold:
quotes, backslashes, commas, braces, JSON look-alikes, Hangul, emoji, the empty string. (The
re-screening's UPDATE over three such lists is checked row by row in test_rescreen_scale.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text

from service.db import Statement, get_db

AWKWARD = [
    "plain", 'a "quoted" one', "back\\slash", "comma,separated", "{braces}", "[1, 2]", '{"k": "v"}',
    "NULL", "null", "", " spaced ", "한글 세대", "이모지 🏠", "tab\there", "new\nline", "O'Brien", "\\x41",
    "\u00e9t\u00e9", "x" * 300,
]  # fmt: skip


@pytest.fixture
def values_table(app: Flask) -> Iterator[Flask]:
    with get_db(app).engine.begin() as conn:
        conn.execute(text("CREATE TABLE list_probe (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
        conn.execute(
            text("INSERT INTO list_probe (id, v) VALUES (:id, :v)"),
            [{"id": n + 1, "v": v} for n, v in enumerate([*AWKWARD, "not asked for", "plain2"])],
        )
    yield app
    with get_db(app).engine.begin() as conn:
        conn.execute(text("DROP TABLE list_probe"))


_BY_TEXT = Statement("SELECT v FROM list_probe WHERE v IN {text_list:vals} ORDER BY id")
_BY_ID = Statement("SELECT id FROM list_probe WHERE id IN {int_list:ids} ORDER BY id")


def test_text_lists_select_exactly_the_values_given(values_table: Flask) -> None:
    with get_db(values_table).session() as session:
        assert [r[0] for r in _BY_TEXT.rows(session, {"vals": AWKWARD})] == AWKWARD
        some = AWKWARD[1::3]
        assert [r[0] for r in _BY_TEXT.rows(session, {"vals": some})] == some
        assert _BY_TEXT.rows(session, {"vals": []}) == []
        assert [r[0] for r in _BY_TEXT.rows(session, {"vals": ("plain", "plain", "nobody")})] == ["plain"]


def test_int_lists_select_exactly_the_ids_given(values_table: Flask) -> None:
    with get_db(values_table).session() as session:
        assert [r[0] for r in _BY_ID.rows(session, {"ids": [3, 1, 2**40, 5]})] == [1, 3, 5]
        assert _BY_ID.rows(session, {"ids": []}) == []
        assert len(_BY_ID.rows(session, {"ids": range(1, 10_001)})) == len(AWKWARD) + 2
