"""Health API over the real database: summary, per-camera status/history/uptime/snapshot,
maintenance, reference, problems, alerts — all scoped by the user's areas."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from camera_ops.health.vocabulary import Reason, reasons_to_mask
from camera_ops.security import encrypt_secret
from storage.models import Camera, CameraStatus, Role
from storage.models_monitoring import CameraHealth, CameraStatusChange, Problem
from tests.factories import api_login as login, make_commune, make_user

pytestmark = pytest.mark.db

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
H = timedelta(hours=1)


def add_camera(session, settings, hamlet, code, status=CameraStatus.online, since=T0):
    camera = Camera(code=code, name=f"Camera {code}", area_id=hamlet.id, host="10.0.0.2", username="admin",
                    password_encrypted=encrypt_secret("pw", settings), status=status, status_since=since,
                    status_reasons=[])
    session.add(camera)
    session.flush()
    return camera


def add_history(session, camera, rows):
    for at, status, reasons in rows:
        session.add(CameraStatusChange(camera_id=camera.id, at=at, status=CameraStatus(status),
                                       reasons_mask=reasons_to_mask(reasons)))
    session.flush()


@pytest.fixture
def world(session, settings):
    a = make_commune(session, prefix="HA", hamlets=2)
    b = make_commune(session, province=a.province, prefix="HB", hamlets=1)
    cams = {
        "a1": add_camera(session, settings, a.hamlets[0], "A1"),
        "a2": add_camera(session, settings, a.hamlets[0], "A2", CameraStatus.offline, datetime.now(timezone.utc) - 3 * H),
        "a3": add_camera(session, settings, a.hamlets[1], "A3", CameraStatus.degraded, datetime.now(timezone.utc) - H),
        "b1": add_camera(session, settings, b.hamlets[0], "B1", CameraStatus.offline, datetime.now(timezone.utc) - 9 * H),
    }
    cams["a2"].status_reasons = ["unreachable"]
    cams["a3"].status_reasons = ["black"]
    make_user(session, Role.admin, username="admin")
    make_user(session, Role.commune_police, [a.commune], username="police_a")
    make_user(session, Role.commune_police, [b.commune], username="police_b")
    make_user(session, Role.officer, [a.commune], username="officer_a")
    session.commit()
    return {"a": a, "b": b, "cams": cams}


def test_fleet_summary_counts_by_area_and_lists_problems_longest_first_within_scope(client, world):
    ha = login(client, "police_a")
    body = client.get("/api/v1/health/summary", headers=ha).json()
    assert body["total"] == 3 and body["counts"] == {"online": 1, "offline": 1, "degraded": 1}
    assert [p["code"] for p in body["problems"]] == ["A2", "A3"]  # B1 is down longer but not in scope
    assert body["problems"][0]["status_label"] == {"vi": "Mất kết nối", "en": "Offline"}
    assert body["problems"][1]["reasons"][0]["label"]["vi"] == "Hình ảnh đen"
    commune = client.get(f"/api/v1/health/summary?area_id={world['a'].commune.id}", headers=ha).json()
    assert {c["code"]: c["counts"] for c in commune["children"]} == {
        "HA-T1": {"online": 1, "offline": 1}, "HA-T2": {"degraded": 1}}
    assert client.get(f"/api/v1/health/summary?area_id={world['b'].commune.id}", headers=ha).status_code == 404
    admin = client.get("/api/v1/health/summary", headers=login(client, "admin")).json()
    assert [p["code"] for p in admin["problems"]] == ["B1", "A2", "A3"]


def test_camera_uptime_and_history_are_exact_for_a_window(client, world, session):
    cam = world["cams"]["a1"]
    add_history(session, cam, [
        (T0, "online", ()), (T0 + 10 * H, "offline", (Reason.UNREACHABLE,)), (T0 + 12 * H, "online", ()),
        (T0 + 20 * H, "maintenance", ()), (T0 + 22 * H, "online", ()),
    ])
    session.commit()
    ha = login(client, "police_a")
    q = f"start={(T0 + 6 * H).isoformat()}&end={(T0 + 24 * H).isoformat()}".replace("+", "%2B")
    up = client.get(f"/api/v1/health/cameras/{cam.id}/uptime?{q}", headers=ha).json()
    # 18 h window: 2 h maintenance excluded; 2 h offline of 16 counted -> 87.5 %
    assert up["seconds"]["online"] == 14 * 3600 and up["seconds"]["offline"] == 2 * 3600
    assert up["seconds"]["maintenance"] == 2 * 3600 and up["uptime_pct"] == 87.5
    hist = client.get(f"/api/v1/health/cameras/{cam.id}/history?{q}", headers=ha).json()
    assert hist["opening"]["status"] == "online"
    assert [(c["status"], c["reasons"]) for c in hist["changes"]] == [
        ("offline", ["unreachable"]), ("online", []), ("maintenance", []), ("online", [])]
    assert len(hist["hourly"]) == 18 and hist["hourly"][4]["seconds"] == {"offline": 3600.0}
    # group: the hamlet (a1 with history, a2 without any row: unknown, excluded)
    hamlet = world["a"].hamlets[0].id
    group = client.get(f"/api/v1/health/uptime?area_id={hamlet}&{q}", headers=ha).json()
    assert group["cameras"] == 2 and group["uptime_pct"] == 87.5
    assert client.get(f"/api/v1/health/cameras/{world['cams']['b1'].id}/uptime", headers=ha).status_code == 404


def test_last_snapshot_is_served_as_a_small_jpeg(client, world, session):
    cam = world["cams"]["a1"]
    ha = login(client, "police_a")
    assert client.get(f"/api/v1/health/cameras/{cam.id}/snapshot", headers=ha).status_code == 404
    session.merge(CameraHealth(camera_id=cam.id, thumbnail=b"\xff\xd8jpeg\xff\xd9", last_seen_at=T0, rtt_ms=3.5))
    session.commit()
    r = client.get(f"/api/v1/health/cameras/{cam.id}/snapshot", headers=ha)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content.startswith(b"\xff\xd8")
    detail = client.get(f"/api/v1/health/cameras/{cam.id}", headers=ha).json()
    assert detail["has_snapshot"] and detail["rtt_ms"] == 3.5 and detail["status"] == "online"


def test_maintenance_silences_the_camera_and_reference_can_be_retaken(client, world, session):
    cam = world["cams"]["a2"]
    session.add(Problem(camera_id=cam.id, area_id=cam.area_id, status=CameraStatus.offline, reasons=["unreachable"],
                        started_at=cam.status_since))
    session.commit()
    ha = login(client, "police_a")
    r = client.post(f"/api/v1/health/cameras/{cam.id}/maintenance", json={"on": True}, headers=ha)
    assert r.status_code == 200 and r.json()["status"] == "maintenance" and r.json()["problem_id"] is None
    summary = client.get("/api/v1/health/summary", headers=ha).json()
    assert summary["counts"]["maintenance"] == 1 and "A2" not in [p["code"] for p in summary["problems"]]
    assert client.post(f"/api/v1/health/cameras/{cam.id}/maintenance", json={"on": False}, headers=ha).json()[
        "lifecycle"] == "active"
    officer = login(client, "officer_a")
    assert client.post(f"/api/v1/health/cameras/{cam.id}/maintenance", json={"on": True}, headers=officer).status_code == 403
    r = client.post(f"/api/v1/health/cameras/{cam.id}/reference", headers=ha)
    assert r.status_code == 202
    session.expire_all()
    assert session.get(CameraHealth, cam.id).reference_requested_at is not None
    session.commit()


def test_problems_can_be_acknowledged_assigned_and_closed_by_commune_police_only(client, world, session):
    cam = world["cams"]["a2"]
    problem = Problem(camera_id=cam.id, area_id=cam.area_id, status=CameraStatus.offline, reasons=["unreachable"],
                      started_at=cam.status_since)
    other = Problem(camera_id=world["cams"]["b1"].id, area_id=world["cams"]["b1"].area_id,
                    status=CameraStatus.offline, reasons=[], started_at=world["cams"]["b1"].status_since)
    session.add_all([problem, other])
    session.commit()
    ha, officer = login(client, "police_a"), login(client, "officer_a")
    listed = client.get("/api/v1/health/problems", headers=ha).json()
    assert [p["camera_code"] for p in listed] == ["A2"]
    assert client.post(f"/api/v1/health/problems/{problem.id}/acknowledge", json={}, headers=officer).status_code == 403
    assert client.post(f"/api/v1/health/problems/{other.id}/acknowledge", json={}, headers=ha).status_code == 404
    r = client.post(f"/api/v1/health/problems/{problem.id}/acknowledge", json={"note": "đã gọi"}, headers=ha)
    assert r.json()["state"] == "acknowledged" and "đã gọi" in r.json()["note"]
    r = client.post(f"/api/v1/health/problems/{problem.id}/assign", headers=ha, json={
        "assignee_kind": "hamlet_head", "assignee_name": "Ông Trưởng thôn", "assignee_phone": "0912345678",
        "note": "kiểm tra nguồn điện"})
    assert r.json()["assignee_name"] == "Ông Trưởng thôn" and r.json()["assignee_kind"] == "hamlet_head"
    r = client.post(f"/api/v1/health/problems/{problem.id}/close", json={"note": "đã sửa"}, headers=ha)
    assert r.json()["state"] == "closed" and r.json()["close_reason"] == "manual"
    assert client.post(f"/api/v1/health/problems/{problem.id}/close", json={}, headers=ha).status_code == 422
    assert client.get("/api/v1/health/problems", headers=ha).json() == []
    assert len(client.get("/api/v1/health/problems?include_closed=true", headers=ha).json()) == 1


def test_area_hourly_chart_reads_commune_rollups_and_computes_hamlets_from_changes(client, world, session, engine):
    from camera_ops.monitor.history import RollupJob
    from storage.db import session_factory

    for cam in world["cams"].values():
        cam.created_at = T0 - H  # registered before the window
    half = timedelta(minutes=30)
    add_history(session, world["cams"]["a1"], [(T0, "online", ()), (T0 + 2 * H + half, "offline", (Reason.UNREACHABLE,))])
    add_history(session, world["cams"]["a3"], [(T0, "online", ())])
    add_history(session, world["cams"]["b1"], [(T0, "offline", ())])
    session.commit()
    job = RollupJob(session_factory(engine, write=True))
    for _ in range(3):  # it catches up a day per run; with no watermark it starts 48 h back
        job.run_once(now=T0 + 6 * H + timedelta(minutes=5))
    q = f"start={T0.isoformat()}&end={(T0 + 4 * H).isoformat()}".replace("+", "%2B")

    def chart(area_id, user):
        r = client.get(f"/api/v1/health/areas/{area_id}/hourly?{q}", headers=login(client, user))
        assert r.status_code == 200, r.text
        body = r.json()
        return body, {datetime.fromisoformat(h["hour"]): (h["cameras"], h["seconds"]) for h in body["hourly"]}

    commune, hours = chart(world["a"].commune.id, "police_a")
    assert commune["source"] == "rollups" and datetime.fromisoformat(commune["rolled_up_until"]) == T0 + 6 * H
    assert len(hours) == 4
    # a1 half an hour offline, a2 without any row (unknown, not uptime), a3 online
    assert hours[T0 + 2 * H] == (3, {"online": 5400.0, "offline": 1800.0, "unknown": 3600.0})
    assert hours[T0] == (3, {"online": 7200.0, "unknown": 3600.0})
    hamlet, by_hour = chart(world["a"].hamlets[0].id, "police_a")  # computed from the change rows
    assert hamlet["source"] == "changes" and by_hour[T0 + 2 * H] == (2, {"online": 1800.0, "offline": 1800.0, "unknown": 3600.0})
    _, province = chart(world["a"].province.id, "admin")  # communes summed
    assert province[T0 + 2 * H] == (4, {"online": 5400.0, "offline": 5400.0, "unknown": 3600.0})
    other = client.get(f"/api/v1/health/areas/{world['b'].commune.id}/hourly?{q}", headers=login(client, "police_a"))
    assert other.status_code == 404  # outside the user's areas: as if absent
