"""Sandbox tests run on a paused clock and step it, so what they see does not depend on timing."""

from __future__ import annotations

import pytest

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack, build_stack


@pytest.fixture
def paused(sandbox: SandboxHandle) -> SandboxHandle:
    sandbox.control.speed = 0
    return sandbox


@pytest.fixture
def stack(paused: SandboxHandle) -> Stack:
    return build_stack(paused)
