"""WS-Discovery against the simulator over real UDP sockets: unicast over loopback, multicast inside
network namespaces the test creates, and replies that are malformed or claim another address."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camera_ops.onvif.discovery import (
    discover,
    parse_probe_matches,
    probe_match_message,
    probe_message_id,
)
from camera_ops.registry.discovered import find_cameras
from camera_ops.security import encrypt_secret
from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.testing import running_fleet
from storage.models import Camera, CameraStatus, Lifecycle, RegistrationState
from storage.types import utcnow
from tests.factories import make_commune

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 1.5  # answers on loopback arrive in milliseconds; generous for a loaded machine


def free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def base_address() -> str:
    return f"127.{random.choice(range(21, 30))}.{random.randrange(256)}.1"


@contextmanager
def sim_with_discovery(specs: list[CameraSpec]) -> Iterator[tuple[object, int, str]]:
    base = base_address()
    port = free_udp_port(base)
    with running_fleet(specs, base_address=base, discovery_port=port) as fleet:
        prefix = base.rsplit(".", 1)[0]
        yield fleet, port, f"{prefix}.1-{prefix}.{len(specs) + 2}"


def test_unicast_probe_finds_the_simulated_onvif_cameras_and_not_the_rtsp_only_one() -> None:
    specs = [CameraSpec(name="d1", vendor="hikvision"), CameraSpec(name="d2", vendor="dahua"),
             CameraSpec(name="d3", vendor="rtsp_only")]
    with sim_with_discovery(specs) as (fleet, port, address_range):
        first, last = address_range.split("-")
        targets = [f"{first.rsplit('.', 1)[0]}.{i}" for i in range(1, 6)]
        result = asyncio.run(discover(targets=targets, port=port, timeout_s=TIMEOUT_S))
        found = {d.address: d for d in result.devices}
        for name in ("d1", "d2"):
            info = fleet.camera(name)
            device = found[info.host]
            assert device.onvif_port == info.onvif_port and device.mac == info.mac
            assert device.xaddrs == (info.device_url,) and not device.warnings
        assert fleet.camera("d3").host not in found  # no ONVIF, no WS-Discovery
        assert result.rejected == [] and result.probed == 5


@pytest.mark.db
def test_discovered_cameras_say_whether_they_are_registered_by_mac_or_endpoint(session, settings) -> None:
    specs = [CameraSpec(name="r1"), CameraSpec(name="r2"), CameraSpec(name="r3")]
    with sim_with_discovery(specs) as (fleet, port, address_range):
        commune = make_commune(session, hamlets=1)
        by_mac, by_endpoint = fleet.camera("r1"), fleet.camera("r2")
        for code, info, mac in (("K-MAC", by_mac, by_mac.mac), ("K-EP", by_endpoint, None)):
            session.add(Camera(code=code, name=code, area_id=commune.hamlets[0].id,
                               host="10.0.0.9" if mac else info.host, onvif_port=info.onvif_port, username="admin",
                               password_encrypted=encrypt_secret("x", settings), mac=mac,
                               registration=RegistrationState.registered, lifecycle=Lifecycle.active,
                               status=CameraStatus.unknown, status_since=utcnow(), status_reasons=[]))
        session.commit()
        report = find_cameras(session, range_text=address_range, multicast=False, scope=None,
                              timeout_s=TIMEOUT_S, port=port)
        rows = {r.device.address: r for r in report.rows}
        assert rows[by_mac.host].registered.matched_by == "mac" and rows[by_mac.host].registered.code == "K-MAC"
        assert rows[by_endpoint.host].registered.matched_by == "endpoint"
        new = rows[fleet.camera("r3").host]
        assert new.registered is None
        assert new.prefill == {"host": new.device.address, "onvif_port": str(fleet.camera("r3").onvif_port),
                               "kind": "onvif", "name": new.device.name}
        # out of the user's areas: said, but not which camera
        hidden = find_cameras(session, range_text=address_range, multicast=False, scope=["/nowhere/"],
                              timeout_s=TIMEOUT_S, port=port)
        row = next(r for r in hidden.rows if r.device.address == by_mac.host)
        assert row.registered.matched_by == "mac" and row.registered.code is None


class RogueResponder:
    """Answers every Probe on ``host:port`` with whatever ``reply(message_id)`` gives, from ``reply_from``."""

    def __init__(self, host: str, port: int, reply, reply_from: str | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.out = self.sock  # a camera answers from the socket the probe came in on ...
        if reply_from:  # ... a rogue may answer from another address
            self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.out.bind((reply_from, 0))
        self.reply, self.stop = reply, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            message_id = probe_message_id(data)
            if message_id:
                self.out.sendto(self.reply(message_id), addr)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        if self.out is not self.sock:
            self.out.close()
        self.sock.close()


def _match(message_id: str, host: str) -> bytes:
    return probe_match_message(relates_to=message_id, endpoint="urn:uuid:1-2-3-02ab00000001",
                               xaddrs=[f"http://{host}:8000/onvif/device_service"], scopes=[])


def test_malformed_replies_and_replies_from_outside_the_range_are_ignored_with_a_reason() -> None:
    prefix = base_address().rsplit(".", 1)[0]
    port = free_udp_port(f"{prefix}.1")
    targets = [f"{prefix}.{i}" for i in range(1, 5)]
    rogues = [
        RogueResponder(f"{prefix}.1", port, lambda mid: b"<not xml"),
        RogueResponder(f"{prefix}.2", port, lambda mid: _match(mid, f"{prefix}.2"), reply_from=f"{prefix}.200"),
        RogueResponder(f"{prefix}.3", port, lambda mid: _match("urn:uuid:someone-else", f"{prefix}.3")),
        RogueResponder(f"{prefix}.4", port, lambda mid: _match(mid, "8.8.8.8")),  # claims another address
    ]
    try:
        result = asyncio.run(discover(targets=targets, port=port, timeout_s=TIMEOUT_S))
    finally:
        for rogue in rogues:
            rogue.close()
    codes = {(r.source, r.code) for r in result.rejected}
    assert codes == {(f"{prefix}.1", "malformed"), (f"{prefix}.200", "outside_range"), (f"{prefix}.3", "not_ours")}
    (device,) = result.devices
    assert device.address == f"{prefix}.4" and device.warnings == ("reported_other_address",)
    assert device.onvif_port == 8000  # the address that answered is kept: it is the one that reaches it


@pytest.mark.parametrize("payload", [
    b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>",
    b"x" * 20_000,
    b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'/>",
])
def test_hostile_or_empty_replies_are_refused_without_parsing_them_fully(payload: bytes) -> None:
    with pytest.raises(Exception) as info:
        parse_probe_matches(payload, message_id="urn:uuid:x")
    assert getattr(info.value, "code", None) in {"malformed", "too_large", "not_ours"}


# --- multicast inside network namespaces ----------------------------------------------------------


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)


@contextmanager
def namespace_pair() -> Iterator[tuple[str, str, str, str]]:
    """Two namespaces joined by a veth pair: (ns_a, addr_a, ns_b, addr_b). Skips when unavailable."""
    if shutil.which("ip") is None:
        pytest.skip("multicast test needs iproute2 ('ip'), which is not installed")
    tag = f"{os.getpid() % 10000}{random.randrange(100)}"
    ns_a, ns_b = f"fh-a{tag}", f"fh-b{tag}"
    subnet = f"10.{random.randrange(200, 250)}.{random.randrange(256)}"
    made: list[str] = []
    try:
        for ns in (ns_a, ns_b):
            created = _ip("netns", "add", ns)
            if created.returncode != 0:
                pytest.skip(f"cannot create a network namespace here ({created.stderr.strip()}): "
                            "multicast WS-Discovery is tested only where 'ip netns add' works (root, CAP_SYS_ADMIN)")
            made.append(ns)
        steps = [
            ("link", "add", f"va{tag}", "netns", ns_a, "type", "veth", "peer", "name", f"vb{tag}", "netns", ns_b),
            ("-n", ns_a, "addr", "add", f"{subnet}.1/24", "dev", f"va{tag}"),
            ("-n", ns_b, "addr", "add", f"{subnet}.2/24", "dev", f"vb{tag}"),
            ("-n", ns_a, "link", "set", f"va{tag}", "up"), ("-n", ns_b, "link", "set", f"vb{tag}", "up"),
            ("-n", ns_a, "link", "set", "lo", "up"), ("-n", ns_b, "link", "set", "lo", "up"),
        ]
        for step in steps:
            done = _ip(*step)
            if done.returncode != 0:
                pytest.skip(f"cannot set up the namespace link ({' '.join(step)}: {done.stderr.strip()})")
        yield ns_a, f"{subnet}.1", ns_b, f"{subnet}.2"
    finally:
        for ns in made:
            _ip("netns", "del", ns)


def test_multicast_probe_finds_a_camera_on_the_lan_inside_a_network_namespace() -> None:
    with namespace_pair() as (ns_a, addr_a, ns_b, addr_b):
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        camera = subprocess.Popen(
            ["ip", "netns", "exec", ns_b, sys.executable, "-m", "camera_ops.sim.discovery", "--interface", addr_b,
             "--xaddr", f"http://{addr_b}:8000/onvif/device_service", "--mac", "02:5c:a1:12:34:56"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert camera.stdout is not None and camera.stdout.readline().strip() == "ready", camera.stderr
            probe = (
                "import asyncio, json;"
                "from camera_ops.onvif.discovery import discover;"
                f"r = asyncio.run(discover(multicast=True, interface='{addr_a}', timeout_s={TIMEOUT_S}));"
                "print(json.dumps([d.to_dict() for d in r.devices]))"
            )
            done = subprocess.run(["ip", "netns", "exec", ns_a, sys.executable, "-c", probe], capture_output=True,
                                  text=True, env=env, timeout=60)
            assert done.returncode == 0, done.stderr
            (device,) = json.loads(done.stdout)
            assert device["address"] == addr_b and device["onvif_port"] == 8000
            assert device["mac"] == "02:5c:a1:12:34:56" and device["warnings"] == []
        finally:
            camera.terminate()
            camera.wait(10)


def test_cli_discover_lists_the_simulated_cameras(tmp_path, monkeypatch) -> None:
    from camera_ops.cli import app
    from camera_ops.settings import reset_settings_cache
    from storage.db import engine_for

    monkeypatch.setenv("CAMERA_OPS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CAMERA_OPS_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    reset_settings_cache()
    engine_for.cache_clear()
    try:
        assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
        with sim_with_discovery([CameraSpec(name="c1"), CameraSpec(name="c2")]) as (fleet, port, address_range):
            result = CliRunner().invoke(app, ["discover", "--range", address_range, "--port", str(port),
                                              "--timeout", str(TIMEOUT_S), "--json"])
            assert result.exit_code == 0, result.output
            data = json.loads(result.output)
            assert {d["device"]["address"] for d in data["devices"]} == {fleet.camera("c1").host, fleet.camera("c2").host}
            assert all(d["registered"] is None for d in data["devices"])
            bad = CliRunner().invoke(app, ["discover", "--range", "10.0.0.0/8", "--port", str(port)])
            assert bad.exit_code == 2 and "range" in bad.output
    finally:
        reset_settings_cache()
        engine_for.cache_clear()


# --- API and web ------------------------------------------------------------------------------------


@pytest.fixture
def app_client(session, settings):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from storage.models import Role
    from tests.factories import make_user

    commune = make_commune(session, hamlets=1)
    make_user(session, Role.admin, [], username="admin")
    make_user(session, Role.auditor, [commune.commune], username="auditor")
    session.commit()

    def client_for(port: int) -> TestClient:
        return TestClient(create_app(settings.model_copy(update={"discovery_port": port})))

    return client_for


@pytest.mark.db
def test_api_discover_lists_devices_with_prefill_and_names_the_bad_field(app_client) -> None:
    from tests.factories import api_login

    with sim_with_discovery([CameraSpec(name="a1"), CameraSpec(name="a2")]) as (fleet, port, address_range):
        client = app_client(port)
        headers = api_login(client, "admin")
        r = client.post("/api/v1/cameras/discover", json={"range": address_range, "timeout_s": TIMEOUT_S},
                        headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        hosts = {d["address"]: d for d in body["devices"]}
        info = fleet.camera("a1")
        assert hosts[info.host]["prefill"]["onvif_port"] == str(info.onvif_port)
        assert hosts[info.host]["registered"] is None and body["rejected"] == []
        bad = client.post("/api/v1/cameras/discover", json={"range": "10.0.0.0/8"}, headers=headers)
        assert bad.status_code == 422 and "range" in bad.text
        nothing = client.post("/api/v1/cameras/discover", json={}, headers=headers)
        assert nothing.status_code == 422 and "range" in nothing.text
        assert client.post("/api/v1/cameras/discover", json={"range": address_range},
                           headers=api_login(client, "auditor")).status_code == 403


@pytest.mark.db
def test_web_discover_shows_results_in_vietnamese_and_links_to_a_prefilled_form(app_client) -> None:
    from tests.factories import web_login

    with sim_with_discovery([CameraSpec(name="w1")]) as (fleet, port, address_range):
        client = app_client(port)
        web_login(client, "admin")
        page = client.get("/cameras/discover")
        assert page.status_code == 200 and "Tìm camera trên mạng" in page.text
        token = __import__("re").search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)
        r = client.post("/cameras/discover", data={"range": address_range, "timeout_s": "2", "csrf_token": token})
        assert r.status_code == 200, r.text
        info = fleet.camera("w1")
        assert "Tìm thấy 1 thiết bị" in r.text and "Chưa đăng ký" in r.text
        link = __import__("re").search(r'href="(/cameras/new\?[^"]+)"', r.text).group(1).replace("&amp;", "&")
        form = client.get(link)
        assert form.status_code == 200 and f'value="{info.host}"' in form.text and f'value="{info.onvif_port}"' in form.text
        bad = client.post("/cameras/discover", data={"range": "nonsense", "csrf_token": token})
        assert bad.status_code == 422 and "range" in bad.text


@pytest.mark.parametrize(("text", "count"), [("192.168.1.10-192.168.1.12", 3), ("192.168.1.10-12", 3),
                                             ("10.8.0.0/30", 2), ("127.21.0.5", 1)])
def test_address_ranges_in_every_form(text: str, count: int) -> None:
    from camera_ops.onvif.discovery import parse_range

    assert len(parse_range(text)) == count


@pytest.mark.parametrize("text", ["", "nonsense", "192.168.1.20-10", "10.0.0.0/8", "8.8.8.8", "192.168.1.300"])
def test_bad_or_forbidden_ranges_name_the_range_field(text: str) -> None:
    from camera_ops.errors import ValidationFailed
    from camera_ops.onvif.discovery import parse_range

    with pytest.raises(ValidationFailed) as info:
        parse_range(text)
    assert info.value.field == "range"
