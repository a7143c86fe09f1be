"""Devices found by WS-Discovery, checked against the registry: already registered (by MAC, serial or
endpoint), and the values that pre-fill the registration form."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from camera_ops.i18n import Lang, t
from camera_ops.onvif.discovery import (
    DEFAULT_TIMEOUT_S,
    WSD_PORT,
    DiscoveredDevice,
    DiscoveryResult,
    RejectedReply,
    discover,
    parse_range,
)
from camera_ops.registry.areas import path_in_scope
from camera_ops.registry.validation import normalize_mac
from storage.models import Area, Camera

MATCH_ORDER = ("mac", "serial", "endpoint")  # identity first; an address can change hands


@dataclass(frozen=True, slots=True)
class Registered:
    matched_by: str  # mac, serial or endpoint
    camera_id: int | None  # None when the camera is registered outside the user's areas
    code: str | None


@dataclass(frozen=True, slots=True)
class DiscoveryRow:
    device: DiscoveredDevice
    registered: Registered | None
    prefill: dict[str, str]  # registration form fields

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device.to_dict(),
                "registered": None if self.registered is None else {
                    "matched_by": self.registered.matched_by, "camera_id": self.registered.camera_id,
                    "code": self.registered.code},
                "prefill": self.prefill}


def check_registered(session: Session, devices: Sequence[DiscoveredDevice], *,
                     scope: Sequence[str] | None) -> list[DiscoveryRow]:
    macs = {m for d in devices if (m := normalize_mac(d.mac))}
    hosts = {d.address for d in devices}
    tokens = {tok for d in devices for tok in _serial_tokens(d)}
    conditions = [Camera.host.in_(hosts)]
    if macs:
        conditions.append(Camera.mac.in_(macs))
    if tokens:
        conditions.append(Camera.serial.in_(tokens))
    cameras = session.execute(select(Camera.id, Camera.code, Camera.mac, Camera.serial, Camera.host,
                                     Camera.onvif_port, Area.path).join(Area, Area.id == Camera.area_id)
                              .where(or_(*conditions))).all()
    return [DiscoveryRow(d, _match(d, cameras, scope), _prefill(d)) for d in devices]


def _match(device: DiscoveredDevice, cameras: Sequence[Any], scope: Sequence[str] | None) -> Registered | None:
    mac = normalize_mac(device.mac)
    tokens = set(_serial_tokens(device))
    tests = {
        "mac": lambda c: mac is not None and c.mac == mac,
        "serial": lambda c: c.serial is not None and c.serial in tokens,
        "endpoint": lambda c: c.host == device.address and c.onvif_port == device.onvif_port,
    }
    for how in MATCH_ORDER:
        for cam in cameras:
            if tests[how](cam):
                visible = path_in_scope(cam.path, scope)
                return Registered(how, cam.id if visible else None, cam.code if visible else None)
    return None


def _serial_tokens(device: DiscoveredDevice) -> list[str]:
    """Serial numbers some firmwares put in a scope (``.../serial/XYZ``) or as the endpoint."""
    out = [s.rsplit("/", 1)[-1] for s in device.scopes if "/serial/" in s.lower()]
    return [t for t in out if t]


def _prefill(device: DiscoveredDevice) -> dict[str, str]:
    values = {"host": device.address, "onvif_port": str(device.onvif_port), "kind": "onvif"}
    if device.name:
        values["name"] = device.name
    return values


@dataclass(frozen=True, slots=True)
class DiscoveryReport:
    rows: list[DiscoveryRow]
    rejected: list[RejectedReply]
    probed: int


def find_cameras(
    session: Session, *, range_text: str | None, multicast: bool, scope: Sequence[str] | None,
    timeout_s: float = DEFAULT_TIMEOUT_S, port: int = WSD_PORT, interface: str | None = None,
) -> DiscoveryReport:
    """Probe, wait ``timeout_s``, and check every answer against the registry (blocking: call it from
    a worker thread or the CLI). Raises ValidationFailed (field ``range`` / ``timeout_s``)."""
    targets = parse_range(range_text) if range_text and range_text.strip() else []
    result: DiscoveryResult = asyncio.run(discover(targets=targets, multicast=multicast, port=port,
                                                   timeout_s=timeout_s, interface=interface))
    devices = sorted(result.devices, key=lambda d: tuple(int(x) for x in d.address.split(".")))
    return DiscoveryReport(check_registered(session, devices, scope=scope), result.rejected, result.probed)


def rejected_message(reply: RejectedReply, lang: Lang) -> str:
    return t(f"discover.rejected.{reply.code}", lang, source=reply.source)
