"""A real ``seonbyeol serve`` (gunicorn, several worker processes) for race tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service import clock
from tests.conftest import FROZEN_NOW, TEST_DATA_KEY


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(
    url: str, token: str, body: dict[str, Any] | None = None, method: str | None = None
) -> tuple[int, dict[str, Any]]:
    """One JSON call; the status and the decoded answer (also for error statuses)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"))
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@contextmanager
def serve(
    database_url: str, workdir: Path, workers: int = 4, env_extra: dict[str, str] | None = None
) -> Iterator[tuple[str, Path]]:
    """Start the production server on a free port against ``database_url``; yield its base URL
    and its log file, and stop it afterwards. The server's clock is the tests' frozen clock."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SEONBYEOL_DATA_KEY": TEST_DATA_KEY,
           "SEONBYEOL_SECRET_KEY": "test", "SEONBYEOL_ENV": "development",
           clock.FROZEN_NOW_VAR: FROZEN_NOW, **(env_extra or {})}  # fmt: skip
    log_path = workdir / f"server-{port}.log"
    log = log_path.open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("server did not start: " + log_path.read_text()[-2000:])
        yield base, log_path
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
