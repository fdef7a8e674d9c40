"""The 24 real-world task definitions in ../shared/data/real-taskdefs, for parametrised tests.

CI runs in a fresh clone with `../shared` beside it; without it the tests using
these files are skipped with a reason rather than silently passing on nothing.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

REAL_TASKDEFS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real-taskdefs"
EXPECTED_COUNT = 24


def _paths() -> list[Path]:
    if not REAL_TASKDEFS_DIR.is_dir():
        return []
    return sorted(REAL_TASKDEFS_DIR.glob("*.json"))


def real_taskdef_params(only: Collection[str] | None = None) -> list[Any]:
    """pytest parameters, one per file (id: its name without .json), or one skipped one.

    `only`: the names (without .json) to keep.
    """
    paths = [p for p in _paths() if only is None or p.stem in only]
    if not paths:
        reason = (
            f"none of {sorted(only or ())} in {REAL_TASKDEFS_DIR}"
            if REAL_TASKDEFS_DIR.is_dir()
            else f"real task definitions absent: {REAL_TASKDEFS_DIR} (clone ../shared beside the repo)"
        )
        return [pytest.param(None, id="no-real-taskdefs", marks=pytest.mark.skip(reason=reason))]
    return [pytest.param(p, id=p.stem) for p in paths]


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        doc = json.load(f)
    assert isinstance(doc, dict)
    return doc
