"""Security headers on every response (issue 12, finding 8), as a pure ASGI middleware.

- ``Content-Security-Policy``: scripts only from this server (no inline script, no ``on…=``
  handlers, no eval); nothing may frame our pages (``frame-ancestors 'none'``); forms post only
  here. Styles may be inline: Leaflet positions map tiles with inline styles and the printable
  custody trail carries its own ``<style>`` so it prints offline. Map tiles may come from the
  configured tile server. A response that sets its own policy (the API docs page) keeps it.
- ``X-Frame-Options: DENY`` for browsers that predate ``frame-ancestors``.
- ``X-Content-Type-Options: nosniff``: a CSV or clip is never run as a script.
- ``Referrer-Policy: same-origin``: our URLs (case numbers in paths) never leak to other sites, and
  our own requests still carry the Referer the CSRF check can fall back on.
- ``Strict-Transport-Security`` in production only (the deployment terminates TLS in front).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from camera_ops.settings import Settings

HSTS_MAX_AGE_S = 365 * 24 * 3600  # one year: what the HSTS preload list asks for


def content_security_policy(tile_url: str | None = None) -> str:
    images = ["'self'", "data:", "blob:"]
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "*"))  # Leaflet's subdomain placeholder → CSP wildcard
        images.append(f"{parts.scheme}://{parts.netloc}")
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {' '.join(images)}",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def security_headers(settings: Settings) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(settings.tile_url),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if settings.environment == "production":
        headers["Strict-Transport-Security"] = f"max-age={HSTS_MAX_AGE_S}; includeSubDomains"
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.headers = security_headers(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
