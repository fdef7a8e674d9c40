"""The demo: the whole workflow on the embedded sandbox, no AWS account and no Docker.

validate -> plan -> apply (a live rolling deployment) -> a template change ->
plan (a one-line diff) -> apply -> a broken release, rolled back by itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

from ecsdeploy.errors import OperationError

_HERE = Path(__file__).resolve().parent
SPEED = 20.0  # simulated seconds per second: a rollout of a minute takes a few seconds


def quickstart_dir() -> Path:
    for candidate in (_HERE / "samples" / "quickstart", _HERE.parent / "samples" / "quickstart"):
        if (candidate / "deploy.yaml").is_file():
            return candidate
    raise OperationError("the quickstart sample is missing from this installation")


def revision(n: int) -> str:
    """A made-up Git revision for release n (the demo needs no repository)."""
    return hashlib.sha1(f"ecsdeploy demo release {n}".encode()).hexdigest()  # noqa: S324


def _title(text: str, color: bool) -> None:
    line = f"\n=== {text} "
    click.echo(
        click.style(line.ljust(78, "="), bold=True, fg="cyan") if color else line.ljust(78, "=")
    )


def _say(text: str) -> None:
    click.echo(text)


def run_demo(invoke: Callable[[list[str]], int], *, color: bool, speed: float = SPEED) -> int:
    """Run the walkthrough; `invoke` runs one ecsdeploy command line and returns its exit code."""
    import importlib.util

    if importlib.util.find_spec("moto") is None:
        raise OperationError(
            "the demo runs on the sandbox, which needs moto",
            hint="pip install 'ecsdeploy[sandbox]'",
        )
    from ecsdeploy.config import load_config
    from ecsdeploy.render import Renderer
    from ecsdeploy.sandbox.seed import seed
    from ecsdeploy.sandbox.server import Sandbox

    with tempfile.TemporaryDirectory(prefix="ecsdeploy-demo-") as tmp:
        app = Path(tmp) / "quickstart"
        shutil.copytree(quickstart_dir(), app)
        deploy = str(app / "deploy.yaml")

        _title("1/7  A local ECS", color)
        sandbox = Sandbox(speed=speed).start()
        saved_env = {k: os.environ.get(k) for k in _AWS_VARS}
        os.environ.update(
            AWS_ENDPOINT_URL=sandbox.endpoint_url,
            AWS_ACCESS_KEY_ID="sandbox",
            AWS_SECRET_ACCESS_KEY="sandbox",  # noqa: S106 (the sandbox's, not a secret)
            AWS_REGION="us-east-1",
        )
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
        try:
            _say(f"The sandbox runs on {sandbox.endpoint_url} ({speed:g}x faster than real time).")
            config = load_config(deploy)
            rendered = Renderer(config, revision=revision(1)).render_all()
            seed(
                config,
                {k: r.task_definition for k, r in rendered.items()},
                endpoint_url=sandbox.endpoint_url,
            )
            _say(
                "Seeded: cluster `quickstart` with EC2 instances, target group `quickstart-web`,\n"
                "ECR images, and the services `web` (2 tasks) and `worker` on release 1."
            )
            base = ["-f", deploy]

            _title("2/7  validate: deploy.yaml, references and templates (no AWS call)", color)
            invoke([*base, "--revision", revision(2), "validate"])

            # The plan is saved and applied as reviewed: apply of a plan file does not
            # print it again.
            plan = str(app / "plan.json")
            _title("3/7  plan release 2: what apply will do, for the pull request", color)
            invoke([*base, "--revision", revision(2), "plan", "--out", plan])

            _title("4/7  apply the reviewed plan: tag, register, update, wait, check", color)
            code = invoke(["apply", plan])
            if code != 0:
                return code

            _title("5/7  a template change: LOG_LEVEL=debug is a one-line diff", color)
            invoke(
                [
                    *base,
                    "--revision",
                    revision(2),
                    "--var",
                    "log_level=debug",
                    "plan",
                    "--out",
                    plan,
                ]
            )
            code = invoke(["apply", plan])
            if code != 0:
                return code

            _title("6/7  release 3 is broken: its container crashes (SANDBOX_CRASH=1)", color)
            template = app / "taskdefs" / "web.json.j2"
            good = template.read_text()
            template.write_text(
                good.replace(
                    '{"name": "PORT", "value": "8080"},',
                    '{"name": "PORT", "value": "8080"}, {"name": "SANDBOX_CRASH", "value": "1"},',
                )
            )
            code = invoke([*base, "--revision", revision(3), "apply", "--yes", "--service", "web"])
            _say(
                f"\napply exited {code}: the release failed, ECS's circuit breaker rolled it "
                "back,\nand ecsdeploy waited until the previous revision served again."
            )

            _title("7/7  the broken change reverted: what is left is housekeeping", color)
            template.write_text(good)
            invoke([*base, "--revision", revision(2), "--var", "log_level=debug", "plan"])
            _say(
                "\nOld revisions are only deregistered after a success. The failed release is "
                "recorded\nas rolled_back on its revision: `ecsdeploy history web` lists it, and "
                "`ecsdeploy\nrollback web` skips it for the last release recorded as good."
            )
            _say(
                "\nThat was the whole loop. Next: copy samples/quickstart next to your app,\n"
                "point it at your cluster, and run `ecsdeploy plan` in your pull requests."
            )
            return 0 if code == 1 else 1
        finally:
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            sandbox.stop()


_AWS_VARS = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
)
