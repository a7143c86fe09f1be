"""Problems and alerts from camera statuses in the real database; webhook and email delivery
through the durable outbox against local receivers (started and stopped in the test)."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from camera_ops.alerts.detector import AlertJob
from camera_ops.alerts.digest import DigestJob
from camera_ops.alerts.outbox import DeliveryJob
from camera_ops.security import encrypt_secret
from storage.db import session_factory
from storage.models import Camera, CameraStatus, Lifecycle
from storage.models_monitoring import Alert, AlertDelivery, AlertKind, CloseReason, DeliveryState, Problem
from tests.factories import make_commune

pytestmark = pytest.mark.db

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc)  # 08:00 in Vietnam
MIN = timedelta(minutes=1)


def make_camera(session, settings, hamlet, code, status=CameraStatus.online, since=T0 - timedelta(days=1)):
    camera = Camera(code=code, name=f"Cổng {code}", area_id=hamlet.id, host="10.0.0.1", username="admin",
                    password_encrypted=encrypt_secret("x", settings), status=status, status_since=since,
                    status_reasons=["unreachable"] if status == CameraStatus.offline else [])
    session.add(camera)
    session.flush()
    return camera


def set_status(session, camera, status, since, reasons=()):
    camera.status, camera.status_since, camera.status_reasons = status, since, list(reasons)
    session.commit()


@pytest.fixture
def job(engine, settings):
    return AlertJob(session_factory(engine), settings.model_copy(update={"alert_after_s": 600.0}))


def alerts(session, kind=None):
    session.expire_all()
    stmt = select(Alert).order_by(Alert.id)
    if kind is not None:
        stmt = stmt.where(Alert.kind == kind)
    return rows(session, stmt)


def rows(session, stmt):
    """Read, then end the transaction: the jobs write from their own sessions (SQLite: one writer)."""
    session.expire_all()
    out = session.scalars(stmt).all()
    session.commit()
    return out


def test_a_camera_down_longer_than_the_threshold_opens_one_problem_and_one_alert(session, settings, job):
    commune = make_commune(session, hamlets=1)
    cams = [make_camera(session, settings, commune.hamlets[0], f"K{i}") for i in range(3)]
    set_status(session, cams[0], CameraStatus.offline, T0, ["unreachable"])
    job.run_once(T0 + 9 * MIN)
    assert alerts(session) == []  # not yet 10 minutes
    job.run_once(T0 + 10 * MIN)
    job.run_once(T0 + 11 * MIN)  # and not twice
    (alert,) = alerts(session)
    assert alert.kind == AlertKind.camera_down and alert.camera_id == cams[0].id
    assert "K0" in alert.title_vi and "Mất kết nối".lower() in alert.title_vi
    (problem,) = rows(session, select(Problem))
    assert problem.started_at == T0 and problem.closed_at is None
    # recovery closes it and says so
    set_status(session, cams[0], CameraStatus.online, T0 + 30 * MIN)
    job.run_once(T0 + 31 * MIN)
    (problem,) = rows(session, select(Problem))
    assert problem.close_reason == CloseReason.recovered and problem.closed_at == T0 + 30 * MIN
    recovered = alerts(session, AlertKind.camera_recovered)
    assert len(recovered) == 1 and "30 phút" in recovered[0].title_vi and "30 min" in recovered[0].title_en


def test_a_hamlet_power_cut_gives_one_grouped_alert_not_four(session, settings, job):
    commune = make_commune(session, hamlets=2)
    cut = [make_camera(session, settings, commune.hamlets[0], f"H{i}") for i in range(4)]
    other = make_camera(session, settings, commune.hamlets[1], "OTHER")
    for i, camera in enumerate(cut):  # they drop within one cycle of each other
        set_status(session, camera, CameraStatus.offline, T0 + i * timedelta(seconds=15), ["unreachable"])
    job.run_once(T0 + 11 * MIN)
    (alert,) = alerts(session)
    assert alert.kind == AlertKind.hamlet_down and alert.area_id == commune.hamlets[0].id
    assert alert.title_en.endswith("4 of 4 cameras offline — likely power or uplink")
    assert "4/4 camera mất kết nối" in alert.title_vi
    problems = rows(session, select(Problem))
    assert len(problems) == 4 and {p.group_alert_id for p in problems} == {alert.id}
    assert other.status == CameraStatus.online
    # power back: three cameras, then the fourth -> one recovery alert for the hamlet
    for camera in cut[:3]:
        set_status(session, camera, CameraStatus.online, T0 + 40 * MIN)
    job.run_once(T0 + 41 * MIN)
    assert alerts(session, AlertKind.hamlet_recovered) == []
    set_status(session, cut[3], CameraStatus.online, T0 + 42 * MIN)
    job.run_once(T0 + 43 * MIN)
    assert len(alerts(session, AlertKind.hamlet_recovered)) == 1
    assert alerts(session, AlertKind.camera_recovered) == []


def test_maintenance_silences_a_camera_and_closes_its_problem_quietly(session, settings, job):
    commune = make_commune(session, hamlets=1)
    a, b = (make_camera(session, settings, commune.hamlets[0], c) for c in ("MA", "MB"))
    b.lifecycle = Lifecycle.maintenance
    set_status(session, b, CameraStatus.offline, T0, ["unreachable"])
    job.run_once(T0 + 20 * MIN)
    assert alerts(session) == []  # b is in maintenance: silent
    set_status(session, a, CameraStatus.degraded, T0, ["black"])
    job.run_once(T0 + 20 * MIN)
    assert [x.kind for x in alerts(session)] == [AlertKind.camera_down]
    a = session.merge(a)
    a.lifecycle = Lifecycle.maintenance
    session.commit()
    job.run_once(T0 + 21 * MIN)
    (problem,) = rows(session, select(Problem))
    assert problem.close_reason == CloseReason.maintenance
    assert len(alerts(session)) == 1  # no recovery alert for maintenance


def test_a_problem_closed_by_hand_is_not_reopened_for_the_same_outage(session, settings, job):
    commune = make_commune(session, hamlets=1)
    camera = make_camera(session, settings, commune.hamlets[0], "HAND")
    set_status(session, camera, CameraStatus.unauthorized, T0, ["wrong_password"])
    job.run_once(T0 + 15 * MIN)
    (problem,) = rows(session, select(Problem))
    problem = session.merge(problem)
    problem.closed_at, problem.close_reason = T0 + 16 * MIN, CloseReason.manual
    session.commit()
    job.run_once(T0 + 20 * MIN)
    assert rows(session, select(Problem).where(Problem.closed_at.is_(None))) == []
    assert len(alerts(session)) == 1


# --- delivery -------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A local webhook receiver that can be stopped and started again on the same port."""

    def __init__(self, port: int) -> None:
        self.port, self.received, self._server = port, [], None

    def start(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:  # quiet
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def test_a_webhook_receiver_that_is_down_loses_no_alert(session, settings, engine):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    settings = settings.model_copy(update={"alert_webhook_urls": [url], "alert_after_s": 600.0,
                                           "delivery_backoff_s": 30.0, "delivery_timeout_s": 2.0})
    job = AlertJob(session_factory(engine), settings)
    delivery = DeliveryJob(session_factory(engine), settings)
    receiver = Receiver(port)
    try:
        commune = make_commune(session, hamlets=3)
        for i, hamlet in enumerate(commune.hamlets):
            camera = make_camera(session, settings, hamlet, f"W{i}")
            set_status(session, camera, CameraStatus.offline, T0, ["unreachable"])
        session.commit()
        job.run_once(T0 + 11 * MIN)  # three camera alerts while nobody listens
        assert delivery.run_once(T0 + 11 * MIN) == (0, 3)
        assert delivery.run_once(T0 + 11 * MIN + timedelta(seconds=10)) == (0, 0)  # backing off
        assert delivery.run_once(T0 + 12 * MIN) == (0, 3)  # retried, still down
        outbox = rows(session, select(AlertDelivery))
        assert len(outbox) == 3 and all(r.state == DeliveryState.pending and r.attempts == 2 for r in outbox)
        receiver.start()
        assert delivery.run_once(T0 + 12 * MIN + timedelta(seconds=30)) == (0, 0)  # second backoff is 60 s
        assert delivery.run_once(T0 + 14 * MIN) == (3, 0)
        assert delivery.run_once(T0 + 20 * MIN) == (0, 0)  # sent once, never again
        assert sorted(p["cameras"][0]["code"] for p in receiver.received) == ["W0", "W1", "W2"]
        assert all(p["kind"] == "camera_down" and p["title"]["vi"] for p in receiver.received)
    finally:
        receiver.stop()
        delivery.close()


def test_alerts_are_emailed_through_smtp(session, settings, engine):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    inbox = []

    class Collect(Message):
        def handle_message(self, message) -> None:
            inbox.append(message)

    port = free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port,
                                               "alert_email_to": ["congan.xa@example.vn"], "alert_after_s": 0.0})
        commune = make_commune(session, hamlets=1)
        camera = make_camera(session, settings, commune.hamlets[0], "MAIL")
        set_status(session, camera, CameraStatus.offline, T0, ["timeout"])
        AlertJob(session_factory(engine), settings).run_once(T0 + MIN)
        delivery = DeliveryJob(session_factory(engine), settings)
        assert delivery.run_once(T0 + MIN) == (1, 0)
        delivery.close()
    finally:
        controller.stop()
    (message,) = inbox
    assert message["To"] == "congan.xa@example.vn" and "MAIL" in message["Subject"]
    assert "offline" in message.get_payload(decode=True).decode()


