"""Starting a sandbox is quick (the 2 s goal) and it stops cleanly."""

from __future__ import annotations

import pytest

from ecsdeploy.sandbox.control import SandboxClient


def test_a_second_sandbox_starts_answers_and_stops() -> None:
    # Its start time is a goal for bench/sandbox_start.py, not an assertion here.
    pytest.importorskip("moto")
    from ecsdeploy.sandbox.server import Sandbox

    with Sandbox(port=0, speed=1) as sandbox:
        assert sandbox.endpoint_url.startswith("http://127.0.0.1:")
        status = SandboxClient(sandbox.endpoint_url).status()
        assert status["speed"] == 1 and status["services"] == 0
    assert not SandboxClient(sandbox.endpoint_url, timeout=1).ping()
