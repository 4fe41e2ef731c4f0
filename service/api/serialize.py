"""Turn the service's answers into the contract's JSON; messages follow the caller's language."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from .. import clock
from .problems import wants_english


def localise(verdict: dict[str, Any]) -> dict[str, Any]:
    """Pick each reason's ``message`` in the request's language (Korean by default)."""
    if not verdict or not wants_english():
        return verdict
    out = copy.deepcopy(verdict)
    for reason in out.get("reasons", []):
        messages = reason.get("messages") or {}
        reason["message"] = messages.get("en", reason.get("message"))
    return out


def kst(value: datetime | None) -> str | None:
    return value.astimezone(clock.SEOUL).isoformat() if value is not None else None


def nomination(data: dict[str, Any]) -> dict[str, Any]:
    """A nomination from ``service.nominations.as_dict``: times in KST, verdicts localised."""
    out = dict(data)
    out["created_at"] = kst(data["created_at"])
    out["verdict"] = localise(data["verdict"])
    if "history" in data:
        out["history"] = [localise(v) for v in data["history"]]
    return out
