"""Startup benchmark: `ecsdeploy --version` against fabfuel's `ecs --version`, in one run.

Goal: ecsdeploy's median at most half of fabfuel's. Also times `ecsdeploy validate` on
the quickstart sample when it exists, and checks that importing the CLI loads none of
the heavy SDKs. Exits 1 when the goal is missed or a heavy SDK is imported.

    python -m bench.startup [--runs 15] [--json bench/results/startup.json]
    (or python bench/startup.py ...)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

if not __package__:  # run as `python bench/startup.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.peers import (
    REPO_DIR,
    CommandFailed,
    TimingStats,
    compile_ours,
    ensure_peers_venv,
    offline_env,
    run_once,
    timeit_command,
)

GOAL_RATIO = 0.5
HEAVY_MODULES = ("boto3", "botocore", "docker", "git", "moto")
QUICKSTART = Path("samples/quickstart/deploy.yaml")


def find_ecsdeploy() -> Path:
    """The repo's ecsdeploy: beside the running Python (the repo's venv), else .venv, else PATH."""
    candidates = [Path(sys.executable).parent / "ecsdeploy", REPO_DIR / ".venv/bin/ecsdeploy"]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    found = shutil.which("ecsdeploy")
    if found is None:
        raise SystemExit("no ecsdeploy executable: run `pip install -e .` in the repo's venv")
    return Path(found)


def imported_modules(python: Path, statement: str) -> tuple[set[str], float, list[str]]:
    """Top-level packages imported by `statement`, its cumulative import time in ms,
    and the heaviest imports at the top two levels (from `python -X importtime`)."""
    result = subprocess.run(
        [str(python), "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        env=offline_env(),
        cwd=REPO_DIR,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{statement!r} failed:\n{result.stderr[-2000:]}")
    packages: set[str] = set()
    top_level: list[tuple[int, str]] = []
    target_ms = 0.0
    target = statement.removeprefix("import ").strip()
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[1].strip().isdigit():
            continue  # the header line
        cumulative_us = int(fields[1])
        raw_name = fields[2]
        name = raw_name.strip()
        packages.add(name.split(".")[0])
        depth = (len(raw_name) - len(raw_name.lstrip()) - 1) // 2
        if depth <= 1 and name != target:
            top_level.append((cumulative_us, name))
        if name == target:
            target_ms = cumulative_us / 1000
    heaviest = [f"{name} {us / 1000:.1f} ms" for us, name in sorted(top_level, reverse=True)[:6]]
    return packages, target_ms, heaviest


def row(label: str, stats: TimingStats, reference: TimingStats | None) -> str:
    ratio = f"{stats.median / reference.median:6.2f}x" if reference else "       "
    return (
        f"  {label:<54} median {stats.median * 1000:7.1f} ms  "
        f"min {stats.min * 1000:7.1f} ms  {ratio}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="measured runs per command")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    ecsdeploy = find_ecsdeploy()
    python = ecsdeploy.parent / "python"
    if not python.exists():
        python = Path(sys.executable)
    print(f"ecsdeploy: {ecsdeploy}")
    compile_ours()  # as an installed wheel is; pip compiled the peers
    started = time.monotonic()
    peers = ensure_peers_venv()
    print(f"peers:     {peers.root} (ready in {time.monotonic() - started:.1f} s)")
    print(f"runs:      {args.runs} per command, after one warm-up run, wall time\n")

    env = offline_env()
    results: dict[str, TimingStats] = {}
    notes: list[str] = []

    results["ecs --version (fabfuel)"] = timeit_command(
        [str(peers.ecs), "--version"], args.runs, env
    )
    results["ecsdeploy --version"] = timeit_command([str(ecsdeploy), "--version"], args.runs, env)
    # ecs-deplojo has no --version; its --help is its cheapest full start.
    results["ecs-deplojo --help"] = timeit_command(
        [str(peers.ecs_deplojo), "--help"], args.runs, env
    )

    if (REPO_DIR / QUICKSTART).exists():
        validate = [str(ecsdeploy), "validate", "-f", str(QUICKSTART)]
        _, probe = run_once(validate, env)
        if probe.returncode != 0 and "No such option" in probe.stderr:
            # -f is a global option in this CLI: it goes before the command.
            notes.append("`validate -f FILE` is not accepted; timed `ecsdeploy -f FILE validate`")
            validate = [str(ecsdeploy), "-f", str(QUICKSTART), "validate"]
        try:
            results[" ".join(["ecsdeploy", *validate[1:]])] = timeit_command(
                validate, args.runs, env
            )
        except CommandFailed as exc:
            notes.append(f"validate not timed, it fails: {exc}")
    else:
        notes.append(f"{QUICKSTART} does not exist yet: validate not timed")

    reference = results["ecs --version (fabfuel)"]
    print("Startup (ratio = median / fabfuel's `ecs --version` median)")
    for label, stats in results.items():
        print(row(label, stats, reference))
    for note in notes:
        print(f"  note: {note}")

    ratio = results["ecsdeploy --version"].median / reference.median
    goal_met = ratio <= GOAL_RATIO
    print(
        f"\nGoal `ecsdeploy --version` <= {GOAL_RATIO:.0%} of `ecs --version`: "
        f"{ratio:.0%} -> {'met' if goal_met else 'MISSED'}"
    )

    packages, cli_ms, heaviest = imported_modules(python, "import ecsdeploy.cli")
    heavy = sorted(set(HEAVY_MODULES) & packages)
    print(
        f"\n`python -X importtime -c 'import ecsdeploy.cli'`: {cli_ms:.1f} ms cumulative, "
        f"{len(packages)} top-level packages"
    )
    print(f"  heaviest: {', '.join(heaviest)}")
    if heavy:
        print(f"  FAIL: imports {', '.join(heavy)}; must import none of {', '.join(HEAVY_MODULES)}")
    else:
        print(f"  ok: none of {', '.join(HEAVY_MODULES)} imported")

    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "goal_ratio": GOAL_RATIO,
            "ratio": ratio,
            "goal_met": goal_met,
            "heavy_imports": heavy,
            "import_ecsdeploy_cli_ms": cli_ms,
            "timings": {label: stats.as_dict() for label, stats in results.items()},
            "notes": notes,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0 if goal_met and not heavy else 1


if __name__ == "__main__":
    sys.exit(main())
