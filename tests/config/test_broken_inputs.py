"""Every broken input exits 3, says where, and never reaches for AWS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.config.corpus import CASES, Case
from tests.fixtures.gitrepo import git


def _lay_out(case: Case, root: Path) -> Path:
    folder = root / case.id / "app"
    folder.mkdir(parents=True)
    raw = case.yaml if isinstance(case.yaml, bytes) else case.yaml.encode()
    (folder / "deploy.yaml").write_bytes(raw)
    for name, text in case.files.items():
        (folder / name).write_text(text)
    if case.git:
        git(folder, "init", "-q")
    return folder


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("corpus")
    payload = []
    for case in CASES:
        folder = _lay_out(case, root)
        argv = list(case.argv)
        if case.revision:
            argv = ["--revision", case.revision, *argv]
        payload.append({"id": case.id, "cwd": str(folder), "argv": argv})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECSDEPLOY_", "GIT_"))}
    env["GIT_CEILING_DIRECTORIES"] = str(root)  # the temp folder is not inside a repository
    proc = subprocess.run(
        [sys.executable, "-m", "tests.config.run_corpus"],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_input(case: Case, results: dict[str, Any]) -> None:
    result = results[case.id]
    stderr = result["stderr"]
    assert result["code"] == 3, stderr
    for text in case.expect:
        assert text in stderr, f"{text!r} not in:\n{stderr}"
    assert "Traceback" not in stderr
    assert result["aws_loaded"] == [], "an AWS SDK was imported while validating input"
