"""Marshmallow schemas of every request body and answer of ``/api/v1``."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from .. import rrn as rrn_mod
from ..stats import GROUPS

CODE = validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$", error="소문자·숫자·하이픈으로 된 코드여야 합니다 (lowercase code)")


NUL_MESSAGE = "NUL 문자는 쓸 수 없습니다 (NUL characters are not allowed)"
DOWNLOAD_REASON = {
    "description": "내려받기(csv, xlsx)와 세대 집중 목록에는 필수: 없으면 422 "
    "(required for a csv or xlsx download, and for by=household: a 422 without it; recorded in the access log). "
    "주민등록번호 모양의 숫자가 있으면 422 (422 if it holds an RRN-shaped number)"
}
MAX_ID = 2**31 - 1


def no_rrn(value: str | None) -> None:
    """Free text that is stored (notes, reasons, names) must not hold an RRN (``rrn.contains_rrn``);
    the message names the field through marshmallow and never repeats the number."""
    if rrn_mod.contains_rrn(value):
        raise ValidationError(f"{rrn_mod.IN_TEXT_KO} ({rrn_mod.IN_TEXT_EN})")


NO_RRN = "주민등록번호 모양(6자리-7자리, 7번째 1–8)의 숫자가 있으면 422 (422 if it holds an RRN-shaped number)"


def free_text(max_length: int, min_length: int | None = None, **kwargs: Any) -> fields.String:
    """A stored free-text field (note, reason, name): bounded, and never an RRN-shaped number."""
    kwargs.setdefault("metadata", {"description": NO_RRN})
    return fields.String(validate=[validate.Length(min=min_length, max=max_length), no_rrn], **kwargs)


def _nul_errors(value: Any, path: str = "") -> dict[str, list[str]]:
    """Find strings with NUL characters (PostgreSQL cannot store them; no real input has them)."""
    if isinstance(value, str):
        return {path or "_schema": [NUL_MESSAGE]} if "\x00" in value else {}
    if isinstance(value, dict):
        out: dict[str, list[str]] = {}
        for key, item in value.items():
            out.update(_nul_errors(item, f"{path}.{key}" if path else str(key)))
            if isinstance(key, str) and "\x00" in key:
                out[path or "_schema"] = [NUL_MESSAGE]
        return out
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(_nul_errors(item, f"{path}[{i}]"))
        return out
    return {}


class BaseSchema(Schema):
    """Refuses NUL characters anywhere in the input, naming the field."""

    @pre_load
    def _no_nul(self, data: Any, **_: Any) -> Any:
        errors = _nul_errors(dict(data) if hasattr(data, "keys") and not isinstance(data, dict) else data)
        if errors:
            raise ValidationError(errors)
        return data


class StrictSchema(BaseSchema):
    class Meta:
        unknown = RAISE


class RRNField(fields.String):
    """An RRN in, validated and parsed; the message never echoes the number."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> rrn_mod.RRN:
        if not isinstance(value, str):
            raise ValidationError("주민등록번호는 문자열이어야 합니다 (must be a string)")
        try:
            return rrn_mod.parse(value)
        except rrn_mod.InvalidRRN as exc:
            raise ValidationError(str(exc)) from None


class NomineeIn(StrictSchema):
    rrn = RRNField(required=True)
    name = free_text(100, 1, required=True)


class EvaluateIn(StrictSchema):
    program = fields.String(required=True, validate=validate.Length(min=1, max=64))
    nominee = fields.Nested(NomineeIn, required=True)
    note = free_text(1000, load_default=None, allow_none=True)

    def load(self, data: Any, *, many: bool | None = None, partial: Any = None, unknown: str | None = None) -> Any:
        """The hot path of ``POST /evaluate``: a plainly valid body is taken as it is (what the
        full load would give, tested on random bodies); anything else, the full load and its
        errors."""
        fast = _plainly_valid_evaluation(data) if many is None and partial is None else None
        return fast if fast is not None else super().load(data, many=many, partial=partial, unknown=unknown)


def _plain_text(value: Any, longest: int) -> bool:
    return type(value) is str and 1 <= len(value) <= longest and "\x00" not in value


_NOMINEE_KEYS = frozenset({"rrn", "name"})


