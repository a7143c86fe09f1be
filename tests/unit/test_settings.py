import hashlib
import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from camera_ops.settings import PLACEHOLDER_SECRET, Settings, announce_mode


def _settings(**kw):
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


GOOD = {"secret_key": "Vq3-mT9zR1kLw8Yp2Nc5Hd7Jf4Gs6Bx0Qa", "credentials_key": Fernet.generate_key().decode()}
MINIO = {"clip_store": "minio", "minio_access_key": "camops-svc", "minio_secret_key": "t7Hq2Lm9Xw4Rb8Kz5Pv1"}
EXAMPLE_ENV = Path(__file__).resolve().parents[2] / "deploy" / "camera-ops.env.example"


def test_development_generates_random_secrets_in_the_data_dir(tmp_path):
    first = _settings(data_dir=tmp_path / "a")
    assert first.secret_key is None and len(first.jwt_key) >= 32 and first.fernet_key
    assert first.dev_secrets_generated
    kept = tmp_path / "a" / "secrets"
    assert {p.name for p in kept.iterdir()} == {"secret_key", "credentials_key"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in kept.iterdir())
    again = _settings(data_dir=tmp_path / "a")  # a restart (or the monitor process) reads the same
    assert (again.jwt_key, again.fernet_keys) == (first.jwt_key, first.fernet_keys)
    other = _settings(data_dir=tmp_path / "b")  # another installation: other secrets
    assert other.jwt_key != first.jwt_key and other.fernet_key != first.fernet_key
    old_constant = hashlib.sha256(b"camera-ops-development-jwt").hexdigest()  # what the source used to hold
    assert old_constant not in (first.jwt_key, other.jwt_key)


def test_development_start_up_says_so_loudly(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="camera_ops.startup"):
        announce_mode(_settings(data_dir=tmp_path), "api")
    assert "DEVELOPMENT MODE" in caplog.text and str(tmp_path) in caplog.text


@pytest.mark.parametrize("name", ["secret_key", "credentials_key"])
@pytest.mark.parametrize("bad", [None, PLACEHOLDER_SECRET, "CHANGE", "change-me-please-change-me-please-00", "x" * 40])
def test_production_refuses_missing_or_placeholder_secrets_naming_the_variable(name, bad):
    with pytest.raises(ValidationError, match=f"CAMERA_OPS_{name.upper()}"):
        _settings(environment="production", **{**GOOD, name: bad})


@pytest.mark.parametrize("name", ["minio_access_key", "minio_secret_key"])
@pytest.mark.parametrize("bad", ["CHANGE", "minioadmin", PLACEHOLDER_SECRET])
def test_production_with_minio_refuses_placeholder_minio_keys(name, bad):
    with pytest.raises(ValidationError, match=f"CAMERA_OPS_{name.upper()}"):
        _settings(environment="production", **{**GOOD, **MINIO, name: bad})


def test_production_refuses_every_secret_of_the_example_env_file():
    values = dict(line.split("=", 1) for line in EXAMPLE_ENV.read_text().splitlines()
                  if line.startswith("CAMERA_OPS_") and "=" in line)
    for variable in ("CAMERA_OPS_SECRET_KEY", "CAMERA_OPS_CREDENTIALS_KEY", "CAMERA_OPS_MINIO_ACCESS_KEY",
                     "CAMERA_OPS_MINIO_SECRET_KEY"):
        name = variable.removeprefix("CAMERA_OPS_").lower()
        with pytest.raises(ValidationError, match=variable):
            _settings(environment="production", **{**GOOD, **MINIO, name: values[variable]})


def test_production_refuses_short_secrets_naming_the_variable():
    with pytest.raises(ValidationError, match="CAMERA_OPS_SECRET_KEY must be at least 32"):
        _settings(environment="production", **{**GOOD, "secret_key": "Vq3-mT9zR1kLw8"})
    with pytest.raises(ValidationError, match="CAMERA_OPS_MINIO_SECRET_KEY must be at least 16"):
        _settings(environment="production", **GOOD, **{**MINIO, "minio_secret_key": "t7Hq2Lm9"})
    with pytest.raises(ValidationError, match="CAMERA_OPS_CREDENTIALS_KEY is not a Fernet key"):
        _settings(environment="production", **{**GOOD, "credentials_key": "Vq3-mT9zR1kLw8Yp2Nc5Hd7Jf4Gs6Bx0Qa"})


def test_production_accepts_real_secrets_and_a_rotation_pair():
    s = _settings(environment="production", **GOOD, **MINIO)
    assert s.jwt_key == GOOD["secret_key"]
    pair = _settings(environment="production", **{**GOOD, "credentials_key": f"{Fernet.generate_key().decode()},{GOOD['credentials_key']}"})
    assert len(pair.fernet_keys) == 2 and pair.fernet_keys[1] == GOOD["credentials_key"].encode()


def test_environment_variables_use_the_prefix(monkeypatch):
    monkeypatch.setenv("CAMERA_OPS_MAX_CLIP_MINUTES", "30")
    assert _settings().max_clip_minutes == 30


def test_default_database_is_sqlite_in_the_data_dir(tmp_path):
    assert _settings(data_dir=tmp_path).resolved_database_url == f"sqlite:///{tmp_path.resolve()}/camera_ops.sqlite3"
