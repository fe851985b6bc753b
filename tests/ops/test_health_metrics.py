"""/healthz and /metrics: what a load balancer, a monitor and Prometheus get."""

import json

import pytest
from django.test import Client

from huzhu.ops.scheduler import heartbeat_write
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_():
    return Client(HTTP_HOST="localhost")


def test_healthz_reports_each_check_without_personal_data(client_, settings, tmp_path):
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "docs"
    member = MemberFactory()
    response = client_.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {"database", "storage", "worker", "queue"} <= set(body["checks"])
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["queue"]["depth"] == 0
    text = response.content.decode()
    assert member.name not in text and member.id_number not in text


def test_healthz_is_503_when_storage_is_unusable(client_, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    settings.HUZHU_DOCUMENT_DIR = blocker / "docs"
    response = client_.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["storage"]["ok"] is False
    assert str(tmp_path) not in response.content.decode()  # no server paths


def test_healthz_require_worker_needs_a_recent_heartbeat(client_, settings, tmp_path):
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "docs"
    assert client_.get("/healthz").status_code == 200  # workers are not required by default
    response = client_.get("/healthz?require=worker")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["alive"] == 0
    heartbeat_write()
    response = client_.get("/healthz?require=worker")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"]["alive"] == 1


def test_healthz_is_503_when_the_database_is_down(client_, monkeypatch):
    from huzhu.ops import health

    def broken():
        raise RuntimeError("db down")

    monkeypatch.setattr(health, "_database", broken)
    response = client_.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "ok": False,
        "error": "RuntimeError",
        "ms": response.json()["checks"]["database"]["ms"],
    }


def test_metrics_only_for_allowed_addresses(client_, settings):
    settings.HUZHU_METRICS_ALLOW = ["127.0.0.1", "10.8.0.0/16"]
    assert client_.get("/metrics", REMOTE_ADDR="192.168.1.9").status_code == 403
    assert client_.get("/metrics", REMOTE_ADDR="10.8.3.4").status_code == 200
    assert client_.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200


def test_metrics_count_requests_and_read_database_figures(client_):
    from huzhu.settlements.models import SettlementBatch

    SettlementBatch.objects.create(file_name="a.csv", checksum="x", state="done", rows_total=7)
    client_.get("/healthz")
    text = client_.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'huzhu_http_requests_total{method="GET",route="healthz",status="200"}' in text
    assert 'huzhu_http_request_duration_seconds_count{route="healthz"}' in text
    assert "huzhu_task_queue_depth 0.0" in text
    assert 'huzhu_settlement_imports{state="done"} 1.0' in text
    assert "huzhu_settlement_rows_imported 7.0" in text


def test_request_id_is_answered_and_kept_when_well_formed(client_):
    response = client_.get("/healthz", HTTP_X_REQUEST_ID="abc-123.x")
    assert response["X-Request-ID"] == "abc-123.x"
    generated = client_.get("/healthz", HTTP_X_REQUEST_ID="bad id\n<script>")["X-Request-ID"]
    assert generated != "bad id\n<script>" and len(generated) == 32


def test_json_log_lines_carry_the_request_id():
    import logging

    from pythonjsonlogger.json import JsonFormatter

    from huzhu.ops.tracing import RequestIdLogFilter, request_id_scope

    record = logging.LogRecord("huzhu.test", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    with request_id_scope("rid-42"):
        RequestIdLogFilter().filter(record)
    line = JsonFormatter("%(levelname)s %(name)s %(request_id)s %(message)s").format(record)
    assert json.loads(line) == {
        "levelname": "INFO",
        "name": "huzhu.test",
        "request_id": "rid-42",
        "message": "hello x",
    }


def test_a_task_runs_under_the_request_id_it_was_enqueued_with():
    from types import SimpleNamespace

    from huzhu.ops import tracing

    task_result = SimpleNamespace(id="task-1")
    with tracing.request_id_scope("rid-7"):
        tracing._on_enqueued(None, task_result)
    # In the worker (no request): the id comes back while the task runs, then goes.
    assert tracing.current_request_id() is None
    tracing._on_started(None, task_result)
    assert tracing.current_request_id() == "rid-7"
    tracing._on_finished(None, task_result)
    assert tracing.current_request_id() is None
