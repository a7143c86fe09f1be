"""Camera descriptions: what a simulated camera is (vendor personality, identity, capabilities).

Identity (MAC, serial) is derived from the camera name with a hash, so the same name is the same
device in every run, as the registry (which identifies cameras by MAC) expects.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from camera_ops.sim.faults import Faults

Vendor = Literal["hikvision", "dahua", "generic", "rtsp_only", "nvr"]
VENDORS: tuple[Vendor, ...] = ("hikvision", "dahua", "generic", "rtsp_only", "nvr")
RECORDER_CHANNELS = 4  # a small donated NVR: four cameras on one recorder

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "Sim-12345"
DEFAULT_RECORDING_HOURS = 24.0  # a cheap 64 GB SD card holds about a day of 360p-1080p footage
DEFAULT_FPS = 12  # 90 kHz / 12 = 7500 ticks per frame, exact; 10-15 fps is typical for these cameras
MAIN_SIZE = (640, 360)
SUB_SIZE = (320, 180)
FULL_HD = (1920, 1080)
CAMERAS_PER_GROUP = 4  # field reports: about four cameras per hamlet
SIM_LOCAL_TZ = "Asia/Ho_Chi_Minh"  # the zone a simulated camera's local clock is set to
VENDOR_CLOCK = "vendor"  # playback_local_tz default: the personality's own playback clock


@dataclass(frozen=True)
class Personality:
    """What differs between vendors: names, URL shapes, realm, defaults."""

    manufacturer: str
    model: str
    firmware: str
    mac_prefix: str
    serial_prefix: str
    server_header: str
    main_path: str
    sub_path: str
    snapshot_path: str
    playback_template: str | None  # path+query, formatted with start/end datetimes
    profile_g_default: bool
    profile_tokens: tuple[str, str]
    onvif: bool = True
    # playback URL and recording search times in the camera's local time (Dahua firmware), else UTC
    playback_local: bool = False


PERSONALITIES: dict[str, Personality] = {
    "hikvision": Personality(
        manufacturer="HIKVISION",
        model="DS-2CD1023G0E-I",
        firmware="V5.6.5 build 200316",
        mac_prefix="44:19:b6",
        serial_prefix="DS-2CD1023G0E-I",
        server_header="Hikvision-Webs",
        main_path="/Streaming/Channels/101",
        sub_path="/Streaming/Channels/102",
        snapshot_path="/ISAPI/Streaming/channels/101/picture",
        playback_template=(
            "/Streaming/tracks/101?starttime={start:%Y%m%dT%H%M%SZ}&endtime={end:%Y%m%dT%H%M%SZ}"
        ),
        profile_g_default=False,
        profile_tokens=("Profile_1", "Profile_2"),
    ),
    "dahua": Personality(
        manufacturer="Dahua",
        model="IPC-HFW1230S",
        firmware="2.800.0000000.16.R",
        mac_prefix="3c:ef:8c",
        serial_prefix="6J0",
        server_header="Rtsp Server/3.0",
        main_path="/cam/realmonitor?channel=1&subtype=0",
        sub_path="/cam/realmonitor?channel=1&subtype=1",
        snapshot_path="/cgi-bin/snapshot.cgi?channel=1",
        playback_template=(
            "/cam/playback?channel=1&starttime={start:%Y_%m_%d_%H_%M_%S}&endtime={end:%Y_%m_%d_%H_%M_%S}"
        ),
        profile_g_default=True,
        profile_tokens=("MediaProfile00000", "MediaProfile00001"),
        playback_local=True,  # real Dahua firmware: starttime=YYYY_MM_DD_HH_MM_SS and mediaFileFind in local time
    ),
    "generic": Personality(
        manufacturer="Generic",
        model="IPC-G360",
        firmware="1.4.2",
        mac_prefix="02:5c:a1",  # locally administered
        serial_prefix="GEN",
        server_header="camera-ops-sim RTSP/1.0",
        main_path="/stream1",
        sub_path="/stream2",
        snapshot_path="/onvif/snapshot?profile=Profile_1",
        playback_template=None,
        profile_g_default=True,
        profile_tokens=("Profile_1", "Profile_2"),
    ),
    "nvr": Personality(  # a Hikvision-style network video recorder: N channels, one device
        manufacturer="HIKVISION",
        model="DS-7604NI-K1",
        firmware="V4.30.085 build 200916",
        mac_prefix="c0:56:e3",
        serial_prefix="DS-7604NI-K1",
        server_header="Hikvision-Webs",
        main_path="/Streaming/Channels/101",
        sub_path="/Streaming/Channels/102",
        snapshot_path="/ISAPI/Streaming/channels/101/picture",
        playback_template=(
            "/Streaming/tracks/101?starttime={start:%Y%m%dT%H%M%SZ}&endtime={end:%Y%m%dT%H%M%SZ}"
        ),
        profile_g_default=False,
        profile_tokens=("Profile_101", "Profile_102"),
    ),
    "rtsp_only": Personality(
        manufacturer="NoName",
        model="IPC-R1",
        firmware="1.0.0",
        mac_prefix="02:7e:00",
        serial_prefix="NN",
        server_header="RTSP Server",
        main_path="/live/main",
        sub_path="/live/sub",
        snapshot_path="/snapshot.jpg",
        playback_template=None,
        profile_g_default=False,
        profile_tokens=("main", "sub"),
        onvif=False,
    ),
}


@dataclass(frozen=True)
class CameraSpec:
    """One camera of a fleet. Everything but ``name`` has a sensible default."""

    name: str
    group: str = "default"
    vendor: Vendor = "generic"
    username: str = DEFAULT_USERNAME
    password: str = DEFAULT_PASSWORD
    profile_g: bool | None = None  # None: the vendor's default
    recording_hours: float = DEFAULT_RECORDING_HOURS
    main_size: tuple[int, int] = MAIN_SIZE
    sub_size: tuple[int, int] = SUB_SIZE
    fps: int = DEFAULT_FPS
    host: str | None = None  # None: the fleet allocates one
    auth: Literal["digest", "basic"] = "digest"  # RTSP and snapshot authentication scheme
    channels: int = RECORDER_CHANNELS  # recorder channels (the nvr personality only)
    oem_brand: str | None = None  # an OEM camera reporting another brand name (same firmware, same URLs)
    # vendor playback URLs and recording search in local time of this zone; None: UTC; "vendor" (the
    # default): as the personality's firmware does — Dahua local time (SIM_LOCAL_TZ), the others UTC
    playback_local_tz: str | None = VENDOR_CLOCK
    lan_address: str | None = None  # behind a router: every URI the camera reports names this address
    # (and its own ports 80/554), as a camera reached through a port-forward or VPN does
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        if self.vendor not in PERSONALITIES:
            raise ValueError(f"unknown vendor {self.vendor!r}; one of {', '.join(VENDORS)}")
        if not 1 <= self.channels <= 64:
            raise ValueError("a recorder has 1 to 64 channels")
        if self.auth not in ("digest", "basic"):
            raise ValueError(f"unknown auth {self.auth!r}; digest or basic")
        for size in (self.main_size, self.sub_size):
            if size[0] % 2 or size[1] % 2:
                raise ValueError("frame sizes must be even (4:2:0 video)")

    @property
    def personality(self) -> Personality:
        base = PERSONALITIES[self.vendor]
        return dataclasses.replace(base, manufacturer=self.oem_brand) if self.oem_brand else base

    @property
    def playback_zone(self) -> str | None:
        """The zone the camera's playback and recording search times are in; None: UTC."""
        if self.playback_local_tz == VENDOR_CLOCK:
            return SIM_LOCAL_TZ if self.personality.playback_local else None
        return self.playback_local_tz

    @property
    def channel_count(self) -> int:
        return self.channels if self.vendor == "nvr" else 1

    @property
    def has_profile_g(self) -> bool:
        if not self.personality.onvif:
            return False
        return self.personality.profile_g_default if self.profile_g is None else self.profile_g

    @property
    def mac(self) -> str:
        tail = _digest(self.name, "mac")[:3]
        return self.personality.mac_prefix + ":" + ":".join(f"{b:02x}" for b in tail)

    @property
    def serial(self) -> str:
        number = int.from_bytes(_digest(self.name, "serial")[:5], "big") % 10**10
        return f"{self.personality.serial_prefix}{number:010d}"

    @property
    def scene_seed(self) -> int:
        """Seed for this camera's moving objects and choice of street."""
        return int.from_bytes(_digest(self.name, "scene")[:4], "big")


