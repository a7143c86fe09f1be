"""ONVIF through onvif-zeep-async (an independent client) and raw SOAP."""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import zeep.exceptions
from onvif import ONVIFCamera

from camera_ops.sim.camera import SimCameraInfo
from camera_ops.sim.testing import FleetHandle

SOAP_TIMEOUT_S = 5.0
STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


def onvif_camera(cam: SimCameraInfo, password: str | None = None, *, adjust_time: bool = False) -> ONVIFCamera:
    return ONVIFCamera(cam.host, cam.onvif_port, cam.username, password or cam.password, adjust_time=adjust_time)


async def test_zeep_client_reads_identity_profiles_uris_and_snapshot(fleet: FleetHandle) -> None:
    for name in ("hik", "dahua", "generic"):
        info = fleet.camera(name)
        cam = onvif_camera(info)
        try:
            await cam.update_xaddrs()
            device = await cam.create_devicemgmt_service()
            identity = await device.GetDeviceInformation()
            assert (identity.Manufacturer, identity.SerialNumber, identity.Model) == (info.manufacturer, info.serial, info.model)
            interfaces = await device.GetNetworkInterfaces()
            assert interfaces[0].Info.HwAddress == info.mac
            assert any("onvif://www.onvif.org/name/" in s.ScopeItem for s in await device.GetScopes())
            media = await cam.create_media_service()
            profiles = await media.GetProfiles()
            sizes = [(p.VideoEncoderConfiguration.Resolution.Width, p.VideoEncoderConfiguration.Resolution.Height) for p in profiles]
            assert sizes == [(640, 360), (320, 180)]
            main = await media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": profiles[0].token})
            sub = await media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": profiles[1].token})
            assert (main.Uri, sub.Uri) == (info.rtsp_main_url, info.rtsp_sub_url)
            snapshot_uri = await media.GetSnapshotUri({"ProfileToken": profiles[0].token})
            assert snapshot_uri.Uri == info.snapshot_url
            jpeg = await cam.get_snapshot(profiles[0].token, timeout=SOAP_TIMEOUT_S)
            assert jpeg is not None and jpeg[:2] == b"\xff\xd8"
        finally:
            await cam.close()


async def test_profile_g_search_and_replay_uri(fleet: FleetHandle) -> None:
    info = fleet.camera("dahua")
    cam = onvif_camera(info)
    try:
        await cam.update_xaddrs()
        search = await cam.create_search_service()
        summary = await search.GetRecordingSummary()
        assert summary.NumberRecordings == 1
        hours = (summary.DataUntil - summary.DataFrom).total_seconds() / 3600
        assert abs(hours - info.recording_hours) < 0.01
        token = await search.FindRecordings({"Scope": {}, "KeepAliveTime": "PT10S"})
        results = await search.GetRecordingSearchResults({"SearchToken": token, "WaitTime": "PT1S"})
        assert results.SearchState == "Completed"
        recording = results.RecordingInformation[0]
        assert recording.Track[0].TrackType == "Video"
        await search.EndSearch({"SearchToken": token})
        replay = await cam.create_replay_service()
        uri = await replay.GetReplayUri({"StreamSetup": STREAM_SETUP, "RecordingToken": recording.RecordingToken})
        assert uri == info.replay_url
    finally:
        await cam.close()


async def test_camera_without_profile_g_lists_no_search_service(fleet: FleetHandle) -> None:
    cam = onvif_camera(fleet.camera("hik"))
    try:
        await cam.update_xaddrs()
        assert "http://www.onvif.org/ver10/search/wsdl" not in cam.xaddrs
    finally:
        await cam.close()


async def test_wrong_password_gets_sender_not_authorized_fault(fleet: FleetHandle) -> None:
    cam = onvif_camera(fleet.camera("generic"), "wrong")
    try:
        device = await cam.create_devicemgmt_service()
        await device.GetSystemDateAndTime()  # open to everyone
        with pytest.raises(zeep.exceptions.Fault) as caught:
            await device.GetDeviceInformation()
        assert "NotAuthorized" in str(caught.value.subcodes[0])
    finally:
        await cam.close()


async def test_clock_skew_shows_in_system_time_and_breaks_unadjusted_wsse(fleet: FleetHandle) -> None:
    info = fleet.camera("spare1")
    fleet.set_faults("spare1", clock_skew_s=120)
    try:
        cam = onvif_camera(info)
        try:
            device = await cam.create_devicemgmt_service()
            reply = await device.GetSystemDateAndTime()
            u = reply.UTCDateTime
            camera_time = datetime(u.Date.Year, u.Date.Month, u.Date.Day, u.Time.Hour, u.Time.Minute, u.Time.Second, tzinfo=timezone.utc)
            assert abs((camera_time - datetime.now(timezone.utc)).total_seconds() - 120) < 3
            with pytest.raises(zeep.exceptions.Fault):
                await device.GetDeviceInformation()
        finally:
            await cam.close()
        adjusted = onvif_camera(info, adjust_time=True)
        try:
            await adjusted.update_xaddrs()
            device = await adjusted.create_devicemgmt_service()
            assert (await device.GetDeviceInformation()).SerialNumber == info.serial
        finally:
            await adjusted.close()
    finally:
        fleet.clear_faults("spare1")


def _soap(operation: str, header: str = "") -> str:
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
        f"<s:Header>{header}</s:Header><s:Body><tds:{operation}/></s:Body></s:Envelope>"
    )


def _wsse(username: str, password: str, created: datetime) -> str:
    nonce = os.urandom(16)
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + stamp.encode() + password.encode()).digest()).decode()
    return (
        '<Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
        f"<UsernameToken><Username>{username}</Username>"
        '<Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">'
        f"{digest}</Password><Nonce>{base64.b64encode(nonce).decode()}</Nonce>"
        f'<Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">{stamp}</Created>'
        "</UsernameToken></Security>"
    )


def test_raw_soap_auth_rules(fleet: FleetHandle) -> None:
    info = fleet.camera("generic")
    headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
    now = datetime.now(timezone.utc)
    with httpx.Client(timeout=SOAP_TIMEOUT_S, headers=headers) as client:
        post = lambda body, **kw: client.post(info.device_url, content=body, **kw)  # noqa: E731
        assert post(_soap("GetSystemDateAndTime")).status_code == 200
        unauthenticated = post(_soap("GetDeviceInformation"))
        assert unauthenticated.status_code == 401 and "Digest" in unauthenticated.headers["www-authenticate"]
        assert b"ter:NotAuthorized" in unauthenticated.content
        assert post(_soap("GetDeviceInformation"), auth=httpx.DigestAuth(info.username, info.password)).status_code == 200
        assert post(_soap("GetDeviceInformation", _wsse(info.username, info.password, now))).status_code == 200
        stale = post(_soap("GetDeviceInformation", _wsse(info.username, info.password, now - timedelta(seconds=30))))
        assert stale.status_code == 400 and b"ter:NotAuthorized" in stale.content
        assert post(_soap("GetDeviceInformation", _wsse(info.username, "nope", now))).status_code == 400
        assert b"ActionNotSupported" in post(_soap("SystemReboot", _wsse(info.username, info.password, now))).content


def test_rtsp_only_camera_http_port_is_not_onvif(fleet: FleetHandle) -> None:
    info = fleet.camera("cheap")
    assert not info.onvif and not info.profile_g
    reply = httpx.post(info.device_url, content=_soap("GetSystemDateAndTime"), timeout=SOAP_TIMEOUT_S)
    assert reply.status_code == 404