def _plain_nominee(item: Any) -> dict[str, Any] | None:
    """``NomineeIn().load(item)`` for a nominee with nothing to report (exactly ``rrn`` and
    ``name``, a name within its length with no NUL and no RRN in it, a valid RRN); else None.
    The one check both fast body loads (evaluate, batch) make of a nominee."""
    if type(item) is not dict or item.keys() != _NOMINEE_KEYS:
        return None
    number, name = item["rrn"], item["name"]
    if not (_plain_text(name, 100) and _plain_text(number, 20)):
        return None
    if rrn_mod.contains_rrn(name):  # the full load refuses it (``no_rrn``)
        return None
    try:
        return {"rrn": rrn_mod.parse(number), "name": name}
    except rrn_mod.InvalidRRN:
        return None


def _plainly_valid_evaluation(data: Any) -> dict[str, Any] | None:
    """``EvaluateIn().load(data)`` for a body with nothing to report (no note, no unknown key,
    texts within their lengths and no RRN in the name, a valid RRN); None for any other body."""
    if type(data) is not dict or data.keys() - {"program", "nominee"} or "program" not in data:
        return None
    if not _plain_text(data["program"], 64):
        return None
    nominee = _plain_nominee(data.get("nominee"))
    return None if nominee is None else {"program": data["program"], "nominee": nominee, "note": None}


class BatchEvaluateIn(StrictSchema):
    program = fields.String(required=True, validate=validate.Length(min=1, max=64))
    nominees = fields.List(fields.Nested(NomineeIn), required=True, validate=validate.Length(min=1, max=1000))

    def load(self, data: Any, *, many: bool | None = None, partial: Any = None, unknown: str | None = None) -> Any:
        """The schema's load, with a fast path for a body plainly valid (tests/api/test_batch_fast.py
        checks both give the same for good and bad bodies). marshmallow spends about 130 µs per
        nominee (nested schema, pre-load NUL walk, three validators); the fast path checks the same
        rules in one loop. Anything it does not plainly accept goes through marshmallow, so every
        error is marshmallow's own (``nominees.3.rrn``)."""
        if many is None and partial is None and unknown in (None, RAISE):
            fast = _plain_batch(data)
            if fast is not None:
                return fast
        return super().load(data, many=many, partial=partial, unknown=unknown)


_BATCH_KEYS = frozenset({"program", "nominees"})


def _plain_batch(data: Any) -> dict[str, Any] | None:
    """What BatchEvaluateIn loads from ``data`` when ``data`` is plainly valid (exact JSON types, the
    declared keys only, lengths within the validators', no NUL, no RRN in a name, every RRN
    parsed); else None."""
    if type(data) is not dict or data.keys() != _BATCH_KEYS:
        return None
    program, nominees = data["program"], data["nominees"]
    if not _plain_text(program, 64) or type(nominees) is not list or not 1 <= len(nominees) <= 1000:
        return None
    out = []
    for item in nominees:
        nominee = _plain_nominee(item)
        if nominee is None:
            return None
        out.append(nominee)
    return {"program": program, "nominees": out}


class NominateIn(StrictSchema):
    program = fields.String(
        load_default=None, validate=validate.Length(min=1, max=64),
        metadata={"description": "경로의 사업 코드와 같거나 생략 (the path's code, or left out: else a 422)"},
    )  # fmt: skip
    nominee = fields.Nested(NomineeIn, required=True)
    note = free_text(1000, load_default=None, allow_none=True)
    replaces = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_ID)
    )


class ProgramIn(StrictSchema):
    code = fields.String(required=True, validate=CODE)
    name = free_text(200, 1, required=True)
    department = fields.String(required=True, validate=validate.Length(min=1, max=64))
    resource_category = fields.String(required=True, validate=validate.Length(min=1, max=64))
    sponsor = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    quota = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0, max=10_000_000)
    )
    starts_on = fields.Date(load_default=None, allow_none=True)
    ends_on = fields.Date(load_default=None, allow_none=True)
    ruleset = fields.String(required=True, validate=validate.Length(min=1, max=100))
    parameters = fields.Dict(keys=fields.String(), values=fields.Integer(strict=True), load_default=dict)


class ParametersIn(BaseSchema):
    """Any subset of the program's parameters; ``reason`` is kept with the new version."""

    class Meta:
        unknown = EXCLUDE

    parameters = fields.Dict(keys=fields.String(), values=fields.Integer(strict=True), required=True,
                             validate=validate.Length(min=1))  # fmt: skip
    reason = free_text(1000, load_default=None, allow_none=True)
    expected_version = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "the version the caller read: a concurrent change is then a 409"},
    )  # fmt: skip


class ProgramStatusIn(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(["open", "closed"]))


class PoolIn(StrictSchema):
    code = fields.String(required=True, validate=CODE)
    name = free_text(200, 1, required=True)
    sponsor = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    resource_category = fields.String(required=True, validate=validate.Length(min=1, max=64))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000_000))


