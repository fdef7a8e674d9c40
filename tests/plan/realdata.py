"""The 24 real-world task definitions in tests/data/real-taskdefs, for parametrised tests.

They are public files from GitHub, both shapes (RegisterTaskDefinition input and
describe-task-definition output); SOURCES.md beside them says where each comes from.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

REAL_TASKDEFS_DIR = Path(__file__).resolve().parents[1] / "data" / "real-taskdefs"
EXPECTED_COUNT = 24


def real_taskdef_params(only: Collection[str] | None = None) -> list[Any]:
    """pytest parameters, one per file (id: its name without .json).

    `only`: the names (without .json) to keep; each must exist, so a renamed file
    fails collection instead of silently leaving a test with nothing to check.
    """
    paths = sorted(REAL_TASKDEFS_DIR.glob("*.json"))
    if only is not None:
        missing = sorted(set(only) - {p.stem for p in paths})
        if missing:
            raise FileNotFoundError(f"not in {REAL_TASKDEFS_DIR}: {', '.join(missing)}")
        paths = [p for p in paths if p.stem in only]
    if not paths:
        raise FileNotFoundError(f"no real task definitions in {REAL_TASKDEFS_DIR}")
    return [pytest.param(p, id=p.stem) for p in paths]


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        doc = json.load(f)
    assert isinstance(doc, dict)
    return doc
