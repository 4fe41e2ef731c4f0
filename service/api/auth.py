"""Bearer-token authentication and role checks for ``/api/v1``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from ..db import get_session
from ..errors import Forbidden
from ..security import Principal, principal_for_token
from .problems import Problem

F = TypeVar("F", bound=Callable[..., Any])
ALL_ROLES = ("admin", "department", "nominator", "auditor", "system")


def current_principal() -> Principal:
    """The caller of this request; 401 without a valid token."""
    principal = g.get("principal")
    if principal is not None:
        return cast(Principal, principal)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, ("Authorization: Bearer 토큰이 필요합니다", "an Authorization: Bearer token is required"))
    principal = principal_for_token(get_session(), token.strip())
    if principal is None:
        raise Problem(401, ("토큰이 올바르지 않거나 폐기되었습니다", "the token is invalid or revoked"))
    g.principal = principal
    return principal


def requires(*roles: str) -> Callable[[F], F]:
    """Allow the view only to callers with one of ``roles`` (401 without a token, 403 otherwise)."""
    allowed = roles or ALL_ROLES

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal.role not in allowed:
                raise Forbidden(
                    f"'{principal.role}' 역할로는 할 수 없습니다 (허용: {', '.join(allowed)})",
                    f"role '{principal.role}' may not do this (allowed: {', '.join(allowed)})",
                )
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate
