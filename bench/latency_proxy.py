"""An HTTP proxy in front of the sandbox that adds a fixed delay to every request.

The sandbox answers in a few milliseconds; AWS's APIs, seen from a CI runner,
take tens. A benchmark that compares a tool making its calls one after the other
with one making them concurrently should see that latency, so both go through
this proxy in the same run. Only 127.0.0.1.
"""

from __future__ import annotations

import http.client
import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host"}


@contextmanager
def latency_proxy(target_url: str, delay_ms: float) -> Iterator[str]:
    """Yield the proxy's URL; every request to it reaches `target_url` `delay_ms` later."""
    target = urlparse(target_url)
    assert target.hostname == "127.0.0.1", "the proxy forwards to this machine only"
    delay = delay_ms / 1000.0

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in one write, without Nagle: otherwise a keep-alive
        # client's delayed ACK adds ~40 ms to every call after a connection's first,
        # a cost real AWS endpoints do not have.
        disable_nagle_algorithm = True

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            time.sleep(delay)
            conn = http.client.HTTPConnection(
                target.hostname or "127.0.0.1", target.port, timeout=60
            )
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            headers["Host"] = f"{target.hostname}:{target.port}"
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            self.send_response_only(resp.status)
            for key, value in resp.getheaders():
                if key.lower() not in HOP_HEADERS and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self._headers_buffer.append(b"\r\n")
            self._headers_buffer.append(payload)
            self.flush_headers()
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        def log_message(self, format: str, *args: object) -> None:
            return

    class Server(http.server.ThreadingHTTPServer):
        # socketserver's default backlog of 5 drops the SYNs of a burst of parallel
        # calls, and each dropped one costs the client a second (a TCP retransmit).
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
