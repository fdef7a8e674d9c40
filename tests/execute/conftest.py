"""Fixtures for apply: a seeded quickstart app with fast polls, and a local HTTP server."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.apps import App, copy_sample, seed_app


def fast(app_dir: Path) -> None:
    """Poll the sandbox every 100 ms (it runs 600x faster than real time)."""
    path = app_dir / "deploy.yaml"
    text = path.read_text().replace("poll_interval: 2s", "poll_interval: 100ms")
    text = text.replace(
        "      minimum_healthy_percent: 0\n",
        "      minimum_healthy_percent: 0\n      poll_interval: 100ms\n",
    )
    path.write_text(text)


def break_web(app: App, variable: str, value: str = "1") -> None:
    """Make the next release of web misbehave in the sandbox (see docs/sandbox.md)."""
    app.edit(
        "taskdefs/web.json.j2",
        '{"name": "PORT", "value": "8080"},',
        f'{{"name": "PORT", "value": "8080"}}, {{"name": "{variable}", "value": "{value}"}},',
    )


@pytest.fixture
def app(sandbox: Any, tmp_path: Path) -> App:
    folder = copy_sample("quickstart", tmp_path)
    fast(folder)
    return seed_app(sandbox, folder)


@dataclass
class HttpServer:
    url: str
    status: int = 200
    body: str = "ok"
    hits: int = 0


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    state = HttpServer(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits += 1
            payload = state.body.encode()
            self.send_response(state.status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
