"""The application class: Flask's behaviour kept where it saves a request's work."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from flask import session

from service.application import CookieSessions, SeonbyeolFlask


def _app() -> SeonbyeolFlask:
    app = SeonbyeolFlask("application_test")
    app.secret_key = "test-secret"
    return app


def test_plain_functions_are_remembered_and_async_ones_still_wrapped() -> None:
    app = _app()

    def plain() -> str:
        return "plain"

    async def later() -> str:
        await asyncio.sleep(0)
        return "later"

    # Flask wraps with asgiref (its "async" extra, not installed here); the wrapper is Flask's business
    app.async_to_sync = lambda func: lambda *a, **k: asyncio.run(func(*a, **k))  # type: ignore[method-assign]

    assert app.ensure_sync(plain) is plain and app.ensure_sync(plain) is plain
    assert plain in app._plain_functions
    for _ in range(2):  # asked again, still wrapped: an async function is never remembered as plain
        wrapped = app.ensure_sync(later)
        assert wrapped is not later and wrapped() == "later"
    assert later not in app._plain_functions


def test_a_method_is_remembered_by_its_function_and_forgotten_with_it() -> None:
    app = _app()

    class View:
        def get(self) -> str:
            return "got"

    first, second = View().get, View().get  # two bound methods of one function
    assert app.ensure_sync(first) is first and app.ensure_sync(second) is second
    assert list(app._plain_functions.keys()) == [View.get]
    del View, first, second
    gc.collect()
    assert len(app._plain_functions) == 0  # weakly held: nothing kept alive for the cache


class _Slotted:
    __slots__ = ()  # no __weakref__: cannot be a weak key

    def __call__(self) -> str:
        return "called"


def test_an_unreferable_callable_is_asked_every_time() -> None:
    app = _app()
    call = _Slotted()
    assert app.ensure_sync(call) is call and app.ensure_sync(call)() == "called"  # Flask's own answer
    assert len(app._plain_functions) == 0


def test_cookie_sessions_open_empty_without_a_cookie_and_read_a_signed_one() -> None:
    app = _app()
    assert isinstance(app.session_interface, CookieSessions)

    @app.post("/remember")
    def remember() -> str:
        session["who"] = "나"
        return "ok"

    @app.get("/who")
    def who() -> Any:
        return {"who": session.get("who"), "empty": not session}

    client = app.test_client()
    assert client.get("/who").get_json() == {"who": None, "empty": True}  # no cookie: an empty session
    assert client.post("/remember").status_code == 200
    assert client.get("/who").get_json() == {"who": "나", "empty": False}  # the signed cookie is read
    client.set_cookie("session", "forged.value")
    assert client.get("/who").get_json() == {"who": None, "empty": True}  # a bad signature: empty, as Flask does


def test_without_a_secret_key_the_session_is_flasks_null_session() -> None:
    app = SeonbyeolFlask("application_test_nokey")

    @app.get("/kind")
    def kind() -> str:
        return type(session._get_current_object()).__name__  # type: ignore[attr-defined]

    assert app.test_client().get("/kind").get_data(as_text=True) == "NullSession"