def test_daily_digest_is_written_once_per_commune_per_day(session, settings, engine):
    commune = make_commune(session, hamlets=2)
    empty = make_commune(session, province=commune.province, hamlets=1)
    make_camera(session, settings, commune.hamlets[0], "D1")
    make_camera(session, settings, commune.hamlets[1], "D2", status=CameraStatus.offline, since=T0 - timedelta(hours=2))
    session.commit()
    digest = DigestJob(session_factory(engine), settings)
    assert digest.run_once(datetime(2026, 11, 19, 23, 0, tzinfo=timezone.utc)) == 0  # 06:00 local: too early
    assert digest.run_once(datetime(2026, 11, 20, 0, 5, tzinfo=timezone.utc)) == 1  # 07:05 local
    assert digest.run_once(datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)) == 0  # already done today
    (alert,) = alerts(session, AlertKind.daily_digest)
    assert alert.area_id == commune.commune.id and alert.payload["counts"] == {"online": 1, "offline": 1}
    assert "1/2 camera hoạt động" in alert.title_vi
    assert empty.commune.id != alert.area_id


def run(session, job, at):
    """Run the alert job after ending the test session's read transaction (SQLite: one writer)."""
    session.commit()
    job.run_once(at)


def test_three_of_four_cameras_down_together_is_one_hamlet_alert_and_the_fourth_joins_it(session, settings, job):
    commune = make_commune(session, hamlets=1)
    cams = [make_camera(session, settings, commune.hamlets[0], f"D{i}") for i in range(4)]
    # two drop at once, the third 8 minutes later (within the 10-minute alert window of the first)
    set_status(session, cams[0], CameraStatus.offline, T0, ["unreachable"])
    set_status(session, cams[1], CameraStatus.offline, T0 + MIN, ["unreachable"])
    set_status(session, cams[2], CameraStatus.offline, T0 + 8 * MIN, ["timeout"])
    run(session, job, T0 + 10 * MIN)
    (alert,) = alerts(session)
    assert alert.kind == AlertKind.hamlet_down
    assert alert.title_en.endswith("3 of 4 cameras offline — likely power or uplink") and "3/4" in alert.title_vi
    problems = rows(session, select(Problem))
    assert len(problems) == 3 and {p.group_alert_id for p in problems} == {alert.id}
    run(session, job, T0 + 19 * MIN)  # the third is due now: already covered, no second alert
    assert len(alerts(session)) == 1 and len(rows(session, select(Problem))) == 3
    set_status(session, cams[3], CameraStatus.offline, T0 + 20 * MIN, ["unreachable"])
    run(session, job, T0 + 31 * MIN)  # the fourth goes too: it joins the open hamlet outage silently
    assert len(alerts(session)) == 1
    assert {p.group_alert_id for p in rows(session, select(Problem))} == {alert.id}
    for camera in cams:
        set_status(session, camera, CameraStatus.online, T0 + 40 * MIN)
    run(session, job, T0 + 41 * MIN)
    assert [a.kind for a in alerts(session)] == [AlertKind.hamlet_down, AlertKind.hamlet_recovered]


