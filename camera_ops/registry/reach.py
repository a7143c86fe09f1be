"""Reachability as entered: the host and ports a person typed are the ones used.

A camera behind a household router's port-forward or a VPN reports URIs with its private LAN
address (``rtsp://192.168.1.64:554/...``); nothing at the station can reach that. Every URI the
camera reports is rewritten to the entered host:

- ``rtsp://`` → the entered host; the port is the entered ``rtsp_port`` when given (a router that
  forwards outside port 10554 to the camera's 554), else the port the camera reported;
- ``http://`` (snapshot) → the entered host; the port is the entered ``http_port`` when given; else,
  when the camera reported another host (we reach it through a forward), the entered ONVIF port
  (cameras serve snapshots from the web server that serves ONVIF); else the reported port;
- any URI set by hand (``uri_overrides``) is used verbatim instead.

Pure functions; credentials embedded in a URI are never kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from camera_ops.errors import ValidationFailed

DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
URI_FIELDS = ("main_stream_uri", "sub_stream_uri", "snapshot_uri", "replay_uri")


@dataclass(frozen=True, slots=True)
class Reach:
    """How the station reaches one camera."""

    host: str
    onvif_port: int = 80
    rtsp_port: int | None = None
    http_port: int | None = None


def _netloc(host: str, port: int | None) -> str:
    bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return bracketed if port is None else f"{bracketed}:{port}"


def rewrite_uri(uri: str | None, reach: Reach) -> str | None:
    """``uri`` pointed at the entered host and ports (see the module rules); None stays None."""
    if not uri:
        return uri
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return uri  # nothing we know how to point elsewhere
    reported_port = parts.port or DEFAULT_PORTS[scheme]
    same_host = parts.hostname.lower() == reach.host.strip("[]").lower()
    if scheme.startswith("rtsp"):
        port = reach.rtsp_port or reported_port
    elif reach.http_port:
        port = reach.http_port
    else:
        port = reported_port if same_host else reach.onvif_port
    shown_port = None if port == DEFAULT_PORTS[scheme] else port
    return urlunsplit(parts._replace(netloc=_netloc(reach.host, shown_port)))


def apply_reach(uris: Mapping[str, str | None], reach: Reach,
                overrides: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Every URI field rewritten to ``reach``; hand-set overrides win, verbatim."""
    out = {name: rewrite_uri(uris.get(name), reach) for name in URI_FIELDS}
    for name, value in (overrides or {}).items():
        if name in URI_FIELDS and value:
            out[name] = value
    return out


@dataclass(frozen=True, slots=True)
class EnteredUrl:
    """A URL as a person typed it, split into what we store and the credentials it carried."""

    url: str  # without user:password@
    host: str
    port: int
    username: str | None
    password: str | None


def parse_entered_url(value: str, *, field: str, schemes: tuple[str, ...]) -> EnteredUrl:
    """Check a typed ``rtsp://`` / ``http://`` URL; ValidationFailed names ``field``."""
    text = (value or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValidationFailed(f"{text!r} is not a valid URL (port?)", field=field,
                               key="err.url.invalid", params={"value": text}) from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise ValidationFailed(f"the address must start with {' or '.join(s + '://' for s in schemes)}", field=field,
                               key="err.url.scheme", params={"schemes": " / ".join(s + "://" for s in schemes)})
    if not parts.hostname:
        raise ValidationFailed("the address has no host", field=field, key="err.url.no_host")
    if any(c.isspace() for c in text):
        raise ValidationFailed("the address contains spaces", field=field, key="err.url.spaces")
    username = password = None
    if "@" in parts.netloc:
        userinfo, _, hostport = parts.netloc.rpartition("@")
        user, _, pw = userinfo.partition(":")
        username, password = unquote(user) or None, unquote(pw) or None
        parts = parts._replace(netloc=hostport)
    return EnteredUrl(url=urlunsplit(parts), host=parts.hostname or "", port=port or DEFAULT_PORTS[scheme],
                      username=username, password=password)
