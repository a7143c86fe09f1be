import hashlib
import io

import pytest

from camera_ops.video.hashing import HashingSink


def test_hashes_and_counts_while_forwarding_every_byte():
    downstream = io.BytesIO()
    sink = HashingSink(downstream)
    for chunk in (b"abc", bytearray(b"def"), memoryview(b"ghi")):
        sink.write(chunk)
    assert downstream.getvalue() == b"abcdefghi" and sink.bytes_written == 9
    assert sink.sha256 == hashlib.sha256(b"abcdefghi").hexdigest()
    assert sink.sha512 == hashlib.sha512(b"abcdefghi").hexdigest()


def test_is_not_seekable_so_writers_must_stream():
    sink = HashingSink()
    assert not sink.seekable() and sink.writable() and not hasattr(sink, "seek")


def test_writing_after_close_is_refused():
    sink = HashingSink()
    sink.close()
    with pytest.raises(ValueError):
        sink.write(b"x")

