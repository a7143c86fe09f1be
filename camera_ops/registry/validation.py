"""Pure input checks for the registry, each raising ValidationFailed naming the field to fix."""

from __future__ import annotations

import ipaddress
import re

from camera_ops.errors import ValidationFailed
from camera_ops.i18n import t

# Vietnam's extent, including the Hoàng Sa and Trường Sa archipelagos (special zones of Đà Nẵng
# and Khánh Hòa): a camera outside this box was mistyped (lat/lon swapped, sign lost, decimals off).
VN_LAT_RANGE = (8.0, 23.5)
VN_LON_RANGE = (102.0, 117.9)

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
# Characters no person types and no report can carry: C0 controls except tab/LF/CR (NUL broke the
# XLSX report; PostgreSQL refuses NUL in text), DEL, C1 controls, lone surrogates (not encodable as
# UTF-8: the database driver fails) and the noncharacters U+FFFE/U+FFFF.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def control_char(value: str) -> str | None:
    """The first forbidden control character in ``value``, or None."""
    match = _CONTROL.search(value)
    return match.group() if match else None


def control_char_message(field: str, char: str, lang: str = "en") -> str:
    return t("api.control_chars", "vi" if lang == "vi" else "en", field=field, code=f"U+{ord(char):04X}")


def check_text(value: str | None, field: str) -> str | None:
    """``value`` unchanged, or ValidationFailed naming ``field`` when it holds a control character."""
    if value is not None and (char := control_char(value)) is not None:
        raise ValidationFailed(control_char_message(field, char), field=field,
                               details={"message_vi": control_char_message(field, char, "vi")},
                               key="api.control_chars", params={"code": f"U+{ord(char):04X}"})
    return value


def check_host(host: str) -> str:
    """An IPv4/IPv6 address or an RFC 1123 host name, without scheme, port or path."""
    host = host.strip()
    if not host:
        raise ValidationFailed("camera host is empty", field="host", key="err.field.required")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if len(host) > 253 or any(c in host for c in "/:@ ?#"):
        raise ValidationFailed(f"{host!r} is not an IP address or host name (no scheme, port or path)", field="host",
                               key="err.camera.host_shape", params={"value": host})
    labels = host.rstrip(".").split(".")
    if not all(_HOST_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise ValidationFailed(f"{host!r} is not an IP address or host name", field="host", key="err.camera.host",
                               params={"value": host})
    return host


def check_port(port: int, *, field: str = "onvif_port") -> int:
    if not 1 <= port <= 65535:
        raise ValidationFailed(f"port {port} is outside 1–65535", field=field, key="err.camera.port",
                               params={"value": port})
    return port


def check_coordinates(latitude: float | None, longitude: float | None) -> None:
    if latitude is None and longitude is None:
        return
    if latitude is None or longitude is None:
        raise ValidationFailed("give both latitude and longitude, or neither", field="latitude",
                               key="err.camera.coordinates_pair")
    if not VN_LAT_RANGE[0] <= latitude <= VN_LAT_RANGE[1]:
        raise ValidationFailed(
            f"latitude {latitude} is outside Vietnam ({VN_LAT_RANGE[0]}–{VN_LAT_RANGE[1]}); swapped with longitude?",
            field="latitude", key="err.camera.latitude",
            params={"value": latitude, "low": VN_LAT_RANGE[0], "high": VN_LAT_RANGE[1]},
        )
    if not VN_LON_RANGE[0] <= longitude <= VN_LON_RANGE[1]:
        raise ValidationFailed(
            f"longitude {longitude} is outside Vietnam ({VN_LON_RANGE[0]}–{VN_LON_RANGE[1]})", field="longitude",
            key="err.camera.longitude", params={"value": longitude, "low": VN_LON_RANGE[0], "high": VN_LON_RANGE[1]},
        )


def check_bearing(bearing: float | None) -> None:
    if bearing is not None and not 0 <= bearing < 360:
        raise ValidationFailed(f"bearing {bearing} must be 0–359 degrees (0 = north)", field="bearing_deg",
                               key="err.camera.bearing", params={"value": bearing})


def normalize_mac(mac: str | None) -> str | None:
    if not mac:
        return None
    digits = re.sub(r"[^0-9a-fA-F]", "", mac).lower()
    if len(digits) != 12:
        return None
    value = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    return value if _MAC.match(value) and value != "00:00:00:00:00:00" else None
