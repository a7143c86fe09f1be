"""Camera descriptions, identity and fault values (pure, no sockets)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from camera_ops.sim import CameraSpec, Faults, load_fleet_file
from camera_ops.sim.fleet import allocate_addresses
from camera_ops.sim.spec import default_specs


def test_identity_is_stable_per_name_and_differs_between_names() -> None:
    a, again, b = CameraSpec("gate-1"), CameraSpec("gate-1", vendor="generic"), CameraSpec("gate-2")
    assert (a.mac, a.serial) == (again.mac, again.serial)
    assert a.mac != b.mac and a.serial != b.serial


def test_vendor_mac_prefixes_look_like_the_vendor() -> None:
    assert CameraSpec("x", vendor="hikvision").mac.startswith("44:19:b6")
    assert CameraSpec("x", vendor="dahua").mac.startswith("3c:ef:8c")


def test_profile_g_defaults_per_vendor_and_never_without_onvif() -> None:
    assert CameraSpec("x", vendor="dahua").has_profile_g
    assert not CameraSpec("x", vendor="hikvision").has_profile_g
    assert not CameraSpec("x", vendor="rtsp_only", profile_g=True).has_profile_g


def test_faults_replace_parses_and_rejects_unknown_names() -> None:
    faults = Faults().replace(recording_gap=["2026-01-01T10:00:00Z", "2026-01-01T10:05:00Z"], flapping=[2, 3])
    assert faults.recording_gap == (datetime(2026, 1, 1, 10, tzinfo=timezone.utc), datetime(2026, 1, 1, 10, 5, tzinfo=timezone.utc))
    assert faults.flapping == (2.0, 3.0)
    with pytest.raises(TypeError):
        Faults().replace(exploded=True)
    with pytest.raises(ValueError):
        Faults().replace(recording_gap=["2026-01-01T10:05:00Z", "2026-01-01T10:00:00Z"])


def test_picture_fault_precedence() -> None:
    assert Faults(black=True, covered=True).picture_fault == "black"
    assert Faults(defocused=True, frozen=True).picture_fault == "defocused"
    assert Faults().picture_fault is None


def test_default_specs_put_four_cameras_in_a_hamlet() -> None:
    specs = default_specs(9)
    assert [s.group for s in specs].count("hamlet-01") == 4
    assert {s.vendor for s in specs} == {"hikvision", "dahua", "generic"}


def test_load_fleet_file_yaml_merges_defaults_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "defaults: {vendor: dahua, password: pw, faults: {latency_s: 0.1}}\n"
        "count: 2\n"
        "cameras:\n"
        "  - {name: gate, group: hamlet-a, vendor: hikvision, main_size: 1080p, faults: {clock_skew_s: 120}}\n"
    )
    specs = load_fleet_file(path)
    assert [s.name for s in specs] == ["cam001", "cam002", "gate"]
    gate = specs[-1]
    assert gate.vendor == "hikvision" and gate.password == "pw" and gate.main_size == (1920, 1080)
    assert gate.faults.latency_s == 0.1 and gate.faults.clock_skew_s == 120


def test_load_fleet_file_json_rejects_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps({"cameras": [{"name": "a", "colour": "red"}]}))
    with pytest.raises(ValueError, match="colour"):
        load_fleet_file(path)


def test_addresses_skip_network_and_broadcast_looking_hosts_and_stay_in_loopback() -> None:
    assert allocate_addresses("127.20.0.254", 3) == ["127.20.0.254", "127.20.1.1", "127.20.1.2"]
    with pytest.raises(ValueError):
        allocate_addresses("10.0.0.1", 1)


def test_example_fleet_file_loads() -> None:
    specs = load_fleet_file(Path(__file__).parents[2] / "camera_ops" / "sim" / "example_fleet.yaml")
    assert len(specs) == 9 and {s.group for s in specs} == {"hamlet-dong", "hamlet-tay", "hamlet-nam"}
    assert next(s for s in specs if s.name == "ap-nam-field").faults.offline


def test_the_playback_clock_is_the_vendors_unless_the_spec_says_otherwise() -> None:
    from camera_ops.sim.spec import SIM_LOCAL_TZ

    assert CameraSpec("d", vendor="dahua").playback_zone == SIM_LOCAL_TZ  # Dahua firmware: local time
    assert CameraSpec("h", vendor="hikvision").playback_zone is None  # UTC (the Z is honoured)
    assert CameraSpec("n", vendor="nvr").playback_zone is None
    assert CameraSpec("d", vendor="dahua", playback_local_tz=None).playback_zone is None  # firmware on UTC
    assert CameraSpec("h", vendor="hikvision", playback_local_tz="Asia/Bangkok").playback_zone == "Asia/Bangkok"
