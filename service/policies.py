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

from .db import Statement
from .errors import NotFound
from .facts import ProgramScope
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


def _cached(key: tuple[str, int, str]) -> RuleSet | None:
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
        return cached


def _parse(key: tuple[str, int, str], yaml_text: str) -> RuleSet:
    name, version, sha256 = key
    parsed = rules.load_text(yaml_text, source=f"<ruleset {name} v{version}>")
    if parsed.sha256 != sha256:
        raise RuntimeError(f"stored rule set {name} v{version} fails its sha256 check")
    with _cache_lock:
        _cache[key] = parsed
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return parsed


def ruleset_for(version: RuleSetVersion) -> RuleSet:
    key = (version.name, version.version, version.sha256)
    return _cached(key) or _parse(key, version.yaml_text)


_SCOPE = Statement(
    "SELECT p.id, p.code, p.category_id, c.code AS category_code, d.district_id, p.ruleset_version_id, "
    "v.name, v.version, v.sha256 FROM programs p "
    "JOIN resource_categories c ON c.id = p.category_id JOIN institutions d ON d.id = p.department_id "
    "JOIN ruleset_versions v ON v.id = p.ruleset_version_id WHERE p.code = :code"
)
_YAML = Statement("SELECT yaml_text FROM ruleset_versions WHERE id = :id")


_scopes: dict[tuple[int, str], ProgramScope] = {}


def cached_scope(session: Session, code: str) -> ProgramScope:
    """The program's scope as this process last read it, reading it only the first time.

    Trusted only together with the facts: :func:`service.facts.person_facts` checks it against
    the program row in the same statement and raises StaleScope when a new version was published
    since (then :func:`program_scope` reads it afresh). NotFound for an unknown code.
    """
    key = (id(session.get_bind()), code)
    scope = _scopes.get(key)
    if scope is None:
        scope = program_scope(session, code)
    return scope


def program_scope(session: Session, code: str) -> ProgramScope:
    """What screening needs of a program, read fresh on every call (one indexed read by primary
    keys, so a newly published version is seen at once by every worker) with the parsed rule set
    from the per-process cache (its YAML is read only the first time a content is seen).
    NotFound for an unknown code. Built for the evaluate path: no ORM object, no lazy load."""
    found = _SCOPE.rows(session, {"code": code})
    if not found:
        raise NotFound(f"사업 '{code}'을(를) 찾을 수 없습니다", f"program '{code}' not found")
    program_id, code, category_id, category_code, district_id, version_id, name, version, sha256 = found[0]
    key = (name, version, sha256)
    ruleset = _cached(key) or _parse(key, _YAML.rows(session, {"id": version_id})[0][0])
    scope = ProgramScope(program_id, code, category_id, category_code, district_id, version_id, ruleset)
    with _cache_lock:
        _scopes[(id(session.get_bind()), code)] = scope
        if len(_scopes) > _CACHE_SIZE:
            _scopes.pop(next(iter(_scopes)))
    return scope


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
