"""CSRF protection for the cookie-authenticated web pages.

The login cookie is HttpOnly and ``SameSite=Lax``: browsers do not send it on cross-site POSTs, which
already stops the classic forged form. Two more layers, because Lax still sends the cookie on
top-level GET navigations and because some deployments sit behind odd proxies:

1. **Per-session token in every form.** ``csrf_token(login_token)`` is an HMAC of the login token
   under the server's JWT key: stateless (no server-side session table), different for every login,
   and unguessable without the key. Every state-changing web POST must carry it (hidden field
   ``csrf_token``); pages never change state on GET.
2. **Origin check.** A POST whose ``Origin`` (or, when absent, ``Referer``) names another host is
   refused. This also covers the login form, which has no session yet (login CSRF).

The JSON API under ``/api/`` takes a bearer token in the Authorization header, which a forged
cross-site request cannot set; bearer calls need nothing more. When an API call is authenticated by
the login *cookie* instead (a page's own JavaScript, or a page on another port or subdomain of the
same site, which SameSite does not count as cross-site), an unsafe method must carry the same
per-session token in the ``X-CSRF-Token`` header **and** name this site in ``Origin`` (or ``Referer``
when the browser sends no Origin): see :func:`api_cookie_call_allowed`.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TOKEN_CHARS = 32


def csrf_token(login_token: str, key: str) -> str:
    digest = hmac.new(key.encode(), b"csrf|" + login_token.encode(), hashlib.sha256).hexdigest()
    return digest[:_TOKEN_CHARS]


def token_matches(sent: str | None, login_token: str, key: str) -> bool:
    return bool(sent) and hmac.compare_digest(str(sent), csrf_token(login_token, key))


def same_origin(request: Request) -> bool:
    """True when the request's Origin/Referer is this host, or when the browser sent neither
    (non-browser clients; the token still protects those forms)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source != "null"
    host = request.headers.get("host", "")
    return urlsplit(source).netloc == host


def _origin_of(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def same_origin_strict(request: Request, public_url: str | None = None) -> bool:
    """True only when the request names its origin (``Origin``, else ``Referer``) and that origin is
    this server: the ``Host`` it was reached at, or the configured public URL (behind a proxy).
    Scheme and port count: ``http://host:8001`` is another origin than ``http://host:8000``."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    scheme, netloc = _origin_of(source)
    if public_url and (scheme, netloc) == _origin_of(public_url):
        return True
    return netloc == request.headers.get("host", "").lower() and scheme == request.url.scheme


def api_cookie_call_allowed(request: Request, login_token: str, key: str, public_url: str | None = None) -> bool:
    """A cookie-authenticated API call: safe methods pass; unsafe ones need the session's CSRF
    token in the ``X-CSRF-Token`` header and a same-origin ``Origin``/``Referer``."""
    if request.method in SAFE_METHODS:
        return True
    return token_matches(request.headers.get(CSRF_HEADER), login_token, key) and same_origin_strict(request, public_url)
