"""The handshake against a tiny fake ONVIF device (canned SOAP) for cases the simulator lacks:
a camera that accepts only plain-text WS-Security, one without H.264/H.265, malformed SOAP."""

import asyncio
import base64
import hashlib
import re
from contextlib import asynccontextmanager

import pytest
from lxml import etree

from camera_ops.errors import CameraAuthFailed, CameraProtocolError, NoUsableProfile
from camera_ops.onvif.handshake import handshake

pytestmark = pytest.mark.timeout(60)
USER, PASSWORD = "admin", "Secr3t!"
NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
}
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
    'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:ter="http://www.onvif.org/ver10/error">'
    "<s:Body>{}</s:Body></s:Envelope>"
)
AUTH_FAULT = (
    "<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>ter:NotAuthorized</s:Value></s:Subcode>"
    '</s:Code><s:Reason><s:Text xml:lang="en">Sender not Authorized</s:Text></s:Reason></s:Fault>'
)


def profile_xml(token, encoding, width, height):
    return (
        f'<trt:Profiles token="{token}" fixed="true"><tt:Name>{token}</tt:Name>'
        f'<tt:VideoEncoderConfiguration token="enc{token}"><tt:Name>enc</tt:Name><tt:UseCount>1</tt:UseCount>'
        f"<tt:Encoding>{encoding}</tt:Encoding><tt:Resolution><tt:Width>{width}</tt:Width><tt:Height>{height}</tt:Height>"
        "</tt:Resolution><tt:Quality>5</tt:Quality><tt:RateControl><tt:FrameRateLimit>25</tt:FrameRateLimit>"
        "<tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>4096</tt:BitrateLimit></tt:RateControl>"
        "</tt:VideoEncoderConfiguration></trt:Profiles>"
    )


class FakeOnvifDevice:
    def __init__(self, *, accepts=("digest", "text"), encodings=("H264", "H264"), broken_profiles=False,
                 snapshot_profiles=("main", "sub")):
        self.accepts = accepts
        self.snapshot_profiles = snapshot_profiles  # profiles GetSnapshotUri answers for
        self.encodings = encodings
        self.broken_profiles = broken_profiles
        self.port = 0
        self.password_types = []
        self.received = bytearray()  # every byte any client sent
        self.connections = 0

    def auth_ok(self, root):
        token = root.find(".//wsse:UsernameToken", NS)
        if token is None:
            return False
        password = token.find("wsse:Password", NS)
        kind = "digest" if password.get("Type", "").endswith("#PasswordDigest") else "text"
        self.password_types.append(kind)
        if kind not in self.accepts or token.findtext("wsse:Username", namespaces=NS) != USER:
            return False
        if kind == "text":
            return password.text == PASSWORD
        nonce = base64.b64decode(token.findtext("wsse:Nonce", namespaces=NS))
        created = token.findtext("wsu:Created", namespaces=NS)
        return password.text == base64.b64encode(hashlib.sha1(nonce + created.encode() + PASSWORD.encode()).digest()).decode()

    def answer(self, body: bytes) -> tuple[int, str]:
        root = etree.fromstring(body)
        action = etree.QName(root.find("s:Body", NS)[0]).localname
        base = f"http://127.0.0.1:{self.port}"
        if action == "GetSystemDateAndTime":
            return 200, (
                "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
                "<tt:DaylightSavings>false</tt:DaylightSavings><tt:UTCDateTime><tt:Time><tt:Hour>1</tt:Hour>"
                "<tt:Minute>2</tt:Minute><tt:Second>3</tt:Second></tt:Time><tt:Date><tt:Year>2030</tt:Year>"
                "<tt:Month>1</tt:Month><tt:Day>2</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime>"
                "</tds:GetSystemDateAndTimeResponse>"
            )
        if not self.auth_ok(root):
            return 400, AUTH_FAULT
        if action == "GetDeviceInformation":
            return 200, (
                "<tds:GetDeviceInformationResponse><tds:Manufacturer>Cheapo</tds:Manufacturer><tds:Model>C1</tds:Model>"
                "<tds:FirmwareVersion>0.9</tds:FirmwareVersion><tds:SerialNumber>SN42</tds:SerialNumber>"
                "<tds:HardwareId>HW1</tds:HardwareId></tds:GetDeviceInformationResponse>"
            )
        if action == "GetNetworkInterfaces":
            return 200, (
                '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0"><tt:Enabled>true</tt:Enabled>'
                "<tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>00-1A-2B-3C-4D-5E</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
                "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
            )
        if action == "GetServices":
            services = "".join(
                f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{base}{path}</tds:XAddr>"
                "<tds:Version><tt:Major>2</tt:Major><tt:Minor>0</tt:Minor></tds:Version></tds:Service>"
                for ns, path in (("http://www.onvif.org/ver10/device/wsdl", "/onvif/device_service"),
                                 ("http://www.onvif.org/ver10/media/wsdl", "/onvif/media_service"))
            )
            return 200, f"<tds:GetServicesResponse>{services}</tds:GetServicesResponse>"
        if action == "GetProfiles":
            if self.broken_profiles:
                return 200, None  # not XML at all
            main, sub = self.encodings
            return 200, f"<trt:GetProfilesResponse>{profile_xml('main', main, 1920, 1080)}{profile_xml('sub', sub, 640, 360)}</trt:GetProfilesResponse>"
        if action == "GetStreamUri":
            token = root.findtext(".//{http://www.onvif.org/ver10/media/wsdl}ProfileToken")
            return 200, (
                f"<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>rtsp://admin:{PASSWORD}@127.0.0.1:554/{token}</tt:Uri>"
                "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
                "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>"
            )
        if action == "GetSnapshotUri" and (
            token := root.findtext(".//{http://www.onvif.org/ver10/media/wsdl}ProfileToken")
        ) in self.snapshot_profiles:
            return 200, (
                f"<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>http://127.0.0.1/{token}/snap.jpg?user=admin&amp;password={PASSWORD}</tt:Uri>"
                "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
                "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetSnapshotUriResponse>"
            )
        return 400, "<s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason><s:Text>no</s:Text></s:Reason></s:Fault>"

    async def handle(self, reader, writer):
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
                body = await reader.readexactly(length)
                self.received += head + body
                status, inner = self.answer(body)
                data = ENVELOPE.format(inner).encode() if inner is not None else b"\x00\x01garbage{]"
                reason = "OK" if status == 200 else "Bad Request"
                writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
                             f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()
                if b"connection: close" in head.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(device):
    server = await asyncio.start_server(device.handle, "127.0.0.1", 0)
    device.port = server.sockets[0].getsockname()[1]
    try:
        yield device.port
    finally:
        server.close()


async def test_camera_accepting_only_plain_text_tokens_falls_back_to_text_when_allowed():
    device = FakeOnvifDevice(accepts=("text",))
    async with serving(device) as port:
        result = await handshake("127.0.0.1", port, USER, PASSWORD, timeout_s=5, allow_plaintext=True)
    assert result.auth_method == "text" and device.password_types[:2] == ["digest", "text"]
    assert (result.manufacturer, result.serial, result.mac) == ("Cheapo", "SN42", "00:1a:2b:3c:4d:5e")
    assert result.main_stream_uri == "rtsp://127.0.0.1:554/main" and result.sub_stream_uri == "rtsp://127.0.0.1:554/sub"
    # the sub profile's snapshot: picture health works on a small image, and a 1080p JPEG costs
    # more to decode than all the checks together
    assert PASSWORD not in str(result.to_dict()) and result.snapshot_uri == "http://127.0.0.1/sub/snap.jpg"
    assert any("clock" in warning for warning in result.warnings)  # the fake camera lives in 2030


async def test_camera_without_a_sub_profile_snapshot_gives_the_main_one():
    device = FakeOnvifDevice(snapshot_profiles=("main",))
    async with serving(device) as port:
        result = await handshake("127.0.0.1", port, USER, PASSWORD, timeout_s=5)
    assert result.snapshot_uri == "http://127.0.0.1/main/snap.jpg"


async def test_digest_accepted_means_no_plain_text_password_is_ever_sent():
    device = FakeOnvifDevice(accepts=("digest",))
    async with serving(device) as port:
        result = await handshake("127.0.0.1", port, USER, PASSWORD, timeout_s=5)
    assert result.auth_method == "digest" and "text" not in device.password_types


async def test_wrong_password_after_both_token_types_is_the_password_field():
    async with serving(FakeOnvifDevice()) as port:
        with pytest.raises(CameraAuthFailed) as info:
            await handshake("127.0.0.1", port, USER, "not-it", timeout_s=5)
    assert info.value.field == "password" and "not-it" not in str(info.value)


async def test_camera_with_only_jpeg_profiles_is_the_profile_field():
    async with serving(FakeOnvifDevice(encodings=("JPEG", "JPEG"))) as port:
        with pytest.raises(NoUsableProfile) as info:
            await handshake("127.0.0.1", port, USER, PASSWORD, timeout_s=5)
    assert info.value.field == "profile"


async def test_answer_that_is_not_xml_is_a_protocol_error():
    async with serving(FakeOnvifDevice(broken_profiles=True)) as port:
        with pytest.raises(CameraProtocolError):
            await handshake("127.0.0.1", port, USER, PASSWORD, timeout_s=5)


async def test_a_server_refusing_digest_never_receives_the_password_in_plain_text():
    """Issue 12 finding 1: a fake ONVIF server that refuses PasswordDigest used to get the stored
    password as a PasswordText token. Without permission, the handshake stops at the refusal."""
    device = FakeOnvifDevice(accepts=("text",))
    async with serving(device) as port:
        with pytest.raises(CameraAuthFailed) as info:
            await handshake("127.0.0.1", port, USER, PASSWORD, timeout_s=5)
    assert info.value.field == "password" and info.value.details == {"plaintext_needed": True}
    assert device.password_types == ["digest"]
    assert PASSWORD.encode() not in device.received and b"#PasswordText" not in device.received


async def test_a_camera_outside_the_camera_networks_is_never_contacted():
    from camera_ops import netpolicy
    from camera_ops.errors import CameraNetworkRefused

    device = FakeOnvifDevice()
    async with serving(device) as port:
        netpolicy.configure(["192.168.0.0/16"])
        try:
            with pytest.raises(CameraNetworkRefused) as info:
                await handshake("127.0.0.1", port, USER, PASSWORD, timeout_s=5)
        finally:
            netpolicy.configure(netpolicy.DEFAULT_CAMERA_NETWORKS)
    assert info.value.field == "host" and "CAMERA_OPS_CAMERA_NETWORKS" in info.value.message
    assert device.connections == 0
