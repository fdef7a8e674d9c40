"""`ecsdeploy demo` runs the whole walkthrough on the embedded sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_walks_through_and_rolls_back_the_broken_release(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.run(
        [sys.executable, "-m", "ecsdeploy", "--no-color", "demo", "--speed", "300"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # no deploy.yaml here: the demo brings its own
        timeout=300,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    for title in ("1/7", "2/7", "3/7", "4/7", "5/7", "6/7", "7/7"):
        assert f"=== {title}" in out
    assert "deploy.yaml is valid." in out
    assert "Apply complete: 2 of 2 services ok." in out
    # Each plan is printed once: by `plan --out`, not again by the apply of its file.
    assert out.count('~         LOG_LEVEL: "info" -> "debug"') == 2, out  # web and worker
    assert out.count("Plan: 2 images to push") == 1, out
    assert "$ ecsdeploy apply plan.json" in out
    assert "Essential container in task exited" in out
    assert "the service runs quickstart-web:3 again" in out
    assert out.rstrip().endswith("run `ecsdeploy plan` in your pull requests.")
    assert (
        "Plan: 0 images to push, 0 task definitions to register, 0 services to update, "
        "1 revision to deregister." in out
    )
    assert "no load balancer" not in out  # the worker opted out: not repeated in plans


def test_demo_without_the_sandbox_extra_says_how_to_install_it(tmp_path: Path) -> None:
    # moto hidden from this interpreter, as in an install without the `sandbox` extra.
    code = (
        "import importlib.util\n"
        "found = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'moto' else found(name, *a)\n"
        "from ecsdeploy.cli import main\n"
        "main(['demo'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 1, proc.stderr
    assert "the demo runs on the sandbox, which needs moto" in proc.stderr
    assert "pip install 'ecsdeploy[sandbox]'" in proc.stderr
    assert "Traceback" not in proc.stderr
