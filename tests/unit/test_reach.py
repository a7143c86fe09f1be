"""Reachability as entered: URI rewriting rules (pure), one row per case."""

from __future__ import annotations

import pytest

from camera_ops.errors import ValidationFailed
from camera_ops.registry.reach import Reach, apply_reach, parse_entered_url, rewrite_uri

FORWARD = Reach("113.160.1.2", onvif_port=8080, rtsp_port=10554)
NO_PORTS = Reach("113.160.1.2", onvif_port=8080)
LAN = Reach("192.168.1.64", onvif_port=80)


@pytest.mark.parametrize(("uri", "reach", "expected"), [
    # RTSP: the entered host; the entered RTSP port, else the port the camera reported
    ("rtsp://192.168.1.64:554/Streaming/Channels/101", FORWARD, "rtsp://113.160.1.2:10554/Streaming/Channels/101"),
    ("rtsp://192.168.1.64/Streaming/Channels/101", FORWARD, "rtsp://113.160.1.2:10554/Streaming/Channels/101"),
    ("rtsp://192.168.1.64:554/live?channel=1&subtype=0", NO_PORTS, "rtsp://113.160.1.2/live?channel=1&subtype=0"),
    ("rtsp://192.168.1.64:8554/s", NO_PORTS, "rtsp://113.160.1.2:8554/s"),
    # HTTP: the entered HTTP port; else through a forward the entered ONVIF port; same host keeps its port
    ("http://192.168.1.64/onvif/snapshot", NO_PORTS, "http://113.160.1.2:8080/onvif/snapshot"),
    ("http://192.168.1.64:80/cgi-bin/snapshot.cgi?channel=1", Reach("113.160.1.2", 8080, http_port=10080),
     "http://113.160.1.2:10080/cgi-bin/snapshot.cgi?channel=1"),
    ("http://192.168.1.64:80/webcapture.jpg", Reach("192.168.1.64", onvif_port=8899),
     "http://192.168.1.64/webcapture.jpg"),
    ("http://192.168.1.64:8000/x", LAN, "http://192.168.1.64:8000/x"),
    # IPv6 hosts are bracketed; unknown schemes and None are left alone
    ("rtsp://192.168.1.64:554/s", Reach("2001:db8::5"), "rtsp://[2001:db8::5]/s"),
    ("onvif://x/y", FORWARD, "onvif://x/y"),
    (None, FORWARD, None),
])
def test_reported_uris_are_rewritten_to_the_entered_host_and_ports(uri, reach, expected):
    assert rewrite_uri(uri, reach) == expected


def test_uris_set_by_hand_win_verbatim():
    uris = {"main_stream_uri": "rtsp://10.0.0.5/a", "snapshot_uri": "http://10.0.0.5/s.jpg"}
    out = apply_reach(uris, NO_PORTS, {"snapshot_uri": "http://113.160.1.2:9000/other.jpg"})
    assert out["main_stream_uri"] == "rtsp://113.160.1.2/a"
    assert out["snapshot_uri"] == "http://113.160.1.2:9000/other.jpg"
    assert out["replay_uri"] is None


@pytest.mark.parametrize(("text", "error"), [
    ("", "must start with"), ("http://x/y", "must start with"), ("rtsp://", "no host"),
    ("rtsp://host:99999/x", "port"), ("rtsp://host/a b", "spaces"),
])
def test_a_typed_url_that_cannot_be_used_names_its_field(text, error):
    with pytest.raises(ValidationFailed) as err:
        parse_entered_url(text, field="stream_url", schemes=("rtsp",))
    assert err.value.field == "stream_url" and error in err.value.message


def test_credentials_typed_into_a_url_are_taken_out():
    entered = parse_entered_url("rtsp://admin:p%40ss@10.0.0.5:554/live", field="stream_url", schemes=("rtsp",))
    assert entered.url == "rtsp://10.0.0.5:554/live" and (entered.username, entered.password) == ("admin", "p@ss")
    assert (entered.host, entered.port) == ("10.0.0.5", 554)
