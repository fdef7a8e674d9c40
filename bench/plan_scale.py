"""Plan over 100 services in 5 clusters against the sandbox, versus a 1-service plan.

Goals (issue: plan): at most 10 DescribeServices calls, each task definition
described once, and wall time at most 4x that of a 1-service plan in the same run.

    .venv/bin/python -m bench.plan_scale [--clusters 5] [--per-cluster 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = """{
  "family": "{{ service.key }}",
  "containerDefinitions": [{
    "name": "app",
    "image": "{{ images[vars.image].uri }}",
    "memory": 64,
    "environment": [{"name": "SERVICE", "value": "{{ service.name }}"}]
  }]
}
"""


def write_app(folder: Path, clusters: int, per_cluster: int) -> list[str]:
    lines = [
        "version: 1",
        "region: us-east-1",
        "registries:",
        "  ecr: {type: ecr, url: 123456789012.dkr.ecr.us-east-1.amazonaws.com}",
        "images:",
    ]
    lines += [
        f"  img{c}: {{registry: ecr, repository: bench/img{c}, promote: latest}}"
        for c in range(clusters)
    ]
    lines += ["clusters:"] + [f"  c{c}: {{name: bench-{c}}}" for c in range(clusters)]
    lines += ["services:"]
    keys = []
    for c in range(clusters):
        for i in range(per_cluster):
            key = f"svc-{c}-{i}"
            keys.append(key)
            lines.append(
                f"  {key}: {{cluster: c{c}, task_definition: td.json.j2, desired_count: 1, "
                f"launch_type: EC2, zero_downtime: false, vars: {{image: img{c}}}}}"
            )
    (folder / "deploy.yaml").write_text("\n".join(lines) + "\n")
    (folder / "td.json.j2").write_text(TEMPLATE)
    return keys


def timed(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, list[float]]:
    samples = []
    for i in range(runs + 1):
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
        if i:  # the first run warms caches
            samples.append(elapsed)
    return statistics.median(samples), samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clusters", type=int, default=5)
    parser.add_argument("--per-cluster", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from ecsdeploy.config import load_config
    from ecsdeploy.render import Renderer
    from ecsdeploy.sandbox.seed import seed
    from ecsdeploy.sandbox.server import Sandbox

    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_REGION": "us-east-1",
    }
    os.environ.update(env)
    with tempfile.TemporaryDirectory() as tmp, Sandbox(speed=600) as sandbox:
        folder = Path(tmp)
        keys = write_app(folder, args.clusters, args.per_cluster)
        config = load_config(folder / "deploy.yaml")
        rendered = Renderer(config, revision="a" * 40).render_all()
        started = time.perf_counter()
        seed(
            config,
            {k: r.task_definition for k, r in rendered.items()},
            endpoint_url=sandbox.endpoint_url,
            instances=2,
        )
        print(
            f"seeded {len(keys)} services in {args.clusters} clusters "
            f"in {time.perf_counter() - started:.1f}s"
        )
        env["AWS_ENDPOINT_URL"] = sandbox.endpoint_url
        base = [
            sys.executable,
            "-m",
            "ecsdeploy",
            "-f",
            str(folder / "deploy.yaml"),
            "--revision",
            "b" * 40,
            "plan",
            "--format",
            "json",
        ]

        sandbox.reset_calls()
        one, _ = timed([*base, "--service", keys[0]], env, args.runs)
        one_calls = {k: v // (args.runs + 1) for k, v in sandbox.reset_calls().items()}
        full, _ = timed(base, env, args.runs)
        full_calls = {k: v // (args.runs + 1) for k, v in sandbox.reset_calls().items()}

    ratio = full / one
    describe = full_calls.get("ecs:DescribeServices", 0)
    tds = full_calls.get("ecs:DescribeTaskDefinition", 0)
    print(f"1-service plan:   median {one * 1000:.0f} ms  calls {one_calls}")
    print(f"{len(keys)}-service plan: median {full * 1000:.0f} ms  calls {full_calls}")
    print(f"DescribeServices calls: {describe} (goal <= {len(keys) // 10})")
    print(
        f"DescribeTaskDefinition calls: {tds} for {len(keys)} task definitions in use "
        "(goal: each once)"
    )
    print(f"wall time ratio {len(keys)} vs 1 service: {ratio:.2f}x (goal <= 4x)")
    ok = describe <= len(keys) // 10 and tds == len(keys) and ratio <= 4
    print("goals met" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
