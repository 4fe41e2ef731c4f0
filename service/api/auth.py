"""Bearer-token authentication and role checks for ``/api/v1``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from .. import access
from ..db import get_session
from ..programs import get_program
from ..security import Principal, principal_for_token
from .problems import Problem

F = TypeVar("F", bound=Callable[..., Any])


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


def requires(action: str, manages_program: bool = False) -> Callable[[F], F]:
    """Allow the view only to callers whose role may attempt ``action`` in the one access
    policy (401 without a token, 403 otherwise); object scope is checked by the service.

    ``manages_program``: the path's program (``code``) must be one the caller manages, checked
    before the body is parsed, so that a caller who may not change it gets 403, not 422.
    """
    if action not in access.ACTIONS:
        raise KeyError(f"unknown action {action!r}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            access.require(principal, action)
            if manages_program:
                access.require_manager(principal, get_program(get_session(), kwargs["code"]))
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate
