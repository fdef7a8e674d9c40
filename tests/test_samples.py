"""Every sample validates and renders to exactly its golden file (per environment).

Regenerate after an intended change with ECSDEPLOY_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecsdeploy.cli import cli
from ecsdeploy.config import environment_names, load_document

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
REVISION = "3f2c1ab9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8"


def _cases() -> list[tuple[str, Path, str | None]]:
    files = [*sorted(ROOT.glob("samples/*/deploy.yaml")), ROOT / "deploy.yaml.example"]
    cases = []
    for path in files:
        name = path.parent.name if path.name == "deploy.yaml" else "deploy.yaml.example"
        for env in [None, *environment_names(load_document(path))]:
            cases.append((name if env is None else f"{name}.{env}", path, env))
    return cases


CASES = _cases()


def test_every_sample_is_covered() -> None:
    names = {c[0].split(".")[0] for c in CASES}
    assert {"quickstart", "private-registry", "fargate", "multi-env", "production"} <= names


@pytest.mark.parametrize(("name", "path", "env"), CASES, ids=[c[0] for c in CASES])
def test_sample_validates_and_renders_to_golden(name: str, path: Path, env: str | None) -> None:
    runner = CliRunner()
    base = ["-f", str(path), "--revision", REVISION]
    if env:
        base += ["-e", env]
    result = runner.invoke(cli, [*base, "validate"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, [*base, "render"])
    assert result.exit_code == 0, result.output
    rendered = json.loads(result.output)
    golden = GOLDEN / f"{name}.json"
    if os.environ.get("ECSDEPLOY_UPDATE_GOLDEN") == "1":
        golden.write_text(json.dumps(rendered, indent=2, ensure_ascii=False) + "\n")
    assert golden.exists(), f"no golden file {golden.name}; run with ECSDEPLOY_UPDATE_GOLDEN=1"
    assert rendered == json.loads(golden.read_text())
