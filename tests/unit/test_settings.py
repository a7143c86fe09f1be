import pytest
from pydantic import ValidationError

from camera_ops.settings import PLACEHOLDER_SECRET, Settings


def _settings(**kw):
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def test_development_runs_with_placeholders():
    s = _settings()
    assert s.secret_key == PLACEHOLDER_SECRET and len(s.jwt_key) >= 32 and s.fernet_key


@pytest.mark.parametrize("missing", ["secret_key", "credentials_key"])
def test_production_refuses_placeholder_secrets(missing):
    good = {"secret_key": "x" * 40, "credentials_key": "k" * 44}
    good[missing] = PLACEHOLDER_SECRET
    with pytest.raises(ValidationError, match=missing.upper()):
        _settings(environment="production", **good)


def test_production_refuses_a_short_signing_key():
    with pytest.raises(ValidationError, match="at least 32"):
        _settings(environment="production", secret_key="short", credentials_key="k" * 44)


def test_environment_variables_use_the_prefix(monkeypatch):
    monkeypatch.setenv("CAMERA_OPS_MAX_CLIP_MINUTES", "30")
    assert _settings().max_clip_minutes == 30


def test_default_database_is_sqlite_in_the_data_dir(tmp_path):
    assert _settings(data_dir=tmp_path).resolved_database_url == f"sqlite:///{tmp_path.resolve()}/camera_ops.sqlite3"
