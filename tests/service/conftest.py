"""Fixtures for the service settings: the quickstart app, seeded, with fast polls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.apps import App, copy_sample, seed_app
from tests.execute.conftest import fast


@pytest.fixture
def app(sandbox: Any, tmp_path: Path) -> App:
    folder = copy_sample("quickstart", tmp_path)
    fast(folder)
    return seed_app(sandbox, folder)
