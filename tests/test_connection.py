"""An AWS endpoint that refuses connections (a sandbox not started, a wrong port) is
reported at once, naming the URL, instead of after botocore's retries."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecsdeploy.adapters import netcheck

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "samples" / "quickstart" / "deploy.yaml"


def _closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _run(*args: str, endpoint: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="sandbox",
        AWS_SECRET_ACCESS_KEY="sandbox",
        AWS_REGION="us-east-1",
        PYTHONPATH=str(ROOT),
    )
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "ecsdeploy", "-f", str(DEPLOY), "--revision", "a" * 40, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    return proc, time.monotonic() - start


@pytest.mark.parametrize(
    "command",
    [("plan",), ("verify",), ("apply", "--yes"), ("rollback", "web"), ("history", "web")],
    ids=lambda c: c[0],
)
def test_a_refused_sandbox_endpoint_is_named_at_once(command: tuple[str, ...]) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    proc, took = _run(*command, endpoint=endpoint)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: cannot connect to {endpoint} (connection refused)",
        "  hint: is the sandbox running? start it with `ecsdeploy sandbox`, or unset "
        "AWS_ENDPOINT_URL to use AWS",
    ], proc.stderr
    assert took < 5, took


def test_an_unknown_endpoint_host_is_named_at_once() -> None:
    endpoint = "http://no-such-host.invalid:4566"
    proc, took = _run("plan", endpoint=endpoint)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: cannot connect to {endpoint} (host name not found)",
        "  hint: check --endpoint-url / AWS_ENDPOINT_URL and the network",
    ], proc.stderr
    assert took < 5, took


def test_a_proxied_endpoint_is_left_to_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert netcheck.proxied("http://sandbox.example:4566")
    monkeypatch.setenv("NO_PROXY", "sandbox.example")
    assert not netcheck.proxied("http://sandbox.example:4566")


def test_a_listening_endpoint_passes_the_probe() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert netcheck.refused(f"http://127.0.0.1:{s.getsockname()[1]}") is None
    assert netcheck.refused(f"http://127.0.0.1:{_closed_port()}") == "connection refused"