class AllocationIn(StrictSchema):
    program = fields.String(required=True, validate=validate.Length(min=1, max=64))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000_000))


class ReminderIn(StrictSchema):
    institution = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))


class RegistryEventIn(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(["death", "move_out"]))
    rrn = RRNField(required=True)
    date = fields.Date(required=True)


class StatusIn(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(["confirmed", "delivered", "cancelled"]))
    note = free_text(1000, load_default=None, allow_none=True)


class ListArgs(BaseSchema):
    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class ProgramListArgs(BaseSchema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(load_default=None, validate=validate.OneOf(["open", "closed"]))
    department = fields.String(load_default=None, validate=validate.Length(min=1, max=64))


class NominationListArgs(ListArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(["open", "confirmed", "delivered", "cancelled"]))
    outcome = fields.String(load_default=None, validate=validate.OneOf(["eligible", "review", "ineligible"]))
    institution = fields.String(load_default=None)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))
    reason = free_text(500, load_default=None, metadata=DOWNLOAD_REASON)


class NotificationArgs(ListArgs):
    unread = fields.Boolean(load_default=False)


class StatsArgs(BaseSchema):
    class Meta:
        unknown = EXCLUDE

    by = fields.String(required=True, validate=validate.OneOf([*GROUPS, "household"]))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))
    program = fields.String(load_default=None)
    days = fields.Integer(load_default=365, validate=validate.Range(min=1, max=1825))
    reason = free_text(500, load_default=None, metadata=DOWNLOAD_REASON)


class AuditArgs(ListArgs):
    actor = fields.String(load_default=None)
    subject = RRNField(load_default=None)
    action = fields.String(load_default=None)
    institution = fields.String(load_default=None)
    date_from = fields.Date(load_default=None, data_key="from")
    date_to = fields.Date(load_default=None, data_key="to")
    # A download of the log (csv, xlsx) lists people: it needs a reason, recorded in the log.
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))
    reason = free_text(500, load_default=None, metadata=DOWNLOAD_REASON)

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ValidationError({"to": ["'to'가 'from'보다 빠릅니다 (to is before from)"]})


# ----------------------------------------------------------------------------- answers


class RuleSetRef(Schema):
    name = fields.String()
    version = fields.Integer()
    sha256 = fields.String()


class ReasonOut(Schema):
    rule = fields.String()
    severity = fields.String()
    message = fields.String()
    messages = fields.Dict(keys=fields.String(), values=fields.String())
    facts = fields.Dict()


class VerdictOut(Schema):
    outcome = fields.String()
    ruleset = fields.Nested(RuleSetRef)
    reasons = fields.List(fields.Nested(ReasonOut))
    evaluated_at = fields.String()


class NomineeOut(Schema):
    rrn = fields.String(metadata={"description": "masked, e.g. 900101-1******"})
    name = fields.String()


class EvaluateOut(Schema):
    program = fields.String()
    nominee = fields.Nested(NomineeOut)
    verdict = fields.Nested(VerdictOut)


class BatchItemOut(Schema):
    nominee = fields.Nested(NomineeOut)
    verdict = fields.Nested(VerdictOut)


class BatchEvaluateOut(Schema):
    program = fields.String()
    items = fields.List(fields.Nested(BatchItemOut))


class NominationOut(Schema):
    id = fields.Integer()
    program = fields.String()
    institution = fields.String()
    nominee = fields.Nested(NomineeOut)
    status = fields.String()
    replaces = fields.Integer(allow_none=True)
    replaced_by = fields.Integer(allow_none=True)
    created_at = fields.String()
    verdict = fields.Nested(VerdictOut)
    history = fields.List(fields.Nested(VerdictOut))
    note = fields.String(allow_none=True)
    status_note = fields.String(allow_none=True)


class NominationList(Schema):
    items = fields.List(fields.Nested(NominationOut))
    total = fields.Integer()


