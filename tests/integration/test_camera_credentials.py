"""Issue 12 finding 1: a camera's stored password never goes where it should not.

The attack: a commune police user PATCHes a camera's host to their own fake ONVIF server and asks
for a handshake; the server refuses the digest and used to receive the password as plain text.
Now: the host change needs the password (or the admin role), the handshake never falls back to
plain text for a camera not registered needing it, every address is checked against the camera
networks, registration errors are no port scanner, and the credentials key can be rotated.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from camera_ops import netpolicy
from camera_ops.keyrotation import reencrypt_all, rotate_generated_key
from camera_ops.registry import cameras as camera_service
from camera_ops.security import decrypt_secret, encrypt_secret
from camera_ops.settings import Settings
from storage.models import Camera, Role
from storage.models_security import AuditEvent
from tests.factories import api_login as login, make_commune, make_user
from tests.unit.test_onvif_handshake_fake import PASSWORD, USER, FakeOnvifDevice

pytestmark = pytest.mark.db


class ServedDevice:
    """The fake ONVIF device on a real socket, served from a thread of its own."""

    def __init__(self, device: FakeOnvifDevice) -> None:
        self.device = device
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self.server = await asyncio.start_server(self.device.handle, "127.0.0.1", 0)
            self.device.port = self.server.sockets[0].getsockname()[1]
            self.ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def __enter__(self) -> FakeOnvifDevice:
        self.thread.start()
        assert self.ready.wait(10)
        return self.device

    def __exit__(self, *_: object) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def world(session, settings):
    a = make_commune(session, prefix="KA")
    users = {
        "admin": make_user(session, Role.admin, username="admin"),
        "police": make_user(session, Role.commune_police, [a.commune], username="police"),
    }
    camera = Camera(code="CAM-1", name="Cổng làng", area_id=a.hamlets[0].id, host="192.168.1.64", onvif_port=80,
                    username=USER, password_encrypted=encrypt_secret(PASSWORD, settings), status_reasons=[])
    session.add(camera)
    session.commit()
    return {"a": a, "users": users, "camera": camera}


def _audit(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    rows = list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
    session.commit()
    return rows


def test_police_cannot_point_a_camera_at_their_own_server_and_collect_its_password(client, world, session):
    police = login(client, "police")
    cam = world["camera"]
    with ServedDevice(FakeOnvifDevice(accepts=("text",))) as evil:
        r = client.patch(f"/api/v1/cameras/{cam.id}", json={"host": "127.0.0.1", "onvif_port": evil.port},
                         headers=police)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "password_required" and r.json()["error"]["field"] == "password"
        session.expire_all()
        assert (session.get(Camera, cam.id).host, session.get(Camera, cam.id).onvif_port) == ("192.168.1.64", 80)
        session.commit()
        # Even once an administrator moved it there, the handshake never sends the password in clear
        admin = login(client, "admin")
        assert client.patch(f"/api/v1/cameras/{cam.id}", json={"host": "127.0.0.1", "onvif_port": evil.port},
                            headers=admin).status_code == 200
        r = client.post(f"/api/v1/cameras/{cam.id}/handshake", headers=police)
        assert r.status_code == 200 and r.json()["error"]["field"] == "password"
    assert evil.password_types == ["digest"]
    assert PASSWORD.encode() not in evil.received and b"#PasswordText" not in evil.received
    denied = _audit(session, "access.denied")
    assert denied and denied[0].actor_username == "police" and "password_required" in denied[0].message
    moved = _audit(session, "camera.update")
    assert moved[-1].actor_username == "admin" and moved[-1].changes["host"] == {"from": "192.168.1.64", "to": "127.0.0.1"}


def test_a_camera_registered_needing_plain_text_is_recorded_and_shown(client, world, session):
    police = login(client, "police")
    with ServedDevice(FakeOnvifDevice(accepts=("text",))) as device:
        r = client.post("/api/v1/cameras", headers=police, json={
            "code": "CAM-TXT", "name": "Chợ", "area_id": world["a"].hamlets[0].id, "host": "127.0.0.1",
            "onvif_port": device.port, "username": USER, "password": PASSWORD})
        assert r.status_code == 201, r.text
        camera = r.json()["camera"]
        assert camera["plaintext_auth"] is True
        retry = client.post(f"/api/v1/cameras/{camera['id']}/handshake", headers=police)
        assert retry.json()["error"] is None  # registered needing it: allowed again
    assert client.get(f"/api/v1/cameras/{world['camera'].id}", headers=police).json()["plaintext_auth"] is False
    registered = _audit(session, "camera.register")
    assert registered[-1].changes["password"] == {"changed": True} and PASSWORD not in str(registered[-1].changes)


def test_changing_the_host_with_the_password_typed_again_is_allowed_and_audited_without_it(client, world, session):
    police = login(client, "police")
    cam = world["camera"]
    cam_id = cam.id
    r = client.patch(f"/api/v1/cameras/{cam_id}", headers=police,
                     json={"host": "10.20.0.5", "onvif_port": 8000, "password": "a-new-camera-pw"})
    assert r.status_code == 200, r.text
    event = _audit(session, "camera.update")[-1]
    assert event.actor_username == "police" and event.client_address
    assert event.changes["password"] == {"changed": True} and event.changes["onvif_port"] == {"from": 80, "to": 8000}
    assert "a-new-camera-pw" not in str(event.changes)
    # fields that are not about where the camera is reached need no password
    assert client.patch(f"/api/v1/cameras/{cam_id}", headers=police, json={"name": "Cổng mới"}).status_code == 200


@pytest.mark.parametrize("name", ["host", "onvif_port", "rtsp_port", "main_stream_uri", "snapshot_uri",
                                  "playback_url_template", "snapshot_url"])
def test_every_connection_field_needs_the_password(name):
    assert camera_service.is_connection_field(name)
    assert not camera_service.is_connection_field("name") and not camera_service.is_connection_field("username")


def test_addresses_outside_the_camera_networks_are_refused(client, world, session):
    admin = login(client, "admin")
    r = client.patch(f"/api/v1/cameras/{world['camera'].id}", headers=admin, json={"host": "8.8.8.8"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "camera_network_refused"
    assert r.json()["error"]["field"] == "host" and "CAMERA_OPS_CAMERA_NETWORKS" in r.json()["error"]["message"]
    r = client.post("/api/v1/cameras", headers=admin, json={
        "code": "PUB", "name": "x", "area_id": world["a"].hamlets[0].id, "host": "203.0.113.9", "username": "u",
        "password": "p", "pending": True})
    assert r.status_code == 422 and r.json()["error"]["code"] == "camera_network_refused"


def test_a_wider_allow_list_from_settings_admits_a_public_camera(engine, tmp_path, database_url, world):
    wide = Settings(data_dir=tmp_path / "d", database_url=database_url, _env_file=None,  # type: ignore[call-arg]
                    camera_networks=["10.0.0.0/8", "203.0.113.0/24"])
    try:
        with TestClient(create_app(wide, engine=engine)) as c:
            r = c.post("/api/v1/cameras", headers=login(c, "admin"), json={
                "code": "PUB", "name": "x", "area_id": world["a"].hamlets[0].id, "host": "203.0.113.9",
                "username": "u", "password": "p", "pending": True})
            assert r.status_code == 201, r.text
            assert netpolicy.address_allowed(__import__("ipaddress").ip_address("127.0.0.1")) is False
    finally:
        netpolicy.configure(netpolicy.DEFAULT_CAMERA_NETWORKS)


def test_registration_errors_do_not_tell_a_closed_port_from_a_web_server(client, world):
    """Not a port scanner: for non-administrators "nothing answers" and "answers HTTP but not SOAP"
    read the same."""
    import socket
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Web(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_):
            pass

    web = HTTPServer(("127.0.0.1", 0), Web)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        answers = {}
        for who in ("police", "admin"):
            headers = login(client, who)
            for label, port in (("web", web.server_address[1]), ("closed", closed_port)):
                r = client.post("/api/v1/cameras", headers=headers, json={
                    "code": f"S-{who}-{label}", "name": "x", "area_id": world["a"].hamlets[0].id, "host": "127.0.0.1",
                    "onvif_port": port, "username": "u", "password": "p"})
                answers[who, label] = (r.status_code, r.json()["error"]["code"], r.json()["error"]["message"])
    finally:
        web.shutdown()
    assert answers["police", "web"] == answers["police", "closed"]
    # the same for both, yet it still tells the user how to fix the field: the usual ONVIF ports
    assert "8000" in answers["police", "web"][2] and "554" in answers["police", "web"][2]
    assert answers["admin", "web"][1] == "not_onvif" and answers["admin", "closed"][1] == "camera_unreachable"


def test_keys_rotate_reencrypts_every_password_and_the_old_key_can_be_dropped(engine, session, tmp_path, database_url):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    def settings_with(keys: str) -> Settings:
        return Settings(data_dir=tmp_path, database_url=database_url, credentials_key=keys,  # type: ignore[call-arg]
                        _env_file=None)

    old = settings_with(old_key)
    hamlet = make_commune(session, hamlets=1).hamlets[0]
    for i in range(7):
        session.add(Camera(code=f"R{i}", name="r", area_id=hamlet.id, host="10.0.0.1", username="u",
                           password_encrypted=encrypt_secret(f"pw-{i}", old), status_reasons=[]))
    session.commit()
    rotating = settings_with(f"{new_key},{old_key}")
    report = reencrypt_all(engine, rotating, batch_rows=3)
    assert (report.cameras, report.reencrypted, report.old_key_needed) == (7, 7, False)
    assert reencrypt_all(engine, rotating).reencrypted == 0  # running again is harmless
    only_new = settings_with(new_key)
    session.expire_all()
    tokens = {c.code: c.password_encrypted for c in session.scalars(select(Camera))}
    assert {code: decrypt_secret(t, only_new) for code, t in tokens.items()} == {f"R{i}": f"pw-{i}" for i in range(7)}
    with pytest.raises(Exception):
        decrypt_secret(tokens["R0"], old)
    assert _audit(session, "keys.rotate")[0].message == "7 of 7 camera passwords re-encrypted"


def test_keys_rotate_replaces_the_generated_development_key(engine, session, tmp_path, database_url):
    dev = Settings(data_dir=tmp_path / "dev", database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    first_key = dev.fernet_key
    hamlet = make_commune(session, hamlets=1).hamlets[0]
    session.add(Camera(code="D1", name="d", area_id=hamlet.id, host="10.0.0.1", username="u",
                       password_encrypted=encrypt_secret("dev-pw", dev), status_reasons=[]))
    session.commit()
    report = rotate_generated_key(engine, dev)
    assert report.reencrypted == 1 and not report.old_key_needed
    assert dev.fernet_keys != [first_key] and len(dev.fernet_keys) == 1
    session.expire_all()
    assert decrypt_secret(session.scalar(select(Camera.password_encrypted)), dev) == "dev-pw"
    session.commit()


def test_csv_import_refuses_rows_outside_the_camera_networks_and_is_audited(client, world, session):
    police = login(client, "police")
    hamlet = world["a"].hamlets[0].code
    text = ("code,name,hamlet_code,host,username,password\n"
            f"IMP-1,Cổng,{hamlet},192.168.9.1,admin,pw-123456\n"
            f"IMP-2,Chợ,{hamlet},8.8.4.4,admin,pw-123456\n")
    r = client.post("/api/v1/cameras/import", headers=police, files={"file": ("c.csv", text.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    rows = {row["key"]: row for row in r.json()["rows"]}
    assert rows["IMP-1"]["outcome"] == "created" and rows["IMP-2"]["outcome"] == "error"
    imported = _audit(session, "camera.import")
    assert imported and imported[-1].actor_username == "police" and imported[-1].message.startswith("1 created")
