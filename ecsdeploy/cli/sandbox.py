"""`ecsdeploy sandbox`: run the local ECS emulator in the foreground until Ctrl-C or SIGTERM.

moto is imported only when the command runs (it is the optional `sandbox`
extra), and the config loader and renderer only with `--seed`.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from ecsdeploy.cli.options import shared_options
from ecsdeploy.errors import InputError, OperationError
from ecsdeploy.words import plural

INSTALL_HINT = "pip install 'ecsdeploy[sandbox]'"
DEFAULT_REGION = "us-east-1"


def _seed(sandbox: Any, path: str, obj: Any, instances: int | None) -> tuple[str, str]:
    """Seed from a deploy.yaml; returns a summary and the region seeded."""
    try:
        from ecsdeploy.config import load_config, parse_cli_vars
        from ecsdeploy.render import render_service
    except ImportError as exc:
        raise OperationError(
            f"--seed needs the config loader and renderer, which are not available: {exc}"
        ) from exc
    from ecsdeploy.sandbox.seed import seed

    config = load_config(
        Path(path),
        env=getattr(obj, "env", None),
        cli_vars=parse_cli_vars(tuple(getattr(obj, "vars", ()))),
    )
    region = getattr(obj, "region", None) or config.region or DEFAULT_REGION
    revision = getattr(obj, "revision", None)
    taskdefs = {
        key: render_service(config, key, revision=revision, region=region).task_definition
        for key in config.services
    }
    result = seed(
        config,
        taskdefs,
        endpoint_url=sandbox.endpoint_url,
        region=region,
        instances=instances,
    )
    return (
        f"seeded {region} from {path}: {plural(len(result.clusters), 'cluster')}, "
        + plural(sum(len(v) for v in result.container_instances.values()), "container instance")
        + f", {plural(len(result.services), 'service')}",
        region,
    )


@click.command(name="sandbox")
@click.option("--port", default=4566, show_default=True, type=int, help="Port on 127.0.0.1.")
@click.option(
    "--speed",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Simulated seconds per real second (0 pauses the clock).",
)
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Create what this deploy.yaml expects to exist (clusters, target groups, services).",
)
@click.option(
    "--instances",
    type=click.IntRange(min=0),
    help="Container instances per cluster with --seed (default: biggest desired count + 1).",
)
@shared_options
@click.pass_context
def command(
    ctx: click.Context, port: int, speed: float, seed_file: str | None, instances: int | None
) -> None:
    """Run the local ECS emulator (moto plus rolling deployments) in the foreground."""
    try:
        import moto.moto_server.threaded_moto_server  # noqa: F401 (the extra's presence)

        from ecsdeploy.sandbox.server import Sandbox
    except ImportError as exc:
        raise OperationError(
            f"the sandbox needs moto, which is not installed ({exc})", hint=INSTALL_HINT
        ) from exc
    obj = ctx.find_root().obj
    region = getattr(obj, "region", None) or DEFAULT_REGION
    sandbox = Sandbox(port=port, speed=speed)
    try:
        sandbox.start()
    except OSError as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from exc
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        if seed_file:
            summary, region = _seed(sandbox, seed_file, obj, instances)
            click.echo(summary, err=True)
        click.echo(
            f"export AWS_ENDPOINT_URL={sandbox.endpoint_url} AWS_ACCESS_KEY_ID=sandbox "
            f"AWS_SECRET_ACCESS_KEY=sandbox AWS_REGION={region}"
        )
        click.echo(
            f"sandbox listening on {sandbox.endpoint_url} (clock x{speed:g}); Ctrl-C stops it",
            err=True,
        )
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
        click.echo("sandbox stopped", err=True)
