"""A tiny WSGI toolkit for the fakes: request parsing, JSON answers, a threaded server."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.cookies import SimpleCookie
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]
    cookies: dict[str, str]

    @classmethod
    def from_environ(cls, environ) -> Request:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        return cls(
            method=environ["REQUEST_METHOD"],
            path=environ.get("PATH_INFO", "/"),
            query={k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()},
            body=body,
            headers=headers,
            cookies={k: m.value for k, m in cookie.items()},
        )

    def json(self) -> dict:
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


def answer_json(start_response, data, status: str = "200 OK"):
    body = json.dumps(data, ensure_ascii=False).encode()
    start_response(status, [("Content-Type", "application/json; charset=utf-8")])
    return [body]


def answer_html(start_response, html: str, status: str = "200 OK", headers=()):
    start_response(status, [("Content-Type", "text/html; charset=utf-8"), *headers])
    return [html.encode()]


def redirect(start_response, location: str, headers=()):
    start_response("302 Found", [("Location", location), *headers])
    return [b""]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # no access log on the test output
        pass


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0):
    """Start `app` on a free port in a daemon thread; returns (server, base URL)."""
    server = make_server(
        host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://{host}:{server.server_port}"


def serve_forever(app, host: str, port: int) -> None:
    server = make_server(
        host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    server.serve_forever()
