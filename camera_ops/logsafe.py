"""Keep secrets out of logs, including the logs of the libraries we call.

onvif-zeep-async and zeep log whole SOAP envelopes at DEBUG, and the plain-text WS-Security
fallback puts the camera password in them; HTTP clients log Authorization headers. Every log record
from those libraries passes through :func:`scrub` before any handler sees it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

THIRD_PARTY_PREFIXES = ("onvif", "zeep", "httpx", "httpcore", "aiohttp", "urllib3", "minio", "av")
REDACTED = "***"
_PATTERNS = (
    re.compile(r"(<(?:\w+:)?Password\b[^>]*>)(.*?)(</(?:\w+:)?Password>)", re.S),
    re.compile(r"(<(?:\w+:)?Nonce\b[^>]*>)(.*?)(</(?:\w+:)?Nonce>)", re.S),
    re.compile(r"((?:Proxy-)?Authorization['\"]?\s*[:=]\s*)('[^']*'|\"[^\"]*\"|[^\r\n]*)()", re.I),
    re.compile(r"(\b(?:password|passwd|pwd)\s*[=:]\s*['\"]?)([^'\"&\s,}]+)()", re.I),
    re.compile(r"(\w+://[^/\s:@]+:)([^@\s/]+)(@)"),  # credentials embedded in URLs
)


def scrub(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)
    return text


_installed = False


def install() -> None:
    """Wrap the log record factory once per process (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.startswith(THIRD_PARTY_PREFIXES):
            message = record.getMessage()
            cleaned = scrub(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