def test_two_of_four_cameras_down_are_two_camera_alerts(session, settings, job):
    commune = make_commune(session, hamlets=1)
    cams = [make_camera(session, settings, commune.hamlets[0], f"E{i}") for i in range(4)]
    for camera in cams[:2]:
        set_status(session, camera, CameraStatus.offline, T0, ["unreachable"])
    run(session, job, T0 + 11 * MIN)
    assert [a.kind for a in alerts(session)] == [AlertKind.camera_down, AlertKind.camera_down]


def test_cameras_down_far_apart_in_time_are_not_one_outage(session, settings, job):
    commune = make_commune(session, hamlets=1)
    cams = [make_camera(session, settings, commune.hamlets[0], f"F{i}") for i in range(4)]
    set_status(session, cams[0], CameraStatus.offline, T0 - 3 * 60 * MIN, ["unreachable"])  # since 3 h
    run(session, job, T0)
    for camera in cams[1:3]:
        set_status(session, camera, CameraStatus.offline, T0 + MIN, ["unreachable"])
    run(session, job, T0 + 12 * MIN)
    assert [a.kind for a in alerts(session)] == [AlertKind.camera_down] * 3


def test_a_degraded_camera_that_goes_offline_is_announced_again_and_its_recovery_too(session, settings, job):
    commune = make_commune(session, hamlets=1)
    camera = make_camera(session, settings, commune.hamlets[0], "W1")
    make_camera(session, settings, commune.hamlets[0], "W2")
    set_status(session, camera, CameraStatus.degraded, T0, ["covered"])
    run(session, job, T0 + 10 * MIN)
    assert [a.kind for a in alerts(session)] == [AlertKind.camera_down]
    set_status(session, camera, CameraStatus.offline, T0 + 20 * MIN, ["unreachable"])
    run(session, job, T0 + 25 * MIN)  # worse for 5 min only: could be a blip
    assert len(alerts(session)) == 1
    run(session, job, T0 + 30 * MIN)
    run(session, job, T0 + 31 * MIN)  # once
    kinds = [a.kind for a in alerts(session)]
    assert kinds == [AlertKind.camera_down, AlertKind.camera_worse]
    worse = alerts(session)[-1]
    assert "chuyển sang mất kết nối" in worse.title_vi and "is now offline" in worse.title_en
    (problem,) = rows(session, select(Problem))
    assert problem.status == CameraStatus.offline and problem.closed_at is None and problem.started_at == T0
    # better but not recovered: quiet; worse again: announced again
    set_status(session, camera, CameraStatus.degraded, T0 + 40 * MIN, ["covered"])
    run(session, job, T0 + 41 * MIN)
    assert len(alerts(session)) == 2
    set_status(session, camera, CameraStatus.offline, T0 + 50 * MIN, ["timeout"])
    run(session, job, T0 + 61 * MIN)
    assert [a.kind for a in alerts(session)][-1] == AlertKind.camera_worse and len(alerts(session)) == 3
    set_status(session, camera, CameraStatus.online, T0 + 70 * MIN)
    run(session, job, T0 + 71 * MIN)
    assert [a.kind for a in alerts(session)][-1] == AlertKind.camera_recovered


