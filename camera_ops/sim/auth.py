"""Credentials checks a camera does: HTTP/RTSP digest (RFC 2617) and WS-Security UsernameToken.

Nonces are stateless (issue time + HMAC), so 10,000 cameras keep no per-client auth state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time
from dataclasses import dataclass

NONCE_LIFETIME_S = 300.0  # a client may reuse a nonce for 5 minutes, then gets stale=true
WSSE_MAX_CLOCK_DIFF_S = 5.0  # "Created" further than this from the camera clock is refused
_SECRET = os.urandom(16)
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def make_nonce(now: float | None = None) -> str:
    issued = f"{int((now or time.time()) * 1000):x}"
    mac = hmac.new(_SECRET, issued.encode(), hashlib.sha256).hexdigest()[:20]
    return f"{issued}{mac}"


def nonce_age(nonce: str, now: float | None = None) -> float | None:
    """Seconds since we issued ``nonce``, or None if we never did."""
    issued, mac = nonce[:-20], nonce[-20:]
    good = hmac.new(_SECRET, issued.encode(), hashlib.sha256).hexdigest()[:20]
    if not issued or not hmac.compare_digest(mac, good):
        return None
    try:
        return (now or time.time()) - int(issued, 16) / 1000
    except ValueError:
        return None


def digest_challenge(realm: str, *, qop: bool, stale: bool = False) -> str:
    """A WWW-Authenticate value. RTSP cameras usually omit qop; HTTP ones offer qop=auth."""
    value = f'Digest realm="{realm}", nonce="{make_nonce()}", algorithm=MD5'
    if qop:
        value += ', qop="auth"'
    if stale:
        value += ", stale=TRUE"
    return value


def parse_auth_params(header: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _PARAM.finditer(header)}


@dataclass(frozen=True)
class DigestResult:
    ok: bool
    stale: bool = False


def check_digest(header: str | None, *, method: str, realm: str, username: str, password: str) -> DigestResult:
    """Verify an ``Authorization: Digest ...`` header against the camera's credentials."""
    if not header or not header[:6].lower() == "digest":
        return DigestResult(False)
    p = parse_auth_params(header[6:])
    if p.get("username") != username or p.get("realm") != realm or "nonce" not in p:
        return DigestResult(False)
    age = nonce_age(p["nonce"])
    if age is None:
        return DigestResult(False)
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{p.get('uri', '')}")
    if p.get("qop"):
        expected = _md5(f"{ha1}:{p['nonce']}:{p.get('nc', '')}:{p.get('cnonce', '')}:{p['qop']}:{ha2}")
    else:
        expected = _md5(f"{ha1}:{p['nonce']}:{ha2}")
    if not hmac.compare_digest(expected, (p.get("response") or "").lower()):
        return DigestResult(False)
    if age > NONCE_LIFETIME_S:
        return DigestResult(False, stale=True)
    return DigestResult(True)


def wsse_password_digest(nonce: bytes, created: str, password: str) -> str:
    """Base64(SHA1(nonce + created + password)) — WS-Security UsernameToken Profile 1.0."""
    return base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()


def basic_challenge(realm: str) -> str:
    return f'Basic realm="{realm}"'


def check_basic(header: str | None, *, username: str, password: str) -> DigestResult:
    """``Authorization: Basic base64(user:password)`` (cheap RTSP cameras and some snapshot CGIs)."""
    if not header or header[:5].lower() != "basic":
        return DigestResult(False)
    try:
        user, _, given = base64.b64decode(header[5:].strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return DigestResult(False)
    return DigestResult(hmac.compare_digest(user, username) and hmac.compare_digest(given, password))
