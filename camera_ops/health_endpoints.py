"""Health and metrics endpoints shared by the API, the monitor and the worker.

One JSON shape everywhere (compose, systemd and operators read it)::

    {"status": "ok" | "degraded" | "fail",
     "checks": {"database": {"status": "ok"},
                "custody_anchor": {"status": "degraded", "reason": "custody_checkpoint_failed", "message": "..."},
                "schema": {"status": "fail", "reason": "schema_behind", "message": "..."}}}

``/healthz`` says the process is up (its loop still turns); ``/readyz`` says it can do its work
(database reachable, schema at head, clip store reachable, ...). HTTP 200 when every check is ok
or only degraded, 503 when one fails.

"Degraded" is for a fault of the whole service that this process cannot fix and that does not stop
it working: custody checkpoints not being written (:func:`camera_ops.readiness.custody_anchor_check`).
The checkpoint writer's state is one row shared by every node, so a failing readiness check there
would take every API replica, monitor and worker out of service at the same moment (compose, a load
balancer, systemd's start-up check) — for a fault during which retrievals are still logged on the
chain and still fail closed. It is said loudly instead: ``"status": "degraded"``, an alert (one per
failure episode) and the ``camera_ops_custody_checkpoint_*`` metrics. ``message`` is in the language asked for (``?lang=en`` or ``Accept-Language``;
Vietnamese first).

The monitor and the worker have no web server of their own: :class:`OpsServer` is a small
threaded HTTP server (stdlib) on ``ops_bind`` (default 127.0.0.1) serving ``/healthz``,
``/readyz`` and ``/metrics`` (Prometheus text format from the process's own registry). When
``ops_token`` is set, ``/metrics`` needs ``Authorization: Bearer <token>``; binding anywhere but
loopback without a token is refused.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine, text

from camera_ops.errors import ConfigurationError
from camera_ops.i18n import Lang, parse_lang, t

log = logging.getLogger(__name__)

HTTP_OK = 200
HTTP_UNAVAILABLE = 503
HTTP_UNAUTHORIZED = 401
HTTP_NOT_FOUND = 404
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    reason: str | None = None  # a stable code; its text is i18n key ``health_check.<reason>``
    values: Mapping[str, object] | None = None  # placeholders of the text
    degraded: bool = False  # ok for readiness (HTTP 200), but reported: ``"status": "degraded"``


Check = Callable[[], CheckResult]
OK = CheckResult(True)


def degraded(reason: str, values: Mapping[str, object] | None = None) -> CheckResult:
    return CheckResult(True, reason, values, degraded=True)


def run_checks(checks: Mapping[str, Check], lang: Lang = "vi") -> tuple[int, dict[str, Any]]:
    """Run every check (a check that raises fails with ``check_error``): (HTTP status, body)."""
    out: dict[str, Any] = {}
    all_ok, any_degraded = True, False
    for name, check in checks.items():
        try:
            result = check()
        except Exception as exc:  # noqa: BLE001 — a broken check is a failed check, never a crash
            log.warning("health check %s raised %s", name, exc.__class__.__name__)
            result = CheckResult(False, "check_error", {"error": exc.__class__.__name__})
        all_ok = all_ok and result.ok
        degraded = result.ok and result.degraded
        any_degraded = any_degraded or degraded
        entry: dict[str, Any] = {"status": "degraded" if degraded else "ok" if result.ok else "fail"}
        if result.reason:
            entry["reason"] = result.reason
            entry["message"] = t(f"health_check.{result.reason}", lang, **dict(result.values or {}))
        out[name] = entry
    body = {"status": ("degraded" if any_degraded else "ok") if all_ok else "fail", "checks": out}
    return (HTTP_OK if all_ok else HTTP_UNAVAILABLE), body


# --- checks shared by every process ---------------------------------------------------------------


def database_check(engine: Engine) -> Check:
    """The database answers a trivial query."""

    def check() -> CheckResult:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 — any failure to answer is "unreachable"
            return CheckResult(False, "database_unreachable", {"error": exc.__class__.__name__})
        return OK

    return check


def schema_check(engine: Engine) -> Check:
    """The schema is at the migrations' head (a process on an old schema would write wrongly)."""
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    heads = set(ScriptDirectory.from_config(alembic_config(str(engine.url))).get_heads())

    def check() -> CheckResult:
        try:
            with engine.connect() as conn:
                current = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
        except Exception as exc:  # noqa: BLE001
            return CheckResult(False, "database_unreachable", {"error": exc.__class__.__name__})
        if current != heads:
            return CheckResult(False, "schema_behind", {"current": ",".join(sorted(current)) or "-",
                                                        "head": ",".join(sorted(heads))})
        return OK

    return check


# --- the small server for the monitor and the worker ----------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpsServer:
    """``/healthz``, ``/readyz``, ``/metrics`` on a thread of their own. ``port`` 0 picks a free one
    (see :attr:`port` after :meth:`start`)."""

    def __init__(
        self, *, bind: str, port: int, live: Mapping[str, Check], ready: Mapping[str, Check],
        metrics: Callable[[], bytes] | None = None, token: str | None = None,
    ) -> None:
        if not _is_loopback(bind) and not token:
            raise ConfigurationError(t("ops.token_required", "vi", bind=bind) + " / " + t("ops.token_required", "en", bind=bind),
                                     field="ops_token")
        self.bind, self.requested_port = bind, port
        self.live, self.ready, self.metrics, self.token = live, ready, metrics, token
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.bind}:{self.port}"

    def start(self) -> None:
        handler = _handler_for(self)
        try:
            self._server = ThreadingHTTPServer((self.bind, self.requested_port), handler)
        except OSError as exc:
            raise ConfigurationError(
                t("ops.cannot_bind", "vi", bind=self.bind, port=self.requested_port, error=exc.strerror or exc)
                + " / " + t("ops.cannot_bind", "en", bind=self.bind, port=self.requested_port, error=exc.strerror or exc),
                field="ops_port") from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="ops-http", daemon=True)
        self._thread.start()
        log.info("health and metrics on %s (/healthz /readyz /metrics)", self.url)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handler_for(ops: OpsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "camera-ops"

        def do_GET(self) -> None:  # noqa: N802 — the stdlib's name
            parts = urlsplit(self.path)
            if parts.path in ("/healthz", "/readyz"):
                lang = _lang(parse_qs(parts.query).get("lang", [None])[0], self.headers.get("Accept-Language"))
                status, body = run_checks(ops.live if parts.path == "/healthz" else ops.ready, lang)
                self._send(status, "application/json", json.dumps(body, ensure_ascii=False).encode())
            elif parts.path == "/metrics" and ops.metrics is not None:
                if ops.token and not _bearer_ok(self.headers.get("Authorization"), ops.token):
                    self._send(HTTP_UNAUTHORIZED, "text/plain; charset=utf-8", b"token required\n",
                               {"WWW-Authenticate": "Bearer"})
                    return
                self._send(HTTP_OK, PROMETHEUS_CONTENT_TYPE, ops.metrics())
            else:
                self._send(HTTP_NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")

        def _send(self, status: int, content_type: str, body: bytes, headers: Mapping[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — the stdlib's name
            log.debug("ops http: " + format, *args)

    return Handler


def _bearer_ok(header: str | None, token: str) -> bool:
    if not header or not header.lower().startswith("bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


def _lang(query: str | None, accept: str | None) -> Lang:
    chosen = parse_lang(query)
    if chosen:
        return chosen
    for part in (accept or "").split(","):
        chosen = parse_lang(part.split(";")[0].strip()[:2].lower())
        if chosen:
            return chosen
    return "vi"