def test_a_degraded_camera_whose_password_is_changed_is_announced_as_unauthorized(session, settings, job):
    commune = make_commune(session, hamlets=1)
    camera = make_camera(session, settings, commune.hamlets[0], "U1")
    set_status(session, camera, CameraStatus.degraded, T0, ["clock_drift"])
    run(session, job, T0 + 10 * MIN)
    set_status(session, camera, CameraStatus.unauthorized, T0 + 15 * MIN, ["wrong_password"])
    run(session, job, T0 + 26 * MIN)
    assert [a.kind for a in alerts(session)] == [AlertKind.camera_down, AlertKind.camera_worse]
    assert "sai mật khẩu" in alerts(session)[-1].title_vi.lower()


def test_a_pending_camera_does_not_count_in_the_hamlet(session, settings, job):
    from storage.models import RegistrationState

    commune = make_commune(session, hamlets=1)
    cams = [make_camera(session, settings, commune.hamlets[0], f"P{i}") for i in range(4)]
    pending = make_camera(session, settings, commune.hamlets[0], "P-NEW", status=CameraStatus.unknown)
    pending.registration = RegistrationState.pending
    session.commit()
    for camera in cams[:3]:
        set_status(session, camera, CameraStatus.offline, T0, ["unreachable"])
    run(session, job, T0 + 11 * MIN)
    (alert,) = alerts(session)
    assert alert.kind == AlertKind.hamlet_down and "3 of 4 cameras offline" in alert.title_en
