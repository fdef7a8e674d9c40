"""Test applications: a sample copied into a temporary folder and seeded into the sandbox."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from ecsdeploy.cli import cli
from ecsdeploy.config import load_config
from ecsdeploy.render import Renderer

ROOT = Path(__file__).resolve().parents[1]

# Operation names that change something, across the AWS APIs the tool uses.
WRITE_PREFIXES = (
    "Register",
    "Deregister",
    "Update",
    "Create",
    "Delete",
    "Put",
    "Tag",
    "Untag",
    "Start",
    "Stop",
    "Run",
    "Send",
    "Submit",
    "Modify",
    "Set",
    "Attach",
    "Detach",
    "Add",
    "Remove",
    "Batch Delete",
    "BatchDelete",
)


# apply's lock: a cluster tag written and removed again (see `lock_tags`), not a change.
LOCK_CALLS = ("ecs:TagResource", "ecs:UntagResource")


def write_calls(calls: dict[str, int], *, lock_aside: bool = False) -> list[str]:
    """The operations among the sandbox's call counts (`ecs:UpdateService`) that write;
    with `lock_aside`, apply's lock is not counted (check `lock_tags` is empty then)."""
    return sorted(
        op
        for op in calls
        if op.split(":", 1)[1].startswith(WRITE_PREFIXES) and not (lock_aside and op in LOCK_CALLS)
    )


def lock_tags(endpoint_url: str, cluster: str) -> dict[str, str]:
    """The `ecsdeploy:lock:*` tags a cluster carries now."""
    import boto3

    ecs = boto3.client("ecs", endpoint_url=endpoint_url, region_name="us-east-1")
    found = ecs.describe_clusters(clusters=[cluster], include=["TAGS"])["clusters"]
    tags = found[0].get("tags", []) if found else []
    return {t["key"]: t["value"] for t in tags if t["key"].startswith("ecsdeploy:lock:")}


REV_A = "aaaaaaa0000000000000000000000000000000a1"
REV_B = "bbbbbbb0000000000000000000000000000000b2"


@dataclass
class App:
    dir: Path
    endpoint_url: str

    @property
    def deploy_yaml(self) -> Path:
        return self.dir / "deploy.yaml"

    def run(
        self, *args: str, revision: str | None = REV_B, env: dict[str, str] | None = None
    ) -> Result:
        """Run the CLI on this app; `revision=None` reads it from the app's Git repository."""
        revision_args = ["--revision", revision] if revision else []
        argv = ["-f", str(self.deploy_yaml), *revision_args, *args]
        return CliRunner().invoke(cli, argv, env=env, catch_exceptions=False)

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.dir / relative
        text = path.read_text()
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1))


def copy_sample(sample: str, dest: Path) -> Path:
    target = dest / sample
    shutil.copytree(ROOT / "samples" / sample, target)
    return target


def copy_fargate_for_sandbox(dest: Path) -> Path:
    """The fargate sample, made to seed: the sandbox's region, the target group by name,
    and no network block (its subnets are made up; the ones seeding creates are used)."""
    folder = copy_sample("fargate", dest)
    deploy = folder / "deploy.yaml"
    text = deploy.read_text()
    for old, new in (
        ("region: eu-west-1", "region: us-east-1"),
        ("dkr.ecr.eu-west-1", "dkr.ecr.us-east-1"),
        (
            "target_group: arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/"
            "billing-api/6d0ecf831eec9f09",
            "target_group: billing-api",
        ),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    start = text.index("    network:")
    text = text[:start] + text[text.index("    desired_count:", start) :]
    deploy.write_text(text)
    return folder


def seed_app(handle: Any, folder: Path, revision: str = REV_A, instances: int | None = None) -> App:
    """Seed the sandbox with the app as deployed at `revision` (services steady on it)."""
    from ecsdeploy.sandbox.seed import seed

    config = load_config(folder / "deploy.yaml")
    rendered = Renderer(config, revision=revision, region=handle.region).render_all()
    seed(
        config,
        {k: r.task_definition for k, r in rendered.items()},
        endpoint_url=handle.endpoint_url,
        region=handle.region,
        instances=instances,
    )
    # As a first apply would have left it: each promoted image tagged with the revision.
    ecr = handle.client("ecr")
    for ref in Renderer(config, revision=revision).images().values():
        if ref.promote is None or config.registries[ref.registry_key].type != "ecr":
            continue
        image = ecr.batch_get_image(
            repositoryName=ref.repository, imageIds=[{"imageTag": ref.promote}]
        )["images"][0]
        ecr.put_image(
            repositoryName=ref.repository, imageManifest=image["imageManifest"], imageTag=ref.tag
        )
    return App(folder, handle.endpoint_url)


def spawn(app: App, *args: str, merge_stderr: bool = True) -> Any:
    """ecsdeploy on `app` in its own process (real exit status, stdout, signals)."""
    import os
    import subprocess
    import sys

    argv = [sys.executable, "-m", "ecsdeploy", "-f", str(app.deploy_yaml), "--revision", REV_B]
    return subprocess.Popen(
        [*argv, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )


def read_until(proc: Any, needle: str, timeout: float = 60) -> str:
    """The process's output up to the first line holding `needle` (AssertionError if
    it never comes)."""
    import time

    seen = ""
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never came:\n{seen}")
