"""A failed custody checkpoint is an error everywhere (issue 11): the CLI exits non-zero (see
test_custody_anchoring), and here — an alert through the alert channels, once per failure episode
and a recovery when checkpoints are written again; a "degraded" custody check on every process's
/readyz; the failures counter on /metrics. Tried against the real S3 protocol (moto) going away."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from api.app import create_app
from camera_ops.alerts.outbox import DeliveryJob
from camera_ops.custody.anchor import CheckpointFailed, CheckpointKeeper, anchor_health, stale_after_s
from camera_ops.custody.ledger import SYSTEM, EventType, append_now
from camera_ops.footage.worker import Worker, ops_server
from storage.db import session_factory
from storage.models import Role
from storage.models_monitoring import Alert, AlertKind
from storage.types import utcnow
from tests.factories import api_login, make_commune, make_user
from tests.integration.test_alerts_detector import Receiver, free_port
from tests.s3server import own_s3_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.db


def fill(engine, count: int) -> None:
    for i in range(count):
        append_now(engine, EventType.requested, SYSTEM, case_id=1, clip_id=i + 1, details={"i": i})


def custody_alerts(session) -> list[Alert]:
    found = list(session.scalars(select(Alert).where(Alert.kind.in_(
        [AlertKind.custody_anchor_failed, AlertKind.custody_anchor_recovered])).order_by(Alert.id)))
    session.commit()  # SQLite: the test's session must not keep the write lock the writers need
    return found


def ready(client: TestClient) -> tuple[int, dict]:
    answer = client.get("/readyz", params={"lang": "en"})
    return answer.status_code, answer.json()


def test_s3_down_alerts_once_per_episode_degrades_readyz_and_recovery_is_announced(
        engine, session, settings, own_s3_server):
    port = free_port()
    receiver = Receiver(port)
    receiver.start()
    settings = settings.model_copy(update={**own_s3_server.settings_overrides("evidence-anchor-alerts"),
                                           "alert_webhook_urls": [f"http://127.0.0.1:{port}/hook"],
                                           "worker_ops_port": 0, "delivery_timeout_s": 5.0})
    keeper = CheckpointKeeper(engine, settings, owner="api:test")
    delivery = DeliveryJob(session_factory(engine), settings)
    client = TestClient(create_app(settings, engine=engine))
    worker_ops = ops_server(Worker(engine, settings, store=keeper.store))
    worker_ops.start()
    try:
        fill(engine, 3)
        assert ready(client)[1]["checks"]["custody_anchor"] == {"status": "ok"}

        own_s3_server.stop()
        failures = []
        for _ in range(3):  # the writer retries every interval: one episode, one alert
            with pytest.raises(CheckpointFailed) as failed:
                keeper.write_now()
            failures.append(failed.value)

        alerts = custody_alerts(session)
        assert [a.kind for a in alerts] == [AlertKind.custody_anchor_failed]
        assert alerts[0].area_id is None and alerts[0].title_vi.startswith("Không ghi được điểm kiểm tra")
        assert alerts[0].title_en.startswith("Custody checkpoint could not be written")
        status, body = ready(client)
        check = body["checks"]["custody_anchor"]
        assert check["status"] == "degraded" and check["reason"] == "custody_checkpoint_failed", body
        assert "The last custody checkpoint failed" in check["message"]
        assert body["checks"]["clip_store"]["status"] == "fail"  # S3 itself is away: that check says so
        worker_ready = httpx.get(worker_ops.url + "/readyz").json()
        assert worker_ready["checks"]["custody_anchor"]["status"] == "degraded"
        assert "Lần ghi điểm kiểm tra" in worker_ready["checks"]["custody_anchor"]["message"]  # Vietnamese first
        metrics = httpx.get(worker_ops.url + "/metrics").text
        assert "camera_ops_custody_checkpoint_failures_total 3.0" in metrics
        assert "camera_ops_custody_checkpoint_failing 1.0" in metrics
        assert delivery.run_once() == (1, 0)
        assert [p["kind"] for p in receiver.received] == ["custody_anchor_failed"]
        assert receiver.received[0]["title"]["vi"] == alerts[0].title_vi and receiver.received[0]["error"]

        own_s3_server.start()
        written = keeper.write_now()
        keeper.write_now()  # nothing new: still no second recovery

        assert written is not None and written.seq == 3
        alerts = custody_alerts(session)
        assert [a.kind for a in alerts] == [AlertKind.custody_anchor_failed, AlertKind.custody_anchor_recovered]
        assert alerts[1].area_id is None and "#3" in alerts[1].title_vi and alerts[1].payload["checkpoint_seq"] == 3
        status, body = ready(client)
        assert status == 200 and body["status"] == "ok" and body["checks"]["custody_anchor"] == {"status": "ok"}
        assert "camera_ops_custody_checkpoint_failing 0.0" in httpx.get(worker_ops.url + "/metrics").text
        assert delivery.run_once() == (1, 0)
        assert [p["kind"] for p in receiver.received] == ["custody_anchor_failed", "custody_anchor_recovered"]

        own_s3_server.stop()  # a second outage is a second episode: announced again
        with pytest.raises(CheckpointFailed):
            fill(engine, 1)
            keeper.write_now()
        assert [a.kind for a in custody_alerts(session)][-1] == AlertKind.custody_anchor_failed
        assert len(custody_alerts(session)) == 3
    finally:
        worker_ops.stop()
        delivery.close()
        receiver.stop()


def test_a_degraded_custody_anchor_keeps_readyz_200_and_only_admins_see_the_alert(engine, session, settings):
    fill(engine, 2)
    key_dir = settings.data_dir / "keys"
    keeper = CheckpointKeeper(engine, settings, owner="api:test")
    keeper.write_now()  # the key is made, a checkpoint written
    fill(engine, 1)
    key = key_dir / "custody-signing.pem"
    key.rename(key_dir / "away.pem")
    key.mkdir()  # the signing key can no longer be read (a mode would not stop root)
    try:
        assert keeper.tick(now=0.0) is None  # the background writer: logs, records, alerts, never raises
        assert keeper.tick(now=settings.custody_checkpoint_interval_s) is None
    finally:
        key.rmdir()
        (key_dir / "away.pem").rename(key)
    commune = make_commune(session)
    admin = make_user(session, Role.admin)
    police = make_user(session, Role.commune_police, [commune.commune])
    session.commit()
    client = TestClient(create_app(settings, engine=engine))

    status, body = ready(client)

    assert status == 200 and body["status"] == "degraded", body  # every replica stays in service
    assert body["checks"]["custody_anchor"]["status"] == "degraded"
    assert body["checks"]["database"] == {"status": "ok"}
    anchor = client.get("/api/v1/custody/anchor", headers=api_login(client, admin.username)).json()
    assert anchor["ok"] is False and anchor["failures"] == 2 and anchor["failing_since"]
    seen_by_admin = client.get("/api/v1/health/alerts", headers=api_login(client, admin.username)).json()
    assert isinstance(seen_by_admin, list), seen_by_admin
    seen_by_police = client.get("/api/v1/health/alerts", headers=api_login(client, police.username)).json()
    assert [a["kind"] for a in seen_by_admin] == ["custody_anchor_failed"] and seen_by_admin[0]["area_id"] is None
    assert seen_by_police == []

    keeper.write_now()
    assert [a["kind"] for a in client.get("/api/v1/health/alerts", headers=api_login(client, admin.username)).json()] == [
        "custody_anchor_recovered", "custody_anchor_failed"]
    assert ready(client) == (200, {"status": "ok", "checks": {k: {"status": "ok"} for k in body["checks"]}})


def test_events_left_unanchored_for_two_intervals_degrade_health(engine, session, settings):
    fill(engine, 2)
    client = TestClient(create_app(settings, engine=engine))
    assert ready(client)[1]["checks"]["custody_anchor"] == {"status": "ok"}
    waited = stale_after_s(settings) + 5
    with engine.begin() as conn:  # as if no process had written a checkpoint for that long
        conn.execute(text("UPDATE custody_event SET at = :at"), {"at": utcnow() - timedelta(seconds=waited)})

    check = ready(client)[1]["checks"]["custody_anchor"]
    health = anchor_health(session, settings)
    session.commit()

    assert check["status"] == "degraded" and check["reason"] == "custody_unanchored", check
    assert not health.ok and "not anchored" in health.problem
    assert anchor_health(session, settings, now=utcnow() - timedelta(seconds=waited)).ok  # not yet at that time
