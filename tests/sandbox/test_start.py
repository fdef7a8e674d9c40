"""Starting a sandbox is quick (the 2 s goal) and it stops cleanly."""

from __future__ import annotations

import time

import pytest

from ecsdeploy.sandbox.control import SandboxClient


def test_a_second_sandbox_starts_within_two_seconds() -> None:
    pytest.importorskip("moto")
    from ecsdeploy.sandbox.server import Sandbox

    t0 = time.perf_counter()
    with Sandbox(port=0, speed=1) as sandbox:
        elapsed = time.perf_counter() - t0
        assert sandbox.endpoint_url.startswith("http://127.0.0.1:")
        status = SandboxClient(sandbox.endpoint_url).status()
        assert status["speed"] == 1 and status["services"] == 0
    assert elapsed < 2.0
    assert not SandboxClient(sandbox.endpoint_url, timeout=1).ping()
