"""The image's build steps, repeated in a venv (no Docker engine here): wheel → non-editable install.

As the Dockerfile does: build a wheel from the files the image copies, install it (not editable)
into a fresh virtual environment, and run it from outside the source tree in production mode:
``--version``, ``rules test`` with no path (the policies must come from the installed package),
``init-db`` on a temporary SQLite file, a real server answering ``/readyz``, the container's
HEALTHCHECK probe, a shipped district file and the smoke test, then SIGTERM.

The dependencies are not downloaded again: the fresh venv sees this venv's site-packages through
a ``.pth`` line (after its own, so the installed wheel wins), and pip installs the one wheel with
``--no-deps --no-index``. Marked slow; it runs in ``make test`` (about 15 s).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from service.config import PROJECT_ROOT
from tests.api.live_server import free_port
from tests.conftest import TEST_DATA_KEY

from .test_health import PYPROJECT_VERSION

pytestmark = pytest.mark.slow
IMAGE_SOURCES = ("pyproject.toml", "README.md", "service", "rules", "admin_ui", "policies")  # the Dockerfile's COPY


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_the_wheel_installs_and_runs_outside_the_source_tree(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in IMAGE_SOURCES:
        origin = PROJECT_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]", "*.db"))
        else:
            shutil.copy2(origin, source / name)
    build_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    wheels = tmp_path / "wheels"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                  "--quiet", "--wheel-dir", str(wheels), str(source)], tmp_path, build_env)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = wheels / f"seonbyeol-{PYPROJECT_VERSION}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"policies/{p.name}" for p in (PROJECT_ROOT / "policies").glob("*.yaml")}
    assert shipped <= names and "policies/gwangjin-winter-support.yaml" in names
    assert {"service/migrations/env.py", "service/districts/gwangjin.yaml", "service/demo/seongdong.yaml",
            "admin_ui/templates/layout.html"} <= names  # fmt: skip
    assert {f"service/migrations/versions/{p.name}" for p in (PROJECT_ROOT / "service/migrations/versions")
            .glob("*.py")} <= names  # fmt: skip
    assert not any(n.startswith("tests/") for n in names)
    left_out = [  # every file the image copies must be in the package: templates, translations, YAML, ...
        path.relative_to(source).as_posix()
        for top in ("service", "rules", "admin_ui", "policies")
        for path in (source / top).rglob("*")
        if path.is_file() and path.relative_to(source).as_posix() not in names
    ]
    assert left_out == [], f"not in the wheel (add them to pyproject's package-data): {left_out}"

    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, build_env)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        tmp_path, build_env).stdout.strip())  # fmt: skip
    (purelib / "zz_seonbyeol_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                      "--quiet", str(wheel)], tmp_path, build_env)  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr

    work = tmp_path / "elsewhere"  # not the source tree, not its copy
    work.mkdir()
    env = {**build_env, "SEONBYEOL_ENV": "production", "SEONBYEOL_SECRET_KEY": "wheel-test-secret",
           "SEONBYEOL_DATA_KEY": TEST_DATA_KEY, "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}",
           "SEONBYEOL_INSTANCE_PATH": str(tmp_path / "instance")}  # fmt: skip
    env.pop("SEONBYEOL_POLICIES_DIR", None)
    seonbyeol = str(venv / "bin" / "seonbyeol")

    where = _run([str(python), "-c", "import service, rules, policies; print(service.__file__, rules.__file__, "
                  "list(policies.__path__)[0])"], work, env)  # fmt: skip
    assert where.returncode == 0, where.stderr
    assert all(Path(p).is_relative_to(purelib) for p in where.stdout.split()), where.stdout

    version = _run([seonbyeol, "--version"], work, env)
    assert version.returncode == 0 and version.stdout.strip() == f"seonbyeol {PYPROJECT_VERSION}", version

    rules = _run([seonbyeol, "rules", "test"], work, env)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"{purelib / 'policies'}/base-screening.yaml" in rules.stdout  # the installed package's policies
    assert rules.stdout.splitlines()[-1].startswith(f"OK: {len(shipped)} rule sets")

    for _ in range(2):  # safe to run twice
        migrated = _run([seonbyeol, "init-db"], work, env)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr

    district = purelib / "service" / "districts" / "gwangjin.yaml"
    loaded = _run([seonbyeol, "load-district", str(district)], work, env)
    assert loaded.returncode == 0 and loaded.stdout.startswith("광진구 (11215)"), loaded.stdout + loaded.stderr

    port = free_port()
    serve_env = {**env, "SEONBYEOL_BIND": f"127.0.0.1:{port}", "SEONBYEOL_WORKERS": "1"}
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([seonbyeol, "serve"], cwd=work, env=serve_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                status, ready = _get(f"{base}/readyz")
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError((tmp_path / "serve.log").read_text())
        assert (status, ready) == (200, {"status": "ready"})
        assert _get(f"{base}/healthz") == (200, {"status": "ok", "version": PYPROJECT_VERSION})
        probe = _run([str(python), "-m", "service.probe"], work, serve_env)  # the image's HEALTHCHECK
        assert probe.returncode == 0, probe.stderr
        smoke = _run([seonbyeol, "smoke", "--url", base], work, env)
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        assert "스모크 시험 통과: 5/6, 건너뜀 1" in smoke.stdout  # no program yet: the evaluation is skipped
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()
    assert "Handling signal: term" in (tmp_path / "serve.log").read_text()
