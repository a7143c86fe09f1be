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

The JSON API under ``/api/`` is not affected: it takes a bearer token in the Authorization header,
which a forged cross-site form cannot set.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request

CSRF_FIELD = "csrf_token"
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
