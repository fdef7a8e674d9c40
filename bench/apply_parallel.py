"""Redeploying 20 services: one `ecsdeploy apply` against the loop users write today.

Two figures, each against the sandbox in the same run:
1. without waiting: `ecsdeploy apply --no-wait` for 20 services versus a shell loop of
   fabfuel's `ecs deploy CLUSTER SERVICE --tag T --timeout -1` (goal: at least 10x faster);
2. with waiting: 20 rollouts in one `ecsdeploy apply` versus the slowest single-service
   rollout (goal: within 1.5x).
API calls by operation are printed for each.

    .venv/bin/python -m bench.apply_parallel [--services 20] [--speed 60] [--latency-ms 0 50]

ecsdeploy is byte-compiled first, as an installed wheel is (pip compiled the
peers). Each figure is measured once per API latency given (`bench/latency_proxy.py` adds it
in front of the sandbox, for both tools alike): the sandbox answers in a few
milliseconds, AWS's APIs from a CI runner in tens.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = """{
  "family": "{{ service.key }}",
  "containerDefinitions": [{
    "name": "app",
    "image": "{{ images.app.uri }}",
    "memory": 64
  }]
}
"""


def write_app(folder: Path, services: int) -> list[str]:
    keys = [f"svc-{i:02d}" for i in range(services)]
    lines = [
        "version: 1",
        "region: us-east-1",
        "registries:",
        "  ecr: {type: ecr, url: 123456789012.dkr.ecr.us-east-1.amazonaws.com}",
        "images:",
        "  app: {registry: ecr, repository: bench/app, promote: latest}",
        "clusters:",
        "  main: {name: bench}",
        "services:",
    ]
    for key in keys:
        lines.append(
            f"  {key}: {{cluster: main, task_definition: td.json.j2, desired_count: 2, "
            "launch_type: EC2, zero_downtime: false, keep_revisions: 10, deployment: "
            "{minimum_healthy_percent: 50, maximum_percent: 200, poll_interval: 200ms}}"
        )
    (folder / "deploy.yaml").write_text("\n".join(lines) + "\n")
    (folder / "td.json.j2").write_text(TEMPLATE)
    return keys


def run(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"
        )
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 50.0])
    parser.add_argument("--runs", type=int, default=3, help="ecsdeploy runs (the median counts)")
    args = parser.parse_args()
    from bench.peers import compile_ours

    compile_ours()
    results = [
        measure(args.services, args.speed, latency, args.runs) for latency in args.latency_ms
    ]
    print(
        "\n| API latency | --no-wait: ecsdeploy | fabfuel loop | speed-up (goal >= 10x) "
        "| waiting: all at once / slowest single (goal <= 1.5x) |"
    )
    print("|---|---|---|---|---|")
    for latency, r in zip(args.latency_ms, results, strict=True):
        print(
            f"| {latency:g} ms | {r.ours:.2f} s | {r.loop:.2f} s | **{r.speedup:.1f}x** "
            f"| {r.all_at_once:.2f} s / {r.slowest:.2f} s = **{r.ratio:.2f}x** |"
        )
    ok = all(r.speedup >= 10 and r.ratio <= 1.5 for r in results)
    print("goals met" if ok else "GOAL MISSED (see above)")
    return 0 if ok else 1


@dataclass(frozen=True)
class Result:
    ours: float
    loop: float
    all_at_once: float
    slowest: float

    @property
    def speedup(self) -> float:
        return self.loop / self.ours

    @property
    def ratio(self) -> float:
        return self.all_at_once / self.slowest


def _calls(counts: dict[str, int]) -> str:
    return f"{sum(counts.values())} {dict(sorted(counts.items()))}"


def measure(services: int, speed: float, latency_ms: float, runs: int) -> Result:
    from bench.latency_proxy import latency_proxy
    from bench.peers import ensure_peers_venv
    from ecsdeploy.config import load_config
    from ecsdeploy.render import Renderer
    from ecsdeploy.sandbox.seed import seed
    from ecsdeploy.sandbox.server import Sandbox

    peers = ensure_peers_venv()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    os.environ.update(env)
    print(f"\n--- API latency {latency_ms:g} ms per call ---")
    with (
        tempfile.TemporaryDirectory() as tmp,
        Sandbox(speed=speed) as sandbox,
        latency_proxy(sandbox.endpoint_url, latency_ms) as endpoint,
    ):
        sandbox.reset()  # moto's state is per process: start each latency from nothing
        folder = Path(tmp)
        keys = write_app(folder, services)
        config = load_config(folder / "deploy.yaml")
        rendered = Renderer(config, revision="a" * 40).render_all()
        seed(
            config,
            {k: r.task_definition for k, r in rendered.items()},
            endpoint_url=sandbox.endpoint_url,
            instances=4,
        )
        env["AWS_ENDPOINT_URL"] = endpoint
        ours = [sys.executable, "-m", "ecsdeploy", "-f", str(folder / "deploy.yaml")]
        apply = ["apply", "--yes", "--allow-downtime", "--parallel", str(services)]

        # 1. No waiting: ecsdeploy `runs` times (each a new revision), then the loop.
        times = []
        for i in range(runs):
            sandbox.reset_calls()
            revision = f"{0xB0 + i:02x}" * 20  # b0b0…, b1b1…: none used below
            times.append(run([*ours, "--revision", revision, *apply, "--no-wait"], env))
            calls_ours = sandbox.reset_calls()
            sandbox.settle()
        t_ours = statistics.median(times)
        t_loop = 0.0
        for key in keys:
            t_loop += run(
                [str(peers.ecs), "deploy", "bench", key, "--tag", "ccccccc", "--timeout", "-1"],
                env,
            )
        calls_loop = sandbox.reset_calls()
        sandbox.settle()
        print(
            f"--no-wait, {len(keys)} services: ecsdeploy {t_ours:.2f}s in one run (median of "
            f"{runs}: {', '.join(f'{t:.2f}' for t in times)}), fabfuel loop {t_loop:.2f}s "
            f"-> {t_loop / t_ours:.1f}x faster (goal >= 10x)"
        )
        print(f"  API calls ecsdeploy: {_calls(calls_ours)}")
        print(f"  API calls fabfuel:   {_calls(calls_loop)}")

        # 2. Waiting: the slowest of single rollouts, then all at once.
        singles = []
        for i, key in enumerate(keys[:3]):
            singles.append(
                run([*ours, "--revision", f"{i + 1}" * 40, *apply, "--service", key], env)
            )
        slowest = max(singles)
        sandbox.reset_calls()
        t_all = run([*ours, "--revision", "d" * 40, *apply], env)
        calls_all = sandbox.reset_calls()
        print(
            f"waiting, {len(keys)} rollouts at once: {t_all:.2f}s; slowest single rollout "
            f"{slowest:.2f}s (of {len(singles)}) -> {t_all / slowest:.2f}x (goal <= 1.5x)"
        )
        print(f"  API calls: {_calls(calls_all)}")
    return Result(t_ours, t_loop, t_all, slowest)


if __name__ == "__main__":
    raise SystemExit(main())