def _digest(name: str, purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{name}".encode()).digest()


def default_specs(count: int, *, prefix: str = "cam") -> list[CameraSpec]:
    """``count`` cameras cycling through the ONVIF personalities, four to a hamlet."""
    cycle: tuple[Vendor, ...] = ("hikvision", "dahua", "generic")
    width = max(3, len(str(count)))
    return [
        CameraSpec(
            name=f"{prefix}{i + 1:0{width}d}",
            group=f"hamlet-{i // CAMERAS_PER_GROUP + 1:02d}",
            vendor=cycle[i % len(cycle)],
        )
        for i in range(count)
    ]


def spec_from_dict(data: dict[str, Any], defaults: dict[str, Any] | None = None) -> CameraSpec:
    """Build a spec from plain data (a fleet file entry merged over the file's defaults)."""
    merged: dict[str, Any] = {**(defaults or {}), **data}
    faults = {**((defaults or {}).get("faults") or {}), **(data.get("faults") or {})}
    merged["faults"] = Faults.from_dict(faults)
    for key in ("main_size", "sub_size"):
        if key in merged:
            merged[key] = parse_size(merged[key])
    known = {f.name for f in dataclasses.fields(CameraSpec)}
    unknown = set(merged) - known
    if unknown:
        raise ValueError(f"unknown camera field(s): {', '.join(sorted(unknown))}")
    return CameraSpec(**merged)


def parse_size(value: Any) -> tuple[int, int]:
    if isinstance(value, str):
        named = {"360p": MAIN_SIZE, "180p": SUB_SIZE, "1080p": FULL_HD}
        if value in named:
            return named[value]
        width, height = value.lower().split("x")
        return (int(width), int(height))
    width, height = value
    return (int(width), int(height))


def load_fleet_file(path: Path | str) -> list[CameraSpec]:
    """Read a YAML or JSON fleet description.

    Shape::

        defaults: {vendor: generic, password: secret, recording_hours: 12, faults: {}}
        count: 8            # optional: that many generated cameras (cam001...) before the list
        cameras:
          - {name: gate-1, group: hamlet-a, vendor: hikvision, faults: {clock_skew_s: 120}}
    """
    text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("a fleet file is a mapping with 'cameras' (and optional 'defaults', 'count')")
    defaults = data.get("defaults") or {}
    specs: list[CameraSpec] = []
    for generated in default_specs(int(data.get("count") or 0)):
        entry = {"name": generated.name, "group": generated.group, "vendor": generated.vendor}
        specs.append(spec_from_dict(entry, defaults))
    specs.extend(spec_from_dict(entry, defaults) for entry in data.get("cameras") or [])
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("camera names must be unique in a fleet")
    return specs