class ProgramOut(Schema):
    code = fields.String()
    name = fields.String()
    department = fields.String()
    department_name = fields.String()
    resource_category_name = fields.String()
    manageable = fields.Boolean(metadata={"description": "whether the caller may change this program (lists)"})
    resource_category = fields.String()
    sponsor = fields.String(allow_none=True)
    quota = fields.Integer(allow_none=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    status = fields.String()
    base_ruleset = fields.String()
    ruleset = fields.Nested(RuleSetRef)
    parameters = fields.Dict()
    parameter_bounds = fields.Dict()
    rules = fields.List(fields.Dict())
    counts = fields.Dict()


class ProgramList(Schema):
    items = fields.List(fields.Nested(ProgramOut))
    total = fields.Integer()


class SimulationItemOut(Schema):
    nomination = fields.Integer()
    institution = fields.String()
    institution_name = fields.String()
    nominee = fields.Nested(NomineeOut)
    status = fields.String()
    from_ = fields.String(attribute="from", data_key="from")
    to = fields.String()
    reasons = fields.List(fields.Nested(ReasonOut))


class SimulationOut(Schema):
    program = fields.String()
    from_ = fields.Nested(RuleSetRef, attribute="from", data_key="from")
    parameters = fields.Dict()
    screened = fields.Integer()
    changed = fields.Integer()
    transitions = fields.Dict(keys=fields.String(), values=fields.Integer())
    items = fields.List(fields.Nested(SimulationItemOut))


class ReplayItemOut(Schema):
    evaluated_at = fields.String()
    ruleset = fields.Nested(RuleSetRef)
    stored = fields.Nested(VerdictOut)
    replayed = fields.Nested(VerdictOut, allow_none=True)
    identical = fields.Boolean()
    problem = fields.String(allow_none=True)


class ReplayOut(Schema):
    identical = fields.Boolean()
    items = fields.List(fields.Nested(ReplayItemOut))


class OwedOut(Schema):
    nomination = fields.Integer()
    institution = fields.String()
    nominee = fields.Nested(NomineeOut)
    ineligible_since = fields.String(allow_none=True)
    days_waiting = fields.Integer(allow_none=True)


class ProgressOut(Schema):
    program = fields.String()
    quota = fields.Integer(allow_none=True)
    counts = fields.Dict()
    by_institution = fields.List(fields.Dict())
    owed = fields.List(fields.Nested(OwedOut))


class AllocationOut(Schema):
    program = fields.String()
    department = fields.String()
    quantity = fields.Integer()
    delivered = fields.Integer()


class PoolOut(Schema):
    code = fields.String()
    name = fields.String()
    sponsor = fields.String(allow_none=True)
    resource_category = fields.String()
    quantity = fields.Integer()
    allocated = fields.Integer()
    delivered = fields.Integer()
    remaining = fields.Integer()
    allocations = fields.List(fields.Nested(AllocationOut))


class PoolList(Schema):
    items = fields.List(fields.Nested(PoolOut))
    total = fields.Integer()


class ReminderOut(Schema):
    program = fields.String()
    sent = fields.Integer()


class RescreenOut(Schema):
    program = fields.String()
    screened = fields.Integer()
    changed = fields.Integer()
    turned_ineligible = fields.Integer()
    outcomes = fields.Dict()


class RegistryEventOut(Schema):
    id = fields.Integer()
    type = fields.String()
    rrn = fields.String()
    date = fields.Date()
    resident_found = fields.Boolean()
    applied = fields.Boolean(metadata={"description": "false when the event is older than the recorded status"})
    rescreened = fields.List(fields.Nested(RescreenOut))


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    nomination = fields.Integer(allow_none=True)
    message = fields.String()
    messages = fields.Dict()
    created_at = fields.String()
    read_at = fields.String(allow_none=True)


class NotificationList(Schema):
    items = fields.List(fields.Nested(NotificationOut))
    total = fields.Integer()


class StatsOut(Schema):
    by = fields.String()
    rows = fields.List(fields.Dict())
    totals = fields.Dict()


class AuditOut(Schema):
    id = fields.Integer()
    at = fields.String()
    actor = fields.String()
    institution = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    action = fields.String()
    subject = fields.String(allow_none=True)
    target = fields.String(allow_none=True)
    detail = fields.Dict()


class AuditList(Schema):
    items = fields.List(fields.Nested(AuditOut))
    total = fields.Integer()


class HealthOut(Schema):
    status = fields.String()


# ----------------------------------------------------------------------------- errors


class ProblemOut(Schema):
    """RFC 9457 problem details (``application/problem+json``): the body of every error answer."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String(
        required=True, metadata={"description": "Korean by default, English with Accept-Language: en"}
    )
    status = fields.Integer(required=True, metadata={"description": "the HTTP status, repeated"})
    detail = fields.String(required=True, metadata={"description": "what went wrong, Korean first"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "validation errors (400, 422): field name (dotted for nested fields) → messages"},
    )
    correlation_id = fields.String(metadata={"description": "500 only: quote it when reporting (also in the logs)"})
