"""A write-only, non-seekable sink that hashes bytes on their way to the real destination."""

from __future__ import annotations

import hashlib
from typing import Protocol


class Writable(Protocol):
    def write(self, data: bytes, /) -> int | None: ...


class HashingSink:
    """Computes SHA-256 and SHA-512 of everything written, forwarding it downstream in order.

    Deliberately has no ``seek``/``tell``: PyAV then treats it as a stream, so only fragmented
    MP4 is written through it and every byte passes exactly once, in order. (Hashing in a worker
    thread was measured: no faster on two shared cores, so it stays inline and simple.)
    """

    def __init__(self, downstream: Writable | None = None) -> None:
        self._downstream = downstream
        self._sha256 = hashlib.sha256()
        self._sha512 = hashlib.sha512()
        self.bytes_written = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self.closed:
            raise ValueError("write to a closed HashingSink")
        chunk = data if isinstance(data, bytes) else bytes(data)
        self._sha256.update(chunk)
        self._sha512.update(chunk)
        if self._downstream is not None:
            self._downstream.write(chunk)
        self.bytes_written += len(chunk)
        return len(chunk)

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        flush = getattr(self._downstream, "flush", None)
        if flush is not None:
            flush()

    def close(self) -> None:
        """Marks the sink finished; the downstream writer stays open (its owner closes it)."""
        self.closed = True

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def sha512(self) -> str:
        return self._sha512.hexdigest()
