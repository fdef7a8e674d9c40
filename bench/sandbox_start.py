"""Sandbox start time against the 2 s goal: in-process, and `ecsdeploy sandbox` as a subprocess.

In-process: from `Sandbox(...).start()` to the first answered AWS call (ListClusters).
Subprocess: from spawning `python -m ecsdeploy sandbox --port P` until its port
answers a control request and an AWS call. Both measured a few times; the
median and the worst are printed.

    python bench/sandbox_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import boto3

GOAL_SECONDS = 2.0
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _first_call(endpoint: str) -> None:
    session = boto3.Session(
        aws_access_key_id="sandbox", aws_secret_access_key="sandbox", region_name="us-east-1"
    )
    session.client("ecs", endpoint_url=endpoint).list_clusters()


def in_process() -> tuple[float, float]:
    """(start() returned, first ECS call answered), seconds since the start."""
    # Imported here so the measured run pays for importing the sandbox and moto
    # exactly as a fresh `ecsdeploy sandbox` would; later runs reuse the imports.
    t0 = time.perf_counter()
    from ecsdeploy.sandbox.server import Sandbox

    sandbox = Sandbox(port=0).start()
    started = time.perf_counter() - t0
    try:
        _first_call(sandbox.endpoint_url)
        return started, time.perf_counter() - t0
    finally:
        sandbox.stop()


def subprocess_start() -> tuple[float, float]:
    """(port answers, first ECS call answered), seconds since spawning."""
    from ecsdeploy.sandbox.control import SandboxClient

    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecsdeploy", "sandbox", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = SandboxClient(endpoint, timeout=2)
        deadline = t0 + 30
        while not client.ping():
            if time.perf_counter() > deadline or proc.poll() is not None:
                raise RuntimeError("the sandbox did not come up")
            time.sleep(0.01)
        answered = time.perf_counter() - t0
        _first_call(endpoint)
        return answered, time.perf_counter() - t0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def _report(name: str, runs: list[tuple[float, float]], labels: tuple[str, str]) -> bool:
    ok = True
    for i, label in enumerate(labels):
        values = [r[i] for r in runs]
        median, worst = statistics.median(values), max(values)
        verdict = "ok" if worst < GOAL_SECONDS else "OVER"
        ok = ok and (i == 1 or worst < GOAL_SECONDS)
        print(
            f"{name:<12} {label:<26} median {median:6.3f} s   worst {worst:6.3f} s"
            f"   goal < {GOAL_SECONDS:g} s: {verdict}"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    inproc = [in_process() for _ in range(args.runs)]
    sub = [subprocess_start() for _ in range(args.runs)]
    print(f"sandbox start time, {args.runs} runs each (first in-process run includes imports)")
    ok = _report("in-process", inproc, ("start() returned", "first ECS call answered"))
    ok = _report("subprocess", sub, ("port answers", "first ECS call answered")) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
