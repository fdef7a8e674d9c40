"""Every sample's "on the sandbox" block runs as its README writes it.

Each sample README has a ```sh block that seeds a sandbox
(`eval "$(ecsdeploy sandbox --detach --seed …)"`) and then goes validate /
verify -> plan (a rollout) -> apply -> plan (No changes.) -> a release made to
crash, rolled back (exit 1) -> history -> `sandbox --stop`. This test runs those
lines verbatim, one bash shell for the block, in a Git repository holding the
sample, with `ecsdeploy` on PATH. The only edits: a free port and a faster
clock for the sandbox, and for multi-env the environment (`-e staging` becomes
`-e production`, or goes for dev).

The trailing comments say what a line must do, and the test holds them to it:
"exit N" its exit status (else 0), "a rollout" a task definition to register,
"No changes." and "rolled back" those words in its output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.apps import ROOT
from tests.fixtures.servers import free_port

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SAMPLES = ROOT / "samples"
SPEED = 240  # simulated seconds per second in these runs (the README's default is 60)


def sandbox_block(readme: Path) -> list[str]:
    """The lines of the README's shell block that seeds a sandbox."""
    blocks = re.findall(r"```sh\n(.*?)```", readme.read_text(), flags=re.S)
    found = [b for b in blocks if "sandbox --detach --seed" in b]
    assert len(found) == 1, f"{readme}: expected one block with `sandbox --detach --seed`"
    return [line for line in found[0].splitlines() if line.strip()]


@dataclass(frozen=True)
class Step:
    line: str
    status: int
    output: str


def expected_status(line: str) -> int:
    m = re.search(r"#.*\bexit (\d+)", line)
    return int(m.group(1)) if m else 0


def run_block(lines: list[str], cwd: Path, env: dict[str, str], tmp: Path) -> list[Step]:
    """Run `lines` in one bash, each line's output and status kept apart."""
    script = [
        "set -u",
        'trap \'[ -n "${ECSDEPLOY_SANDBOX_PID:-}" ] && '
        'kill "$ECSDEPLOY_SANDBOX_PID" 2>/dev/null; true\' EXIT',
    ]
    for n, line in enumerate(lines):
        script.append(f'{{ {line}\n}} >"{tmp}/{n}.out" 2>&1; echo $? >"{tmp}/{n}.rc"')
    proc = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    steps = []
    for n, line in enumerate(lines):
        rc = tmp / f"{n}.rc"
        if not rc.exists():
            raise AssertionError(f"the block stopped before `{line}`:\n{proc.stderr}")
        steps.append(Step(line, int(rc.read_text()), (tmp / f"{n}.out").read_text()))
    return steps


def git_repo_with(sample: str, dest: Path) -> Path:
    """A clean Git checkout holding samples/SAMPLE, as a clone of this repository would."""
    repo = dest / "repo"
    shutil.copytree(SAMPLES / sample, repo / "samples" / sample)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for argv in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "sample"]):
        subprocess.run(["git", *argv], cwd=repo, env=env, check=True)
    return repo


def shell_env(tmp: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "ECSDEPLOY_")) and k not in ("DOCKER_HOST",)
    }
    bin_dir = str(Path(sys.executable).parent)
    env |= {
        "PATH": f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}",
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp),  # no ~/.aws of the developer's
        "TMPDIR": str(tmp),
        "NO_COLOR": "1",
        **extra,
    }
    return env


CASES = [
    ("quickstart", None),
    ("fargate", None),
    ("multi-env", None),
    ("multi-env", "staging"),
    ("multi-env", "production"),
    ("private-registry", None),
    ("reference", None),
    ("production", None),
    ("blue-green", None),
]


@pytest.mark.parametrize(
    ("sample", "environment"), CASES, ids=[f"{s}-{e or 'default'}" for s, e in CASES]
)
def test_sample_runs_on_the_sandbox_as_its_readme_says(
    sample: str, environment: str | None, tmp_path: Path, request: Any
) -> None:
    lines = sandbox_block(SAMPLES / sample / "README.md")
    extra: dict[str, str] = {}
    if any("docker build" in line for line in lines):
        engine = request.getfixturevalue("docker_engine")
        extra |= engine.env
    port = free_port()
    edited = []
    for line in lines:
        line = line.replace("sandbox --detach", f"sandbox --port {port} --speed {SPEED} --detach")
        if sample == "multi-env":
            assert "-e staging" in line or "sandbox --" in line, line
            line = line.replace("-e staging", f"-e {environment}" if environment else "").replace(
                "  ", " "
            )
        edited.append(line)
    repo = git_repo_with(sample, tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    steps = run_block(edited, repo, shell_env(tmp_path, extra), out_dir)

    transcript = "\n".join(f"$ {s.line}\n[exit {s.status}]\n{s.output}" for s in steps)
    for step in steps:
        assert step.status == expected_status(step.line), transcript
        comment = step.line.partition("#")[2]
        if "a rollout" in comment:
            assert "register task definition" in step.output, transcript
        if "No changes." in comment:
            assert "No changes." in step.output, transcript
        if "rolled back" in comment:
            assert "rolled back" in step.output, transcript
    history = next(s for s in steps if " history " in s.line)
    assert "rolled_back" in history.output or "rolled back" in history.output, transcript
    assert "stopped" in steps[-1].output, transcript


def test_every_sample_has_a_sandbox_walkthrough() -> None:
    samples = sorted(p.name for p in SAMPLES.iterdir() if (p / "deploy.yaml").is_file())
    assert sorted({s for s, _ in CASES}) == samples
    for sample in samples:
        lines = sandbox_block(SAMPLES / sample / "README.md")
        assert lines[-1] == "ecsdeploy sandbox --stop"
        assert sum(expected_status(line) == 1 for line in lines) == 1
