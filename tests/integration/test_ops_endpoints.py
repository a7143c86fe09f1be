"""/healthz, /readyz and /metrics of the monitor and the worker, scraped over real sockets."""

from __future__ import annotations

import re

import httpx
import pytest

from camera_ops.footage.worker import Worker
from camera_ops.footage.worker import ops_server as worker_ops_server
from camera_ops.monitor.main import ops_server as monitor_ops_server
from camera_ops.monitor.testing import register_sim_cameras, running_monitor
from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.testing import running_fleet
from storage.clipstore.local import LocalClipStore
from storage.db import make_engine
from tests.factories import make_commune

pytestmark = [pytest.mark.db, pytest.mark.timeout(180)]
WAIT_S = 60.0


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" ([0-9.eE+-]+|NaN)"
    found = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_a_monitor_serves_health_readiness_and_metrics(session, settings, engine):
    settings = settings.model_copy(update={
        "monitor_cycle_s": 1.0, "monitor_call_timeout_s": 0.8, "monitor_flush_s": 0.1, "monitor_reload_s": 0.5,
        "monitor_full_check_s": 3.0, "snapshot_interval_s": 2.5, "snapshot_after_recovery_s": 0.5,
        "monitor_ops_port": 0, "ops_token": "metrics-token-123",
    })
    with running_fleet([CameraSpec(name=f"o{i}") for i in range(4)]) as fleet:
        commune = make_commune(session, hamlets=1)
        register_sim_cameras(session, settings, fleet.cameras, commune.hamlets)
        session.commit()
        async with running_monitor(settings, engine=engine) as monitor:
            ops = monitor_ops_server(monitor, settings)
            assert ops is not None
            ops.start()
            try:
                await monitor.wait_for(lambda: monitor.stats.liveness_checks >= 8 and monitor.stats.snapshots >= 4,
                                       timeout_s=WAIT_S)
                async with httpx.AsyncClient(base_url=ops.url) as http:
                    live = await http.get("/healthz")
                    ready = await http.get("/readyz")
                    refused = await http.get("/metrics")
                    metrics = await http.get("/metrics", headers={"Authorization": "Bearer metrics-token-123"})
            finally:
                ops.stop()
    assert live.status_code == 200 and live.json() == {"status": "ok", "checks": {"loop": {"status": "ok"}}}
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"database", "schema", "membership", "custody_anchor"}
    assert refused.status_code == 401
    text = metrics.text
    assert sample(text, "camera_ops_monitor_probes_total", kind="full", result="ok") >= 4
    assert sample(text, "camera_ops_monitor_probes_total", kind="liveness", result="ok") >= 8
    assert sample(text, "camera_ops_monitor_probe_seconds_count", kind="liveness") >= 8
    assert sample(text, "camera_ops_monitor_schedule_lateness_seconds_count") >= 12
    assert sample(text, "camera_ops_monitor_cameras_owned") == 4
    assert sample(text, "camera_ops_monitor_camera_status", status="online") + \
        sample(text, "camera_ops_monitor_camera_status", status="degraded") == 4
    assert sample(text, "camera_ops_monitor_snapshot_seconds_count") >= 4
    assert sample(text, "camera_ops_monitor_picture_check_seconds_count") >= 4
    assert sample(text, "camera_ops_monitor_member_fresh") == 1


def test_a_worker_serves_metrics_and_is_ready(settings, engine, tmp_path):
    settings = settings.model_copy(update={"worker_ops_port": 0})
    worker = Worker(engine, settings, store=LocalClipStore(tmp_path / "clips"))
    ops = worker_ops_server(worker)
    assert ops is not None
    ops.start()
    try:
        ready = httpx.get(ops.url + "/readyz")
        live = httpx.get(ops.url + "/healthz")
        metrics = httpx.get(ops.url + "/metrics").text
    finally:
        ops.stop()
    assert live.status_code == 200
    assert ready.status_code == 200 and set(ready.json()["checks"]) == {"database", "schema", "clip_store", "custody_anchor"}
    assert sample(metrics, "camera_ops_worker_database_up") == 1
    assert "camera_ops_custody_ledger_appends_total" in metrics
    assert "camera_ops_custody_checkpoint_age_seconds" in metrics


def test_readyz_fails_when_the_database_is_down(settings, tmp_path):
    settings = settings.model_copy(update={"worker_ops_port": 0})
    down = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")  # nothing listens there
    worker = Worker(down, settings, store=LocalClipStore(tmp_path / "clips"))
    ops = worker_ops_server(worker)
    assert ops is not None
    ops.start()
    try:
        ready = httpx.get(ops.url + "/readyz", timeout=30)
        live = httpx.get(ops.url + "/healthz", timeout=30)
        metrics = httpx.get(ops.url + "/metrics", timeout=30).text
    finally:
        ops.stop()
        down.dispose()
    body = ready.json()
    assert ready.status_code == 503 and body["status"] == "fail"
    assert body["checks"]["database"]["reason"] == "database_unreachable"
    assert body["checks"]["clip_store"] == {"status": "ok"}
    assert live.status_code == 200  # the process itself is fine: no restart loop while the database is away
    assert sample(metrics, "camera_ops_worker_database_up") == 0
