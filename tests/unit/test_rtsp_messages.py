import asyncio

import pytest

from camera_ops.errors import CameraProtocolError
from camera_ops.rtsp.messages import (
    InterleavedFrame,
    RtspResponse,
    RtspServerRequest,
    parse_response,
    parse_transport,
    read_message,
    serialize_request,
    session_id,
)


def test_request_serializes_cseq_headers_and_body():
    raw = serialize_request("SETUP", "rtsp://h/t1", 3, [("Transport", "RTP/AVP/TCP;interleaved=0-1")], b"xy")
    assert raw.startswith(b"SETUP rtsp://h/t1 RTSP/1.0\r\nCSeq: 3\r\n")
    assert b"Transport: RTP/AVP/TCP;interleaved=0-1\r\n" in raw
    assert raw.endswith(b"Content-Length: 2\r\n\r\nxy")


def test_response_parses_status_headers_multi_values_and_body():
    raw = (
        b"RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Digest realm=\"a\", nonce=\"b\"\r\n"
        b"www-authenticate: Basic realm=\"a\"\r\nContent-Length: 3\r\n\r\nabcEXTRA"
    )
    response = parse_response(raw)
    assert (response.status, response.reason, response.cseq) == (401, "Unauthorized", 2)
    assert len(response.headers.get_all("WWW-Authenticate")) == 2
    assert response.body == b"abc"


@pytest.mark.parametrize("raw", [b"HTTP/1.1 200 OK\r\n\r\n", b"RTSP/1.0 abc\r\n\r\n", b"garbage\r\n\r\n"])
def test_non_rtsp_answers_are_protocol_errors(raw):
    with pytest.raises(CameraProtocolError):
        parse_response(raw)


async def test_reader_separates_interleaved_frames_responses_and_server_requests():
    reader = asyncio.StreamReader()
    reader.feed_data(b"$\x00\x00\x03abc")
    reader.feed_data(b"RTSP/1.0 200 OK\r\nCSeq: 5\r\nContent-Length: 2\r\n\r\nhi")
    reader.feed_data(b"TEARDOWN rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\n\r\n")
    reader.feed_eof()
    assert await read_message(reader) == InterleavedFrame(0, b"abc")
    response = await read_message(reader)
    assert isinstance(response, RtspResponse) and response.body == b"hi" and response.cseq == 5
    request = await read_message(reader)
    assert isinstance(request, RtspServerRequest) and request.method == "TEARDOWN"
    with pytest.raises(EOFError):
        await read_message(reader)


async def test_connection_closed_inside_a_frame_is_end_of_stream():
    reader = asyncio.StreamReader()
    reader.feed_data(b"$\x00\x00\x10abc")
    reader.feed_eof()
    with pytest.raises(EOFError):
        await read_message(reader)


def test_transport_and_session_headers():
    assert parse_transport("RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=1").interleaved == (2, 3)
    assert session_id("12345678;timeout=30") == ("12345678", 30.0)
    assert session_id("abc") == ("abc", None)
