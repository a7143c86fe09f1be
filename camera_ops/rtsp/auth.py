"""HTTP/RTSP client authentication: Digest (RFC 2617 / RFC 7616, incl. ``qop=auth``) and Basic.

Used by the RTSP client and by the raw SOAP probe (cameras that answer HTTP 401 on the device
service). Pure code: parse ``WWW-Authenticate`` challenges, produce ``Authorization`` values.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass, field

_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')
_CNONCE_BYTES = 8

_HASHES = {
    "MD5": hashlib.md5,
    "MD5-SESS": hashlib.md5,
    "SHA-256": hashlib.sha256,
    "SHA-256-SESS": hashlib.sha256,
}


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: scheme (lower case) and its parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def parse_challenge(value: str) -> Challenge:
    """Parse one ``WWW-Authenticate`` header value, e.g. ``Digest realm="x", nonce="y"``."""
    scheme, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {}
    for match in _PARAM_RE.finditer(rest):
        key, raw = match.group(1).lower(), match.group(2)
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = raw[1:-1].replace('\\"', '"')
        params[key] = raw
    return Challenge(scheme=scheme.lower(), params=params)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DigestAuth:
    """Digest client state for one challenge (keeps the nonce count across requests)."""

    def __init__(self, username: str, password: str, challenge: Challenge) -> None:
        self.username = username
        self._password = password
        self.realm = challenge.params.get("realm", "")
        self.nonce = challenge.params.get("nonce", "")
        self.opaque = challenge.params.get("opaque")
        self._algorithm_given = "algorithm" in challenge.params
        self.algorithm = challenge.params.get("algorithm", "MD5").upper()
        qops = [q.strip() for q in challenge.params.get("qop", "").split(",") if q.strip()]
        self.qop = "auth" if "auth" in qops else None
        self._nonce_count = 0
        if self.algorithm not in _HASHES:
            raise ValueError(f"unsupported digest algorithm {self.algorithm}")

    def _h(self, data: str) -> str:
        return _HASHES[self.algorithm](data.encode("utf-8")).hexdigest()

    def authorization(self, method: str, uri: str, *, cnonce: str | None = None) -> str:
        """The ``Authorization`` header value for one request."""
        self._nonce_count += 1
        nc = f"{self._nonce_count:08x}"
        cnonce = cnonce or os.urandom(_CNONCE_BYTES).hex()
        ha1 = self._h(f"{self.username}:{self.realm}:{self._password}")
        if self.algorithm.endswith("-SESS"):
            ha1 = self._h(f"{ha1}:{self.nonce}:{cnonce}")
        ha2 = self._h(f"{method}:{uri}")
        if self.qop:
            response = self._h(f"{ha1}:{self.nonce}:{nc}:{cnonce}:{self.qop}:{ha2}")
        else:
            response = self._h(f"{ha1}:{self.nonce}:{ha2}")
        parts = [
            f"username={_quote(self.username)}",
            f"realm={_quote(self.realm)}",
            f"nonce={_quote(self.nonce)}",
            f"uri={_quote(uri)}",
            f"response={_quote(response)}",
        ]
        if self._algorithm_given:
            parts.append(f"algorithm={self.algorithm}")
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        if self.qop:
            parts += [f"qop={self.qop}", f"nc={nc}", f"cnonce={_quote(cnonce)}"]
        return "Digest " + ", ".join(parts)


class BasicAuth:
    def __init__(self, username: str, password: str) -> None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._value = f"Basic {token}"

    def authorization(self, method: str, uri: str) -> str:  # noqa: ARG002 - same shape as Digest
        return self._value


Authorizer = DigestAuth | BasicAuth


def choose_authorizer(challenges: list[str], username: str, password: str) -> Authorizer | None:
    """Pick the strongest scheme the server offers (Digest over Basic); None if none usable."""
    parsed = [parse_challenge(value) for value in challenges]
    for challenge in parsed:
        if challenge.scheme == "digest":
            try:
                return DigestAuth(username, password, challenge)
            except ValueError:
                continue
    if any(challenge.scheme == "basic" for challenge in parsed):
        return BasicAuth(username, password)
    return None


def compute_digest_response(
    *, username: str, password: str, realm: str, nonce: str, method: str, uri: str,
    qop: str | None = None, nc: str = "00000001", cnonce: str = "", algorithm: str = "MD5",
) -> str:
    """The ``response`` value a server expects (for servers and tests that verify clients)."""
    h = _HASHES[algorithm.upper()]

    def hexd(data: str) -> str:
        return h(data.encode("utf-8")).hexdigest()

    ha1 = hexd(f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = hexd(f"{ha1}:{nonce}:{cnonce}")
    ha2 = hexd(f"{method}:{uri}")
    if qop:
        return hexd(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return hexd(f"{ha1}:{nonce}:{ha2}")
