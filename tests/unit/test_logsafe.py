import logging

import pytest

from camera_ops.logsafe import scrub


@pytest.mark.parametrize("raw,secret", [
    ('<wsse:Password Type="...#PasswordText">hunter2</wsse:Password>', "hunter2"),
    ("<Password>abc123</Password>", "abc123"),
    ("<wsse:Nonce EncodingType='x'>bm9uY2U=</wsse:Nonce>", "bm9uY2U="),
    ("headers={'Authorization': 'Digest username=\"admin\", response=\"deadbeef\"'}", "deadbeef"),
    ("rtsp://admin:s3cr3t@10.0.0.5:554/stream", "s3cr3t"),
    ("connect password=topsecret host=x", "topsecret"),
])
def test_secrets_are_redacted(raw, secret):
    assert secret not in scrub(raw)


def test_library_debug_logs_are_scrubbed(caplog):
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("onvif.zeep_aiohttp").debug("post %s", b"<wsse:Password>hunter2</wsse:Password>")
    assert "hunter2" not in caplog.text and "***" in caplog.text
