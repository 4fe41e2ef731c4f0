"""Rule sets as the service sees them: the policy library on disk and published versions.

A published version (a :class:`RuleSetVersion` row) holds the *resolved* YAML, so it keeps
evaluating the same way after the policy files change. Parsed rule sets are cached per
process by (name, version, sha256): parsing YAML on every nomination would cost more
than the evaluation itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import rules
from rules import RuleSet

from .models import RuleSetVersion

_CACHE_SIZE = 256
_cache: OrderedDict[tuple[str, int, str], RuleSet] = OrderedDict()
_cache_lock = threading.Lock()


def library(app: Flask | None = None) -> rules.Library:
    """The policy library of ``POLICIES_DIR``, loaded once per app (strict: errors stop it)."""
    app = app or current_app
    lib = app.extensions.get("seonbyeol.policies")
    if lib is None:
        lib = rules.Library.from_directory(Path(app.config["POLICIES_DIR"]))
        app.extensions["seonbyeol.policies"] = lib
    return lib  # type: ignore[no-any-return]


def ruleset_for(version: RuleSetVersion) -> RuleSet:
    key = (version.name, version.version, version.sha256)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    parsed = rules.load_text(version.yaml_text, source=f"<ruleset {version.name} v{version.version}>")
    if parsed.sha256 != version.sha256:
        raise RuntimeError(f"stored rule set {version.name} v{version.version} fails its sha256 check")
    with _cache_lock:
        _cache[key] = parsed
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return parsed


def parameter_values(ruleset: RuleSet) -> dict[str, Any]:
    return {name: p.value for name, p in ruleset.parameters.items()}


def publish(
    session: Session,
    ruleset: RuleSet,
    base: str | None,
    created_by: str,
    reason: str | None = None,
) -> RuleSetVersion:
    """Store ``ruleset`` as an immutable version row (its version number already set)."""
    row = RuleSetVersion(
        name=ruleset.name,
        version=ruleset.version,
        base=base,
        yaml_text=ruleset.to_yaml(),
        parameters=parameter_values(ruleset),
        sha256=ruleset.sha256,
        created_by=created_by,
        reason=reason,
    )
    session.add(row)
    session.flush()
    return row


def latest_version_number(session: Session, name: str) -> int:
    return session.scalar(select(func.max(RuleSetVersion.version)).where(RuleSetVersion.name == name)) or 0
