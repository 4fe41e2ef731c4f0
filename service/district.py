"""Load or update a district's configuration file (idempotent, all or nothing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import INSTITUTION_KINDS, District, Dong, Institution, ResourceCategory, Sponsor

_CODE = validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$", error="소문자·숫자·하이픈 코드여야 합니다")
_DONG = validate.Regexp(r"^\d{10}$", error="10자리 행정동 코드여야 합니다")
_NAME = validate.Length(min=1, max=200)


class _Strict(Schema):
    class Meta:
        unknown = "raise"


class _DistrictHead(_Strict):
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{5}$"))
    name = fields.String(required=True, validate=_NAME)


class _DongSchema(_Strict):
    code = fields.String(required=True, validate=_DONG)
    name = fields.String(required=True, validate=_NAME)


class _InstitutionSchema(_Strict):
    code = fields.String(required=True, validate=_CODE)
    name = fields.String(required=True, validate=_NAME)
    kind = fields.String(required=True, validate=validate.OneOf(INSTITUTION_KINDS))
    dong = fields.String(load_default=None, validate=_DONG)


class _CodeName(_Strict):
    code = fields.String(required=True, validate=_CODE)
    name = fields.String(required=True, validate=_NAME)


class DistrictFileSchema(_Strict):
    district = fields.Nested(_DistrictHead, required=True)
    dongs = fields.List(fields.Nested(_DongSchema), required=True, validate=validate.Length(min=1))
    institutions = fields.List(fields.Nested(_InstitutionSchema), load_default=list)
    sponsors = fields.List(fields.Nested(_CodeName), load_default=list)
    resource_categories = fields.List(fields.Nested(_CodeName), load_default=list)

    @validates_schema
    def _unique_codes(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, Any] = {}
        for key in ("dongs", "institutions", "sponsors", "resource_categories"):
            seen: set[str] = set()
            for i, item in enumerate(data.get(key, [])):
                if item["code"] in seen:
                    errors.setdefault(key, {})[i] = {"code": [f"코드 중복: {item['code']}"]}
                seen.add(item["code"])
        if errors:
            raise ValidationError(errors)


class DistrictFileError(ValueError):
    """The district file is unreadable or invalid; nothing was changed."""


@dataclass
class LoadSummary:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            out += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {'; '.join(messages)}"]
    return [f"{prefix}: {messages}"]


def parse_district_file(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DistrictFileError(f"{path}: 읽을 수 없습니다 ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise DistrictFileError(f"{path}: YAML 오류 {exc}") from exc
    try:
        data: dict[str, Any] = DistrictFileSchema().load(raw if isinstance(raw, dict) else {})
    except ValidationError as exc:
        lines = "\n".join(f"  {path}: {m}" for m in _flatten(exc.messages))
        raise DistrictFileError(f"{path}: 지역 설정이 올바르지 않습니다 (invalid district file)\n{lines}") from exc
    return data


def _upsert(session: Session, model: Any, rows: list[dict[str, Any]], summary: LoadSummary) -> None:
    label = model.__tablename__
    existing = {
        obj.code: obj for obj in session.scalars(select(model).where(model.code.in_([r["code"] for r in rows])))
    }
    for row in rows:
        obj = existing.get(row["code"])
        if obj is None:
            session.add(model(**row))
            summary.created[label] = summary.created.get(label, 0) + 1
        elif any(getattr(obj, k) != v for k, v in row.items()):
            for k, v in row.items():
                setattr(obj, k, v)
            summary.updated[label] = summary.updated.get(label, 0) + 1


def load_district(session: Session, data: dict[str, Any]) -> LoadSummary:
    """Create or update everything the file declares; the caller commits once."""
    summary = LoadSummary()
    head = data["district"]
    district = session.scalar(select(District).where(District.code == head["code"]))
    if district is None:
        district = District(code=head["code"], name=head["name"])
        session.add(district)
        summary.created["districts"] = 1
    elif district.name != head["name"]:
        district.name = head["name"]
        summary.updated["districts"] = 1
    session.flush()
    did = district.id
    _upsert(session, Dong, [{**d, "district_id": did} for d in data["dongs"]], summary)
    insts = [
        {
            "code": i["code"],
            "name": i["name"],
            "kind": i["kind"],
            "dong_code": i["dong"],
            "district_id": did,
        }
        for i in data["institutions"]
    ]
    _upsert(session, Institution, insts, summary)
    _upsert(session, Sponsor, [{**s, "district_id": did} for s in data["sponsors"]], summary)
    _upsert(
        session,
        ResourceCategory,
        [{**c, "district_id": did} for c in data["resource_categories"]],
        summary,
    )
    session.flush()
    return summary
