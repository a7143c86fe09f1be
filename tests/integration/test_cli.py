"""The camera-ops command line against a real SQLite file (fresh data dir per test)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from camera_ops.cli import app
from camera_ops.settings import reset_settings_cache
from storage.db import engine_for


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMERA_OPS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CAMERA_OPS_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    reset_settings_cache()
    engine_for.cache_clear()
    yield tmp_path
    reset_settings_cache()
    engine_for.cache_clear()


def run(*args: str, input: str | None = None):
    result = CliRunner().invoke(app, list(args), input=input)
    return result


def test_db_upgrade_users_areas_and_cameras_import(cli_env):
    assert run("db", "upgrade").exit_code == 0
    areas = cli_env / "areas.csv"
    areas.write_text("code,name,kind,parent_code\nHN,Hà Nội,province,\nX1,Xã Một,commune,HN\nT1,Thôn 1,hamlet,X1\n",
                     encoding="utf-8")
    r = run("areas", "import", str(areas))
    assert r.exit_code == 0 and "created: 3" in r.output
    r = run("users", "create", "chief", "--role", "commune_police", "--area", "X1", "--full-name", "Trưởng CA",
            input="long-password-1\nlong-password-1\n")
    assert r.exit_code == 0, r.output
    r = run("users", "create", "ghost", "--role", "officer", "--area", "NOPE", input="long-password-1\nlong-password-1\n")
    assert r.exit_code == 1 and "unknown area code 'NOPE'" in r.output
    cams = cli_env / "cams.csv"
    cams.write_text("code,name,hamlet_code,host,username,password\nK1,Cổng,T1,10.0.0.1,admin,pw\nK2,Chợ,T9,10.0.0.2,admin,pw\n",
                    encoding="utf-8")
    r = run("cameras", "import", str(cams))
    assert r.exit_code == 0 and "created: 1" in r.output and "error: 1" in r.output and "unknown hamlet code" in r.output
    r = run("cameras", "import", str(cams))
    assert "duplicate: 1" in r.output
    engine = create_engine(f"sqlite:///{cli_env / 'camera_ops.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from camera")).scalar() == 1
        assert conn.execute(text("select role from app_user where username='chief'")).scalar() == "commune_police"
    engine.dispose()
