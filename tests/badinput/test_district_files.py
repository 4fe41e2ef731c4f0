"""Bad district files for ``seonbyeol load-district``: refused whole, naming the file and the field;
nothing of the file is loaded (the command is all or nothing)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.badinput.conftest import World
from tests.factories import DISTRICT


def _district(change: Any) -> str:
    data = copy.deepcopy(DISTRICT)
    change(data)
    return yaml.safe_dump(data, allow_unicode=True)


def _set(path: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


# (case id, file content, fragment the message must contain: the field path, or the reason)
CASES: list[tuple[str, str, str]] = [
    ("not YAML", "district: {code: '11200'\n  dongs: [", "YAML 오류"),
    ("a list instead of a mapping", "- 11200\n- 성동구\n", "district"),
    ("no dongs", _district(lambda d: d.pop("dongs")), "dongs"),
    ("district code of letters", _district(_set("district.code", "seoul")), "district.code"),
    ("dong code of 9 digits", _district(_set("dongs.1.code", "112005600")), "dongs.1.code"),
    ("unknown institution kind", _district(_set("institutions.2.kind", "church")), "institutions.2.kind"),
    ("institution code in capitals", _district(_set("institutions.0.code", "Welfare")), "institutions.0.code"),
    ("duplicate institution code", _district(_set("institutions.1.code", "welfare-policy")), "institutions.1.code"),
    ("unknown top-level key", _district(_set("mayor", "홍길동")), "mayor"),
    ("category name too long", _district(_set("resource_categories.0.name", "가" * 201)), "resource_categories.0.name"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_district_file(world: World, tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "district.yaml"
    path.write_text(content, encoding="utf-8")
    with world.unchanged():
        result = world.app.test_cli_runner().invoke(args=["load-district", str(path)])
        assert result.exit_code == 1, result.output
        assert str(path) in result.output and fragment in result.output, result.output


def test_a_missing_district_file(world: World, tmp_path: Path) -> None:
    with world.unchanged():
        result = world.app.test_cli_runner().invoke(args=["load-district", str(tmp_path / "none.yaml")])
        assert result.exit_code == 1 and "읽을 수 없습니다" in result.output
