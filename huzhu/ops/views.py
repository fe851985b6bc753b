"""`/healthz` and `/metrics`: for load balancers, monitors and Prometheus, not for people."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import health_report
from .metrics import client_allowed, metrics_text


@never_cache
@require_GET
def healthz(request):
    healthy, body = health_report(require_worker=request.GET.get("require") == "worker")
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
@require_GET
def metrics(request):
    if not client_allowed(request.META.get("REMOTE_ADDR")):
        return HttpResponseForbidden("metrics: address not allowed\n", content_type="text/plain")
    payload, content_type = metrics_text()
    return HttpResponse(payload, content_type=content_type)
