"""The Flask application class: Flask itself, less two costs every request paid for nothing.

Measured on ``POST /api/v1/evaluate`` (issue 11, BENCHMARKS.md): before these, Flask asked
:func:`inspect.iscoroutinefunction` about each of a request's 13 hooks and views again on every
request, and opened the cookie session by building its signing serializer (a key derivation)
before looking whether the request carried a session cookie at all, which API calls never do.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import suppress
from typing import Any
from weakref import WeakKeyDictionary

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions; a request without the cookie gets its new empty session
    without the serializer being built (Flask builds it first, then finds no cookie)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and (
            "HTTP_COOKIE" not in request.environ or not request.cookies.get(self.get_cookie_name(app))
        ):
            return self.session_class()
        return super().open_session(app, request)


class SeonbyeolFlask(Flask):
    """Flask with :meth:`ensure_sync` remembering which functions are plain ``def`` ones.

    The answer is kept per underlying function (a bound method's ``__func__``: a method view
    is a new instance, so a new bound method, on every request), weakly, so a function that
    goes away takes its entry with it. An ``async def`` function is not remembered: Flask
    wraps it every time, as before."""

    session_interface = CookieSessions()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_functions: WeakKeyDictionary[Any, bool] = WeakKeyDictionary()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        key = getattr(func, "__func__", func)
        if key in self._plain_functions:  # False for what cannot be weakly referred to
            return func
        if inspect.iscoroutinefunction(func):
            return super().ensure_sync(func)
        with suppress(TypeError):  # not weakly referable: asked every time, as Flask does
            self._plain_functions[key] = True
        return func
