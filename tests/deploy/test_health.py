"""Version, health and readiness, and the server's settings from the environment.

``/healthz`` says the process and its database answer (and which release it is); ``/readyz``
says it may take traffic (the schema is at the newest migration). Both turn back to 200 by
themselves once the database returns: checked by cutting a real PostgreSQL connection with a
TCP relay that is stopped and started under a running app.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.engine import make_url

from service import create_app
from service.cli import main
from service.config import PROJECT_ROOT
from service.db import get_db
from service.probe import probe_url
from service.readiness import head_revision
from service.server import WORKER_TMP_DIR, ServerConfigError, gunicorn_options
from tests.api.live_server import free_port
from tests.conftest import TEST_DATA_KEY

PYPROJECT_VERSION = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_version_is_the_release_in_pyproject_and_the_changelog() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"seonbyeol {PYPROJECT_VERSION}"
    assert PYPROJECT_VERSION == "0.2.0"
    changelog = (PROJECT_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {PYPROJECT_VERSION} " in changelog and "## 0.1.0 " in changelog


def test_healthz_names_the_version_and_readyz_is_ready_at_the_head(client: FlaskClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json() == {"status": "ok", "version": PYPROJECT_VERSION}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json() == {"status": "ready"}


def test_readyz_is_503_until_init_db_then_ready_without_a_restart(empty_database_url: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": empty_database_url, "INSTANCE_PATH": str(tmp_path / "i"),
                      "SECRET_KEY": "test", "DATA_KEY": TEST_DATA_KEY})  # fmt: skip
    client = app.test_client()
    try:
        answer = client.get("/readyz")
        assert answer.status_code == 503 and answer.mimetype == "application/problem+json"
        problem = answer.get_json()
        assert (problem["status"], problem["revision"], problem["head"]) == (503, None, head_revision())
        assert "init-db" in problem["detail"] and problem["detail"].startswith("데이터베이스 스키마가 최신이 아닙니다")
        english = client.get("/readyz", headers={"Accept-Language": "en"}).get_json()
        assert english["detail"].startswith("database schema is not current")
        assert client.get("/healthz").status_code == 200  # alive, only not ready
        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert client.get("/readyz").get_json() == {"status": "ready"}
    finally:
        get_db(app).engine.dispose()


class Relay:
    """A TCP relay to PostgreSQL that can be cut (every connection dropped) and restored."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        listener.settimeout(0.1)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._open.clear()


@pytest.fixture
def relayed_app(postgresql_url: str, tmp_path: Path) -> Iterator[tuple[Any, Relay]]:
    url = make_url(postgresql_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    relay.start()
    app = create_app({"TESTING": True, "DATABASE_URL": url.set(host="127.0.0.1", port=relay.port)
                      .render_as_string(hide_password=False), "INSTANCE_PATH": str(tmp_path / "i"),
                      "SECRET_KEY": "test", "DATA_KEY": TEST_DATA_KEY})  # fmt: skip
    yield app, relay
    relay.cut()
    get_db(app).engine.dispose()


@pytest.mark.postgres
def test_health_and_readiness_follow_the_database_down_and_back_up(relayed_app: tuple[Any, Relay]) -> None:
    app, relay = relayed_app
    client = app.test_client()
    for _ in range(2):  # the pool holds live connections before the cut
        assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
    relay.cut()
    for path in ("/healthz", "/readyz"):
        down = client.get(path)
        assert down.status_code == 503 and down.mimetype == "application/problem+json", path
        assert down.get_json()["detail"] == "데이터베이스가 응답하지 않습니다"
    relay.start()  # the database is back: the same app answers again (pool_pre_ping replaces dead connections)
    assert client.get("/healthz").get_json()["status"] == "ok"
    assert client.get("/readyz").get_json() == {"status": "ready"}


def test_gunicorn_settings_come_from_the_environment() -> None:
    defaults = gunicorn_options("127.0.0.1:8000", 2, {})
    assert (defaults["bind"], defaults["workers"], defaults["timeout"], defaults["graceful_timeout"]) == (
        "127.0.0.1:8000", 2, 60, 30,
    )  # fmt: skip
    assert "worker_tmp_dir" not in defaults and "%(q)s" not in defaults["access_log_format"]  # no query strings
    assert defaults["control_socket_disable"] is True  # no shared ~/.gunicorn/gunicorn.ctl between servers
    environ = {"SEONBYEOL_TIMEOUT": "120", "SEONBYEOL_GRACEFUL_TIMEOUT": "20", "SEONBYEOL_KEEPALIVE": "2",
               "SEONBYEOL_WORKER_TMP_DIR": "/tmp"}  # fmt: skip
    tuned = gunicorn_options("0.0.0.0:8000", 4, environ)
    assert (tuned["timeout"], tuned["graceful_timeout"], tuned["keepalive"], tuned["worker_tmp_dir"]) == (
        120, 20, 2, "/tmp",
    )  # fmt: skip
    for bad in ({"SEONBYEOL_TIMEOUT": "soon"}, {"SEONBYEOL_GRACEFUL_TIMEOUT": "0"}, {WORKER_TMP_DIR: "/no"}):
        with pytest.raises(ServerConfigError, match=next(iter(bad))):
            gunicorn_options("127.0.0.1:8000", 2, bad)


def test_serve_takes_bind_and_workers_from_the_environment(
    runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[str, int]] = []
    monkeypatch.setattr("service.server.run", lambda bind, workers, config: started.append((bind, workers)))
    result = runner.invoke(args=["serve"], env={"SEONBYEOL_BIND": "0.0.0.0:9100", "SEONBYEOL_WORKERS": "3"})
    assert result.exit_code == 0, result.output
    assert started == [("0.0.0.0:9100", 3)]
    assert runner.invoke(args=["serve", "--workers", "5"], env={"SEONBYEOL_WORKERS": "3"}).exit_code == 0
    assert started[-1] == ("127.0.0.1:8000", 5)  # an option given on the command line wins
    refused = runner.invoke(args=["serve"], env={"SEONBYEOL_TIMEOUT": "soon"})
    assert refused.exit_code != 0 and "SEONBYEOL_TIMEOUT='soon'" in refused.output
    assert len(started) == 2  # nothing was started with a bad setting


def test_the_container_probe_asks_readyz_of_the_configured_port() -> None:
    assert probe_url({}) == "http://127.0.0.1:8000/readyz"
    assert probe_url({"SEONBYEOL_BIND": "0.0.0.0:8000"}) == "http://127.0.0.1:8000/readyz"
    assert probe_url({"SEONBYEOL_BIND": "10.0.0.5:9000"}) == "http://10.0.0.5:9000/readyz"
