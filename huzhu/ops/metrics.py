"""Prometheus metrics (prometheus-client): requests and their latency by route, plus figures
read from the database at scrape time (task queue depth, settlement imports by state, one-stop
settlements), which are the same whichever app server is scraped.

With several worker processes per app server set `PROMETHEUS_MULTIPROC_DIR` (an empty folder
per server, cleared at start): the request counters of all processes are then summed
(prometheus-client's multiprocess mode)."""

from __future__ import annotations

import ipaddress
import os
import time

from django.conf import settings
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

__all__ = ["MetricsMiddleware", "client_allowed", "metrics_text"]

REQUESTS = Counter(
    "huzhu_http_requests_total",
    "HTTP requests answered, by method, route pattern and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "huzhu_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    route = match.route or match.view_name or "unknown"
    # Wagtail serves every portal page through one catch-all: one label for all of them.
    return route if len(route) <= 80 else route[:80]


class MetricsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        route = _route(request)
        if route != "metrics":
            REQUESTS.labels(request.method, route, str(response.status_code)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - start)
        return response


class _DatabaseFigures:
    """Read at each scrape; a failing query leaves its metric out instead of failing all."""

    def collect(self):
        from .health import queue_depth

        try:
            depth = GaugeMetricFamily("huzhu_task_queue_depth", "Tasks waiting to run.")
            depth.add_metric([], queue_depth())
            yield depth
        except Exception:
            pass
        try:
            from django.db.models import Count, Sum

            from huzhu.settlements.models import SettlementBatch

            batches = GaugeMetricFamily(
                "huzhu_settlement_imports", "Settlement import batches by state.", labels=["state"]
            )
            rows = GaugeMetricFamily(
                "huzhu_settlement_rows_imported", "Rows read by finished settlement imports."
            )
            by_state = SettlementBatch.objects.values("state").annotate(n=Count("id"))
            for row in by_state:
                batches.add_metric([row["state"]], row["n"])
            done = SettlementBatch.objects.filter(state="done").aggregate(s=Sum("rows_total"))
            rows.add_metric([], done["s"] or 0)
            yield batches
            yield rows
        except Exception:
            pass
        try:
            from huzhu.hospitals.models import OnestopRequest

            settles = GaugeMetricFamily(
                "huzhu_onestop_requests",
                "One-stop requests recorded (settle, cancel), by the answer's business code.",
                labels=["action", "code"],
            )
            from django.db.models import Count

            for row in OnestopRequest.objects.values("action", "code").annotate(n=Count("pk")):
                settles.add_metric([row["action"], row["code"]], row["n"])
            yield settles
        except Exception:
            pass


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(_DatabaseFigures())
    return registry


def metrics_text() -> tuple[bytes, str]:
    return generate_latest(_registry()), CONTENT_TYPE_LATEST


def client_allowed(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in settings.HUZHU_METRICS_ALLOW:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False
