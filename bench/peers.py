"""Peer tools for benchmarks: fabfuel's ecs-deploy and ecs-deplojo in their own virtualenv.

Other benchmarks import this module:

    from bench.peers import ensure_peers_venv, timeit_command, offline_env

    peers = ensure_peers_venv()          # made once, kept in bench/.peers/ (git-ignored)
    stats = timeit_command([str(peers.ecs), "--version"], runs=15, env=offline_env())
    print(stats.median, stats.min)

The peers are pinned so figures compare like with like from one run to the next.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import statistics
import subprocess
import sys
import time
import venv
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
PEERS_DIR = BENCH_DIR / ".peers"
PEERS_VENV = PEERS_DIR / "venv"
PEERS_STAMP = PEERS_DIR / "installed.json"

# package -> console script. fabfuel's package is `ecs-deploy`, its command `ecs`.
PEER_REQUIREMENTS: tuple[str, ...] = ("ecs-deploy==1.17.0", "ecs-deplojo==0.13.0")


@dataclass(frozen=True)
class PeerVenv:
    """The peers' virtualenv and the executables in it."""

    root: Path
    python: Path
    ecs: Path  # fabfuel's ecs-deploy
    ecs_deplojo: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"


def _peer_venv(root: Path) -> PeerVenv:
    bin_dir = root / "bin"
    return PeerVenv(
        root=root,
        python=bin_dir / "python",
        ecs=bin_dir / "ecs",
        ecs_deplojo=bin_dir / "ecs-deplojo",
    )


def _wanted_stamp() -> dict[str, object]:
    return {
        "requirements": list(PEER_REQUIREMENTS),
        "python": ".".join(str(p) for p in sys.version_info[:2]),
    }


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """One creator at a time when benchmarks start in parallel."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_peers_venv(*, quiet: bool = True) -> PeerVenv:
    """Create (once) the peers' virtualenv in bench/.peers/ and return its executables.

    Reused as long as the pins and the Python minor version are the same; remade otherwise.
    """
    peers = _peer_venv(PEERS_VENV)
    with _lock(PEERS_DIR / ".lock"):
        try:
            current = json.loads(PEERS_STAMP.read_text())
        except (OSError, ValueError):
            current = None
        ready = current == _wanted_stamp() and all(
            p.exists() for p in (peers.python, peers.ecs, peers.ecs_deplojo)
        )
        if ready:
            return peers
        PEERS_STAMP.unlink(missing_ok=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(PEERS_VENV)
        cmd = [str(peers.python), "-m", "pip", "install", *PEER_REQUIREMENTS]
        if quiet:
            cmd.insert(4, "-q")
        result = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"installing {' '.join(PEER_REQUIREMENTS)} failed "
                f"(exit {result.returncode}):\n{result.stderr[-3000:]}"
            )
        missing = [p for p in (peers.ecs, peers.ecs_deplojo) if not p.exists()]
        if missing:
            raise RuntimeError(f"peers installed but without {', '.join(map(str, missing))}")
        PEERS_STAMP.write_text(json.dumps(_wanted_stamp(), indent=2) + "\n")
    return peers


def compile_ours() -> None:
    """Byte-compile ecsdeploy, as installing a wheel does (pip did so for the peers).

    A checkout installed in editable mode has no bytecode when PYTHONDONTWRITEBYTECODE
    is set (it is on these machines): every run would then compile each module it
    imports, a cost no installed tool pays.
    """
    import compileall

    compileall.compile_dir(str(REPO_DIR / "ecsdeploy"), quiet=1, force=False)


def offline_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment made safe for AWS tools: dummy credentials, no instance
    metadata lookups, and any AWS call sent to a closed port on 127.0.0.1 unless
    AWS_ENDPOINT_URL already points somewhere (e.g. the sandbox)."""
    env = dict(os.environ)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(key, None)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
    )
    env.setdefault("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class TimingStats:
    """Wall-clock seconds of `runs` runs of one command (after `warmup` unmeasured ones)."""

    argv: tuple[str, ...]
    samples: tuple[float, ...]

    @property
    def runs(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)

    def as_dict(self) -> dict[str, object]:
        return {
            "argv": list(self.argv),
            "runs": self.runs,
            "median_s": self.median,
            "min_s": self.min,
            "max_s": self.max,
            "mean_s": self.mean,
            "samples_s": list(self.samples),
        }


class CommandFailed(RuntimeError):
    pass


def run_once(
    argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run once; return the wall time in seconds and the finished process."""
    start = time.perf_counter()
    result = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else offline_env(),
        cwd=cwd or REPO_DIR,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    return time.perf_counter() - start, result


def timeit_command(
    argv: Sequence[str],
    runs: int,
    env: Mapping[str, str] | None = None,
    *,
    warmup: int = 1,
    cwd: Path | None = None,
    check: bool = True,
) -> TimingStats:
    """Time `runs` runs of a command in a subprocess (after `warmup` to fill the OS caches).

    `env=None` means `offline_env()`. With `check`, a non-zero exit raises CommandFailed:
    a benchmark of a command that fails measures nothing.
    """
    if runs < 1:
        raise ValueError("runs must be at least 1")
    samples: list[float] = []
    for i in range(warmup + runs):
        elapsed, result = run_once(argv, env, cwd)
        if check and result.returncode != 0:
            raise CommandFailed(
                f"{' '.join(argv)} exited {result.returncode}:\n"
                f"{(result.stderr or result.stdout)[-2000:]}"
            )
        if i >= warmup:
            samples.append(elapsed)
    return TimingStats(argv=tuple(argv), samples=tuple(samples))


if __name__ == "__main__":
    found = ensure_peers_venv()
    print(f"peers venv: {found.root}")
    print(f"  ecs:         {found.ecs}")
    print(f"  ecs-deplojo: {found.ecs_deplojo}")
