"""The shared health/metrics server (camera_ops.health_endpoints) over a real socket."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from camera_ops.errors import ConfigurationError
from camera_ops.health_endpoints import OK, CheckResult, OpsServer, database_check, schema_check


@pytest.fixture
def ops_server():
    servers: list[OpsServer] = []

    def start(**kwargs) -> OpsServer:
        server = OpsServer(bind="127.0.0.1", port=0, **kwargs)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_health_and_ready_in_one_json_shape(ops_server):
    server = ops_server(live={"loop": lambda: OK},
                        ready={"database": lambda: OK, "schema": lambda: CheckResult(False, "schema_behind",
                                                                                      {"current": "0005", "head": "0006"})})
    live = httpx.get(server.url + "/healthz")
    assert live.status_code == 200 and live.json() == {"status": "ok", "checks": {"loop": {"status": "ok"}}}
    ready = httpx.get(server.url + "/readyz")
    body = ready.json()
    assert ready.status_code == 503 and body["status"] == "fail"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["schema"]["reason"] == "schema_behind"
    assert "camera-ops db upgrade" in body["checks"]["schema"]["message"] and "Lược đồ" in body["checks"]["schema"]["message"]
    english = httpx.get(server.url + "/readyz", headers={"Accept-Language": "en-US,en;q=0.8"}).json()
    assert english["checks"]["schema"]["message"].startswith("The database schema")


def test_a_check_that_raises_fails_instead_of_crashing(ops_server):
    def broken() -> CheckResult:
        raise RuntimeError("boom")

    server = ops_server(live={}, ready={"broken": broken})
    answer = httpx.get(server.url + "/readyz")
    assert answer.status_code == 503 and answer.json()["checks"]["broken"]["reason"] == "check_error"


def test_metrics_need_the_token_when_one_is_set(ops_server):
    registry = CollectorRegistry()
    Counter("camera_ops_test_things", "things", registry=registry).inc(3)
    server = ops_server(live={}, ready={}, metrics=lambda: generate_latest(registry), token="s3cret-token")
    assert httpx.get(server.url + "/metrics").status_code == 401
    assert httpx.get(server.url + "/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    answer = httpx.get(server.url + "/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert answer.status_code == 200 and "camera_ops_test_things_total 3.0" in answer.text


def test_binding_off_loopback_without_a_token_is_refused():
    with pytest.raises(ConfigurationError) as caught:
        OpsServer(bind="0.0.0.0", port=0, live={}, ready={})
    assert caught.value.field == "ops_token" and "CAMERA_OPS_OPS_TOKEN" in caught.value.message


@pytest.mark.db
def test_database_and_schema_checks_on_a_migrated_database(engine):
    assert database_check(engine)() == OK
    assert schema_check(engine)() == OK


def test_database_check_fails_when_nothing_answers(tmp_path):
    from storage.db import make_engine

    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    result = database_check(engine)()
    assert not result.ok and result.reason == "database_unreachable"
