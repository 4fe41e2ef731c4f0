"""Bearer-token authentication and role checks for ``/api/v1``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from .. import access
from ..db import get_session, is_read_only, read_only
from ..programs import get_program
from ..security import (
    Authenticated,
    Principal,
    TokenRejected,
    authenticate,
    forget_authentication,
    recent_authentication,
)
from .problems import Problem

F = TypeVar("F", bound=Callable[..., Any])


_REJECTED = {
    "unknown": ("토큰이 올바르지 않습니다", "the token is not valid"),
    "revoked": ("폐기된 토큰입니다; 새 토큰을 발급받으세요", "the token has been revoked; ask for a new one"),
    "expired": ("만료된 토큰입니다; 새 토큰을 발급받으세요", "the token has expired; ask for a new one"),
}


def bearer_token() -> str | None:
    """The request's bearer token, or None when it carries none."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def current_principal(keep_reading: bool = False, per_statement: bool = False, recent: bool = False) -> Principal:
    """The caller of this request; 401 without a valid (known, unrevoked, unexpired) token.

    The token is checked in a short read-only transaction of its own (on SQLite it takes no
    write lock), committed at once, when the request's session has not started one yet; it
    becomes a writer only in the minute's one request that records ``last_used_at``. Otherwise
    the check runs inside the running transaction, without recording the use.

    ``keep_reading``: leave the read-only transaction open for a view that reads next (evaluate),
    instead of ending it here and beginning another; a view that writes must not ask for it.
    ``per_statement``: those reads are each one statement (see :func:`service.db.read_only`).
    ``recent``: a token this process authenticated within the minute is not looked up again; its
    principal carries a :class:`~service.security.TokenCheck` that the view's access record
    settles (see :func:`requires`).
    """
    principal = g.get("principal")
    if principal is not None:
        return cast(Principal, principal)
    token = bearer_token()
    if token is None:
        raise Problem(401, ("Authorization: Bearer 토큰이 필요합니다", "an Authorization: Bearer token is required"))
    session = get_session()
    own_transaction = not session.in_transaction()
    if own_transaction:
        read_only(session, per_statement=keep_reading and per_statement)
        if recent and (remembered := recent_authentication(session, token)) is not None:
            return _settle(remembered)
    try:
        checked = authenticate(session, token, touch=own_transaction)
    except TokenRejected as exc:
        if own_transaction:
            session.rollback()
        raise Problem(401, _REJECTED[exc.reason]) from None
    if own_transaction and not (keep_reading and is_read_only(session)):
        session.commit()
    return _settle(checked)


def _settle(checked: Authenticated) -> Principal:
    g.principal = checked.principal
    # for the access log (service/logging_setup.py): who, never the token itself
    request.environ["seonbyeol.actor"] = {
        "institution": checked.principal.institution_code,
        "role": checked.principal.role,
        "token_prefix": checked.token_prefix,
    }
    return checked.principal


def _check_token_now() -> None:
    """Look the request's token up (for a principal from the recent authentications whose
    check the view did not settle): 401 if it is no longer valid. Ends the session's
    transaction first: nothing the view did is kept either way, the request is failing or done."""
    session = get_session()
    session.rollback()
    token = bearer_token() or ""
    read_only(session)
    try:
        authenticate(session, token, touch=False)
    except TokenRejected as exc:
        forget_authentication(session, token)
        raise Problem(401, _REJECTED[exc.reason]) from None
    finally:
        session.rollback()


def _run_checked(view: Callable[..., Any], principal: Principal, args: Any, kwargs: Any) -> Any:
    """Run a view for a principal from the recent authentications: its access record checks the
    token (:func:`service.audit.record`); an answer that records nothing, or an error, is
    preceded by a lookup, so a revoked or expired token gets its 401 whatever else is wrong."""
    check = principal.token_check
    assert check is not None
    try:
        result = view(*args, **kwargs)
    except TokenRejected:
        _check_token_now()  # says why (revoked, expired, unknown)
        raise Problem(401, _REJECTED["unknown"]) from None
    except BaseException:
        if not check.done:
            _check_token_now()
        raise
    if not check.done:
        _check_token_now()
    return result


def requires(
    action: str,
    manages_program: bool = False,
    reads_first: bool = False,
    per_statement: bool = False,
    recent_token: bool = False,
) -> Callable[[F], F]:
    """Allow the view only to callers whose role may attempt ``action`` in the one access
    policy (401 without a token, 403 otherwise); object scope is checked by the service.

    ``manages_program``: the path's program (``code``) must be one the caller manages, checked
    before the body is parsed, so that a caller who may not change it gets 403, not 422.
    ``reads_first``: the view begins with reads (evaluate): the token's read-only transaction
    stays open for them (see :func:`current_principal`); ``per_statement``: each of them is one
    statement, which may see its own snapshot (PostgreSQL: no transaction block around them).
    ``recent_token``: the view records one access entry (evaluate), which checks a token this
    process authenticated within the minute instead of a lookup of its own (:func:`current_principal`).
    """
    if action not in access.ACTIONS:
        raise KeyError(f"unknown action {action!r}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal(keep_reading=reads_first, per_statement=per_statement, recent=recent_token)

            def allowed(*args: Any, **kwargs: Any) -> Any:
                access.require(principal, action)
                if manages_program:
                    access.require_manager(principal, get_program(get_session(), kwargs["code"]))
                return view(*args, **kwargs)

            if principal.token_check is not None:  # a 403 too waits for the token's check (401 first)
                return _run_checked(allowed, principal, args, kwargs)
            return allowed(*args, **kwargs)

        return cast(F, wrapper)

    return decorate
