"""ONVIF SOAP 1.2 services of a simulated camera: device, media, search and replay.

Responses are written in schema order (onvif.xsd / the service WSDLs) so zeep-based clients parse
them without special cases. Authentication follows ONVIF Core: a few operations are open
(PRE_AUTH); the rest need a WS-Security UsernameToken (PasswordDigest or PasswordText, ``Created``
within :data:`WSSE_MAX_CLOCK_DIFF_S` of the camera clock) or HTTP digest.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

from lxml import etree

from camera_ops.sim.auth import WSSE_MAX_CLOCK_DIFF_S, check_digest, digest_challenge, wsse_password_digest
from camera_ops.sim.camera import RECORDING_TOKEN, REPLAY_PATH, SimCamera

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "tt": "http://www.onvif.org/ver10/schema",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tse": "http://www.onvif.org/ver10/search/wsdl",
    "trp": "http://www.onvif.org/ver10/replay/wsdl",
    "ter": "http://www.onvif.org/ver10/error",
}
SERVICE_PATHS = {
    "/onvif/device_service": "device",
    "/onvif/media_service": "media",
    "/onvif/search_service": "search",
    "/onvif/replay_service": "replay",
}
PRE_AUTH = {"GetSystemDateAndTime", "GetCapabilities", "GetServices", "GetServiceCapabilities"}
ONVIF_VERSION = (2, 60)  # ONVIF Core 2.6: what the WSDLs shipped with onvif-zeep-async describe
SEARCH_KEEPALIVE_S = 60.0  # a FindRecordings session lives this long without use
MAX_SEARCH_SESSIONS = 16  # per camera; older ones are ended (a real NVR has a similar limit)
LOCAL_TZ = "ICT-7"  # POSIX TZ of Vietnam (UTC+7), what cameras installed there are set to
LOCAL_OFFSET = timedelta(hours=7)
_ENVELOPE_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope '
    + " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items())
    + "><s:Body>"
)
_ENVELOPE_CLOSE = "</s:Body></s:Envelope>"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@dataclass(frozen=True)
class SoapReply:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def envelope(inner: str) -> bytes:
    return (_ENVELOPE_OPEN + inner + _ENVELOPE_CLOSE).encode()


def fault(code: str, subcode: str, reason: str) -> bytes:
    return envelope(
        f"<s:Fault><s:Code><s:Value>s:{code}</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode>"
        f'</s:Code><s:Reason><s:Text xml:lang="en">{escape(reason)}</s:Text></s:Reason></s:Fault>'
    )


def not_authorized(camera: SimCamera, *, status: int) -> SoapReply:
    """What cameras send for missing/wrong credentials: Sender / ter:NotAuthorized."""
    headers: tuple[tuple[str, str], ...] = ()
    if status == 401:
        headers = (("WWW-Authenticate", digest_challenge(camera.realm, qop=True)),)
    return SoapReply(status, fault("Sender", "ter:NotAuthorized", "Sender not Authorized"), headers)


def handle_soap(camera: SimCamera, path: str, body: bytes, authorization: str | None) -> SoapReply:
    service = SERVICE_PATHS.get(path)
    if service is None or (service in ("search", "replay") and not camera.spec.has_profile_g):
        return SoapReply(404, b"")
    try:
        doc = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError:
        return SoapReply(400, fault("Sender", "ter:WellFormed", "Malformed XML"))
    body_el = doc.find(f"{{{NS['s']}}}Body")
    if body_el is None or len(body_el) == 0:
        return SoapReply(400, fault("Sender", "ter:InvalidArgs", "No SOAP body"))
    op_el = body_el[0]
    operation = etree.QName(op_el).localname
    if operation not in PRE_AUTH or (operation == "GetSystemDateAndTime" and camera.faults.time_needs_auth):
        verdict = _authenticate(camera, doc, authorization, soap_only=operation == "GetSystemDateAndTime")
        if verdict is not None:
            return verdict
    handler = HANDLERS.get((service, operation))
    if handler is None:
        return SoapReply(400, fault("Receiver", "ter:ActionNotSupported", f"{operation} is not supported"))
    try:
        return SoapReply(200, envelope(handler(camera, op_el)))
    except _InvalidArgs as exc:
        return SoapReply(400, fault("Sender", "ter:InvalidArgVal", str(exc)))


class _InvalidArgs(Exception):
    pass


# --- authentication ------------------------------------------------------------------------------


def _authenticate(camera: SimCamera, doc: etree._Element, authorization: str | None, *,
                  soap_only: bool = False) -> SoapReply | None:
    """None when the request may proceed, else the fault to send (``soap_only``: a SOAP fault,
    never an HTTP challenge, as cheap cameras answer GetSystemDateAndTime)."""
    token = doc.find(".//{*}Security/{*}UsernameToken")
    if token is not None or soap_only:
        return None if token is not None and _wsse_ok(camera, token) else not_authorized(camera, status=400)
    if authorization:
        result = check_digest(authorization, method="POST", realm=camera.realm,
                              username=camera.spec.username, password=camera.password)
        if result.ok:
            return None
    return not_authorized(camera, status=401)


def _wsse_ok(camera: SimCamera, token: etree._Element) -> bool:
    username = token.findtext("{*}Username") or ""
    password_el = token.find("{*}Password")
    created = token.findtext("{*}Created") or ""
    if username != camera.spec.username or password_el is None:
        return False
    supplied = password_el.text or ""
    if password_el.get("Type", "").endswith("#PasswordText"):
        return secrets.compare_digest(supplied, camera.password)
    try:
        nonce = base64.b64decode(token.findtext("{*}Nonce") or "")
        created_at = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
    except (ValueError, binascii.Error):
        return False
    if abs(created_at - camera.now()) > WSSE_MAX_CLOCK_DIFF_S:
        return False  # replay protection: real cameras refuse a stale or future Created
    return secrets.compare_digest(supplied, wsse_password_digest(nonce, created, camera.password))


# --- device service ------------------------------------------------------------------------------


def _date_time(moment: datetime) -> str:
    return (
        f"<tt:Time><tt:Hour>{moment.hour}</tt:Hour><tt:Minute>{moment.minute}</tt:Minute>"
        f"<tt:Second>{moment.second}</tt:Second></tt:Time><tt:Date><tt:Year>{moment.year}</tt:Year>"
        f"<tt:Month>{moment.month}</tt:Month><tt:Day>{moment.day}</tt:Day></tt:Date>"
    )


def get_system_date_and_time(camera: SimCamera, _: etree._Element) -> str:
    utc = camera.now_datetime()
    return (
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
        f"<tt:TimeZone><tt:TZ>{LOCAL_TZ}</tt:TZ></tt:TimeZone>"
        f"<tt:UTCDateTime>{_date_time(utc)}</tt:UTCDateTime>"
        f"<tt:LocalDateTime>{_date_time(utc + LOCAL_OFFSET)}</tt:LocalDateTime>"
        "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def get_device_information(camera: SimCamera, _: etree._Element) -> str:
    p, spec = camera.personality, camera.spec
    return (
        f"<tds:GetDeviceInformationResponse><tds:Manufacturer>{escape(p.manufacturer)}</tds:Manufacturer>"
        f"<tds:Model>{escape(p.model)}</tds:Model><tds:FirmwareVersion>{escape(p.firmware)}</tds:FirmwareVersion>"
        f"<tds:SerialNumber>{spec.serial}</tds:SerialNumber><tds:HardwareId>{escape(p.model)}-HW</tds:HardwareId>"
        "</tds:GetDeviceInformationResponse>"
    )


def _xaddr(camera: SimCamera, service: str) -> str:
    return camera.as_reported(f"{camera.http_base()}/onvif/{service}_service")


def _services(camera: SimCamera) -> list[tuple[str, str]]:
    items = [(NS["tds"], "device"), (NS["trt"], "media")]
    if camera.spec.has_profile_g:
        items += [(NS["tse"], "search"), (NS["trp"], "replay")]
    return items


def get_services(camera: SimCamera, _: etree._Element) -> str:
    major, minor = ONVIF_VERSION
    parts = [
        f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{_xaddr(camera, name)}</tds:XAddr>"
        f"<tds:Version><tt:Major>{major}</tt:Major><tt:Minor>{minor}</tt:Minor></tds:Version></tds:Service>"
        for ns, name in _services(camera)
    ]
    return "<tds:GetServicesResponse>" + "".join(parts) + "</tds:GetServicesResponse>"


def _flags(*pairs: tuple[str, bool]) -> str:
    return "".join(f"<tt:{name}>{str(value).lower()}</tt:{name}>" for name, value in pairs)


def get_capabilities(camera: SimCamera, op: etree._Element) -> str:
    categories = {c.text for c in op.findall("{*}Category")} or {"All"}
    want = lambda name: "All" in categories or name in categories  # noqa: E731
    major, minor = ONVIF_VERSION
    parts = []
    if want("Device"):
        parts.append(
            f"<tt:Device><tt:XAddr>{_xaddr(camera, 'device')}</tt:XAddr><tt:Network>"
            + _flags(("IPFilter", False), ("ZeroConfiguration", False), ("IPVersion6", False), ("DynDNS", False))
            + "</tt:Network><tt:System>"
            + _flags(("DiscoveryResolve", False), ("DiscoveryBye", False), ("RemoteDiscovery", False),
                     ("SystemBackup", False), ("SystemLogging", False), ("FirmwareUpgrade", False))
            + f"<tt:SupportedVersions><tt:Major>{major}</tt:Major><tt:Minor>{minor}</tt:Minor></tt:SupportedVersions>"
            + "</tt:System><tt:Security>"
            + _flags(("TLS1.1", False), ("TLS1.2", False), ("OnboardKeyGeneration", False), ("AccessPolicyConfig", False),
                     ("X.509Token", False), ("SAMLToken", False), ("KerberosToken", False), ("RELToken", False))
            + "</tt:Security></tt:Device>"
        )
    if want("Media"):
        parts.append(
            f"<tt:Media><tt:XAddr>{_xaddr(camera, 'media')}</tt:XAddr><tt:StreamingCapabilities>"
            + _flags(("RTPMulticast", False), ("RTP_TCP", True), ("RTP_RTSP_TCP", True))
            + "</tt:StreamingCapabilities></tt:Media>"
        )
    if camera.spec.has_profile_g and "All" in categories:
        parts.append(
            f"<tt:Extension><tt:Search><tt:XAddr>{_xaddr(camera, 'search')}</tt:XAddr>"
            "<tt:MetadataSearch>false</tt:MetadataSearch></tt:Search>"
            f"<tt:Replay><tt:XAddr>{_xaddr(camera, 'replay')}</tt:XAddr></tt:Replay></tt:Extension>"
        )
    return "<tds:GetCapabilitiesResponse><tds:Capabilities>" + "".join(parts) + "</tds:Capabilities></tds:GetCapabilitiesResponse>"


def get_network_interfaces(camera: SimCamera, _: etree._Element) -> str:
    return (
        '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0"><tt:Enabled>true</tt:Enabled>'
        f"<tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>{camera.spec.mac}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
        "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>"
        f"<tt:Address>{camera.host}</tt:Address><tt:PrefixLength>8</tt:PrefixLength></tt:Manual>"
        "<tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4></tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
    )


def get_scopes(camera: SimCamera, _: etree._Element) -> str:
    p = camera.personality
    scopes = [
        ("Fixed", "onvif://www.onvif.org/type/video_encoder"),
        ("Fixed", "onvif://www.onvif.org/Profile/Streaming"),
        ("Fixed", f"onvif://www.onvif.org/hardware/{p.model}"),
        ("Configurable", f"onvif://www.onvif.org/name/{camera.name}"),
        ("Configurable", f"onvif://www.onvif.org/location/{camera.spec.group}"),
    ]
    if camera.spec.has_profile_g:
        scopes.insert(2, ("Fixed", "onvif://www.onvif.org/Profile/G"))
    items = "".join(
        f"<tds:Scopes><tt:ScopeDef>{kind}</tt:ScopeDef><tt:ScopeItem>{escape(item)}</tt:ScopeItem></tds:Scopes>"
        for kind, item in scopes
    )
    return f"<tds:GetScopesResponse>{items}</tds:GetScopesResponse>"


# --- media service -------------------------------------------------------------------------------


def _token(camera: SimCamera, index: int, channel: int) -> str:
    if camera.spec.channel_count == 1:
        return camera.personality.profile_tokens[index]
    return f"Profile_{channel}0{index + 1}"


def _profile(camera: SimCamera, index: int, channel: int = 1) -> str:
    spec = camera.spec
    token = _token(camera, index, channel)
    width, height = spec.main_size if index == 0 else spec.sub_size
    bitrate_kbps = max(64, width * height * spec.fps * 12 // 100_000)
    name = "mainStream" if index == 0 else "subStream"
    return (
        f'<trt:Profiles token="{token}" fixed="true"><tt:Name>{name}</tt:Name>'
        f'<tt:VideoSourceConfiguration token="VideoSourceConfig_{channel}"><tt:Name>VideoSource_{channel}</tt:Name>'
        f"<tt:UseCount>2</tt:UseCount><tt:SourceToken>VideoSource_{channel}</tt:SourceToken>"
        f'<tt:Bounds x="0" y="0" width="{spec.main_size[0]}" height="{spec.main_size[1]}"/></tt:VideoSourceConfiguration>'
        f'<tt:VideoEncoderConfiguration token="VideoEncoder_{index + 1}"><tt:Name>VideoEncoder_{index + 1}</tt:Name>'
        "<tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>"
        f"<tt:Resolution><tt:Width>{width}</tt:Width><tt:Height>{height}</tt:Height></tt:Resolution>"
        "<tt:Quality>4</tt:Quality><tt:RateControl>"
        f"<tt:FrameRateLimit>{spec.fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>"
        f"<tt:BitrateLimit>{bitrate_kbps}</tt:BitrateLimit></tt:RateControl>"
        f"<tt:H264><tt:GovLength>{spec.fps}</tt:GovLength><tt:H264Profile>Baseline</tt:H264Profile></tt:H264>"
        "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address>"
        "<tt:Port>0</tt:Port><tt:TTL>0</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>"
        "<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration></trt:Profiles>"
    )


def get_profiles(camera: SimCamera, _: etree._Element) -> str:
    profiles = "".join(_profile(camera, index, channel) for channel in range(1, camera.spec.channel_count + 1)
                       for index in (0, 1))
    return "<trt:GetProfilesResponse>" + profiles + "</trt:GetProfilesResponse>"


def _profile_channel(camera: SimCamera, op: etree._Element) -> tuple[int, int]:
    """(0 main / 1 sub, channel) of the profile a request names."""
    token = op.findtext("{*}ProfileToken")
    for channel in range(1, camera.spec.channel_count + 1):
        for index in (0, 1):
            if token == _token(camera, index, channel):
                return index, channel
    raise _InvalidArgs(f"no profile {token!r}")


def _profile_index(camera: SimCamera, op: etree._Element) -> int:
    return _profile_channel(camera, op)[0]


def _media_uri(uri: str, element: str) -> str:
    return (
        f"<trt:{element}Response><trt:MediaUri><tt:Uri>{escape(uri)}</tt:Uri>"
        "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
        f"<tt:Timeout>PT60S</tt:Timeout></trt:MediaUri></trt:{element}Response>"
    )


def get_stream_uri(camera: SimCamera, op: etree._Element) -> str:
    index, channel = _profile_channel(camera, op)
    protocol = op.findtext(".//{*}Transport/{*}Protocol") or "RTSP"
    if protocol not in ("RTSP", "TCP"):
        raise _InvalidArgs(f"transport {protocol} is not supported; use RTSP")
    info = camera.info()
    uri = camera.channel_url(info.rtsp_main_url if index == 0 else info.rtsp_sub_url, channel)
    return _media_uri(camera.as_reported(uri), "GetStreamUri")


def get_snapshot_uri(camera: SimCamera, op: etree._Element) -> str:
    index, channel = _profile_channel(camera, op)
    uri = camera.channel_url(camera.info().snapshot_url, channel)
    if index == 1 and camera.spec.vendor == "generic":
        uri = uri.replace(camera.personality.profile_tokens[0], camera.personality.profile_tokens[1])
    return _media_uri(camera.as_reported(uri), "GetSnapshotUri")


# --- search and replay (Profile G) ---------------------------------------------------------------


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def get_recording_summary(camera: SimCamera, _: etree._Element) -> str:
    first, last = camera.recording_window()
    return (
        f"<tse:GetRecordingSummaryResponse><tse:Summary><tt:DataFrom>{_iso(first)}</tt:DataFrom>"
        f"<tt:DataUntil>{_iso(last + 1)}</tt:DataUntil><tt:NumberRecordings>1</tt:NumberRecordings>"
        "</tse:Summary></tse:GetRecordingSummaryResponse>"
    )


def find_recordings(camera: SimCamera, _: etree._Element) -> str:
    sessions = camera.search_sessions
    now = time.monotonic()
    for token in [t for t, expiry in sessions.items() if expiry < now]:
        del sessions[token]
    while len(sessions) >= MAX_SEARCH_SESSIONS:
        sessions.pop(next(iter(sessions)))
    token = f"SearchToken_{secrets.token_hex(6)}"
    sessions[token] = now + SEARCH_KEEPALIVE_S
    return f"<tse:FindRecordingsResponse><tse:SearchToken>{token}</tse:SearchToken></tse:FindRecordingsResponse>"


def _search_token(camera: SimCamera, op: etree._Element) -> str:
    token = op.findtext("{*}SearchToken") or ""
    if token not in camera.search_sessions:
        raise _InvalidArgs(f"unknown search token {token!r}")
    return token


def get_recording_search_results(camera: SimCamera, op: etree._Element) -> str:
    token = _search_token(camera, op)
    camera.search_sessions[token] = time.monotonic() + SEARCH_KEEPALIVE_S
    first, last = camera.recording_window()
    source = (
        f"<tt:SourceId>{camera.spec.mac}</tt:SourceId><tt:Name>{escape(camera.name)}</tt:Name>"
        f"<tt:Location>{escape(camera.spec.group)}</tt:Location><tt:Description>Camera 1</tt:Description>"
        f"<tt:Address>{camera.as_reported(camera.http_base() + '/onvif/device_service')}</tt:Address>"
    )
    info = (
        f"<tt:RecordingInformation><tt:RecordingToken>{RECORDING_TOKEN}</tt:RecordingToken>"
        f"<tt:Source>{source}</tt:Source><tt:EarliestRecording>{_iso(first)}</tt:EarliestRecording>"
        f"<tt:LatestRecording>{_iso(last + 1)}</tt:LatestRecording><tt:Content>continuous</tt:Content>"
        "<tt:Track><tt:TrackToken>VideoTrack_1</tt:TrackToken><tt:TrackType>Video</tt:TrackType>"
        f"<tt:Description>H.264 main stream</tt:Description><tt:DataFrom>{_iso(first)}</tt:DataFrom>"
        f"<tt:DataTo>{_iso(last + 1)}</tt:DataTo></tt:Track><tt:RecordingStatus>Recording</tt:RecordingStatus>"
        "</tt:RecordingInformation>"
    )
    return (
        "<tse:GetRecordingSearchResultsResponse><tse:ResultList><tt:SearchState>Completed</tt:SearchState>"
        f"{info}</tse:ResultList></tse:GetRecordingSearchResultsResponse>"
    )


def end_search(camera: SimCamera, op: etree._Element) -> str:
    token = _search_token(camera, op)
    del camera.search_sessions[token]
    return f"<tse:EndSearchResponse><tse:Endpoint>{_iso(camera.now())}</tse:Endpoint></tse:EndSearchResponse>"


def get_replay_uri(camera: SimCamera, op: etree._Element) -> str:
    token = op.findtext("{*}RecordingToken")
    if token != RECORDING_TOKEN:
        raise _InvalidArgs(f"no recording {token!r}")
    uri = camera.as_reported(camera.rtsp_base() + REPLAY_PATH)
    return f"<trp:GetReplayUriResponse><trp:Uri>{escape(uri)}</trp:Uri></trp:GetReplayUriResponse>"


def replay_capabilities(camera: SimCamera, _: etree._Element) -> str:
    return (
        '<trp:GetServiceCapabilitiesResponse><trp:Capabilities ReversePlayback="false" '
        'SessionTimeoutRange="10 600" RTP_RTSP_TCP="true"/></trp:GetServiceCapabilitiesResponse>'
    )


Handler = Callable[[SimCamera, etree._Element], str]
HANDLERS: dict[tuple[str, str], Handler] = {
    ("device", "GetSystemDateAndTime"): get_system_date_and_time,
    ("device", "GetDeviceInformation"): get_device_information,
    ("device", "GetServices"): get_services,
    ("device", "GetCapabilities"): get_capabilities,
    ("device", "GetNetworkInterfaces"): get_network_interfaces,
    ("device", "GetScopes"): get_scopes,
    ("media", "GetProfiles"): get_profiles,
    ("media", "GetStreamUri"): get_stream_uri,
    ("media", "GetSnapshotUri"): get_snapshot_uri,
    ("search", "GetRecordingSummary"): get_recording_summary,
    ("search", "FindRecordings"): find_recordings,
    ("search", "GetRecordingSearchResults"): get_recording_search_results,
    ("search", "EndSearch"): end_search,
    ("replay", "GetReplayUri"): get_replay_uri,
    ("replay", "GetServiceCapabilities"): replay_capabilities,
}
