import stat
from pathlib import Path

import pytest

from service import create_app
from service.config import ConfigError, database_url, from_environment, resolve_secrets


def test_development_secrets_are_generated_once_with_mode_0600(tmp_path: Path) -> None:
    first: dict[str, object] = {"ENV": "development"}
    resolve_secrets(first, tmp_path)
    for name in ("secret_key", "data_key"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600
    second: dict[str, object] = {"ENV": "development"}
    resolve_secrets(second, tmp_path)
    assert first["DATA_KEY_BYTES"] == second["DATA_KEY_BYTES"]
    assert first["SECRET_KEY"] == second["SECRET_KEY"]


def test_production_without_secrets_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SEONBYEOL_SECRET_KEY"):
        resolve_secrets({"ENV": "production"}, tmp_path)
    assert not (tmp_path / "secret_key").exists()


def test_production_app_refuses_to_start_without_data_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SEONBYEOL_DATA_KEY"):
        create_app({"ENV": "production", "SECRET_KEY": "s", "INSTANCE_PATH": str(tmp_path)})


def test_bad_data_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        resolve_secrets({"ENV": "production", "SECRET_KEY": "s", "DATA_KEY": "c2hvcnQ="}, tmp_path)


def test_default_database_is_sqlite_under_instance(tmp_path: Path) -> None:
    assert database_url({}, tmp_path) == f"sqlite:///{tmp_path / 'seonbyeol.db'}"
    assert database_url({"DATABASE_URL": "postgresql://u@h/d"}, tmp_path).startswith("postgresql+psycopg://")


def test_environment_variables_are_read() -> None:
    env = {"DATABASE_URL": "sqlite:///x.db", "SEONBYEOL_ENV": "production", "UNRELATED": "1"}
    assert from_environment(env) == {"DATABASE_URL": "sqlite:///x.db", "ENV": "production"}
