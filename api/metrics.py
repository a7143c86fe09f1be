"""Prometheus metrics of one API process, at ``GET /metrics`` (text exposition format).

Protected from the public by a token: ``CAMERA_OPS_OPS_TOKEN`` (the same token as the monitor's and
the worker's ``/metrics``) must be sent as ``Authorization: Bearer <token>`` (Prometheus:
``authorization: {credentials: ...}`` in the scrape config). The API listens where the public
reaches it, so without the setting the endpoint does not exist (404): nothing leaks by default.

- ``camera_ops_http_requests_total{method,route,status}`` and
  ``camera_ops_http_request_duration_seconds{method,route}``: by route *template*
  (``/api/v1/cameras/{camera_id}``), never the raw path, so a scan cannot blow up the series count;
  the time includes the wait for a request slot (``api.limits``).
- ``camera_ops_http_requests_in_flight``.
- ``camera_ops_cameras{status}``: cameras per effective status over the whole fleet, read at scrape
  time from the per-area counts (a few rows, not a GROUP BY over the cameras).
"""

from __future__ import annotations

import hmac
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter as PromCounter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"  # requests no route answered (404 scans): one series, not one per path
# seconds; the targets sit at 20 ms (summary), 100 ms (p99) and 200 ms (board)
LATENCY_BUCKETS_S = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 10.0)


class ApiMetrics:
    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = PromCounter("camera_ops_http_requests", "HTTP requests answered",
                                    ("method", "route", "status"), registry=self.registry)
        self.latency = Histogram("camera_ops_http_request_duration_seconds", "HTTP request latency by route",
                                 ("method", "route"), buckets=LATENCY_BUCKETS_S, registry=self.registry)
        self.in_flight = Gauge("camera_ops_http_requests_in_flight", "HTTP requests being answered",
                               registry=self.registry)
        self.registry.register(_StatusCounts(engine))
        self.registry.register(_CustodyAnchor(engine))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _StatusCounts:
    """Collector: cameras per status over the whole fleet, at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[GaugeMetricFamily]:
        return [GaugeMetricFamily("camera_ops_cameras", "cameras per effective status", labels=["status"])]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from camera_ops.monitor.counts import area_counts, without_retired
        from storage.db import session_factory
        from storage.models import Area

        family = GaugeMetricFamily("camera_ops_cameras", "cameras per effective status", labels=["status"])
        try:
            with session_factory(self.engine, write=False)() as session:
                tops = session.scalars(select(Area.id).where(Area.parent_id.is_(None))).all()
                totals: Counter[str] = Counter()
                for counts in area_counts(session, tops).values():
                    totals.update(without_retired(counts))
        except SQLAlchemyError:
            return  # database down: /readyz says so; the HTTP metrics still come out
        for status, n in sorted(totals.items()):
            family.add_metric([status], n)
        yield family


class MetricsMiddleware:
    """Pure ASGI middleware: times every HTTP request by method and route template; answers
    ``GET /metrics`` for a caller with the metrics token."""

    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics, token: str | None) -> None:
        import anyio

        self.app, self.metrics, self.token = app, metrics, token
        self._limiter = anyio.CapacityLimiter(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == METRICS_PATH and self.token:
            await self._serve(scope, send)
            return
        status = 500
        started = time.perf_counter()

        async def keep_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, keep_status)
        finally:
            self.metrics.in_flight.dec()
            route = route_template(scope)
            method = scope["method"]
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
            self.metrics.requests.labels(method, route, str(status)).inc()

    async def _serve(self, scope: Scope, send: Send) -> None:
        import anyio.to_thread

        headers = dict(scope.get("headers") or ())
        given = (headers.get(b"authorization") or b"").decode("latin-1")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            await _respond(send, 401, b"metrics token required\n", b"text/plain; charset=utf-8",
                           [(b"www-authenticate", b"Bearer")])
            return
        # reads the counts: off the event loop, on a thread of its own (not a request slot's)
        body = await anyio.to_thread.run_sync(self.metrics.exposition, limiter=self._limiter)
        await _respond(send, 200, body, CONTENT_TYPE_LATEST.encode())


def route_template(scope: Scope) -> str:
    """``/api/v1/cameras/{camera_id}`` for ``/api/v1/cameras/42``: the path with each matched path
    parameter put back as its name (independent of how the routers were nested)."""
    if scope.get("route") is None:
        return UNMATCHED
    path: str = scope["path"]
    params = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    for value, name in params.items():  # a tail parameter ({path} of a static mount) spans segments
        if "/" in value and path.endswith(value):
            path = f"{path[:-len(value)]}{{{name}}}"
    return "/".join(f"{{{params[seg]}}}" if seg in params else seg for seg in path.split("/"))


async def _respond(send: Send, status: int, body: bytes, content_type: bytes,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                            *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


class _CustodyAnchor:
    """Collector: custody checkpoint age and failures (``camera_ops.metrics.custody_anchor_metrics``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[Any]:
        return []  # names come from collect (the families are built there)

    def collect(self) -> Iterator[Any]:
        from camera_ops.metrics import custody_anchor_metrics

        try:
            with self.engine.connect() as conn:
                families = custody_anchor_metrics(conn)
        except SQLAlchemyError:
            return
        yield from families
