"""`ecsdeploy sandbox`: run the local ECS emulator until Ctrl-C, SIGTERM or `--stop`.

moto is imported only when the command runs (it is the optional `sandbox`
extra), and the config loader and renderer only with `--seed`. `--detach`
runs the same command in a background process and returns once it is ready;
`--stop` and `--break` talk to a running sandbox and need no moto.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import click

from ecsdeploy.cli.options import shared_options
from ecsdeploy.errors import InputError, OperationError
from ecsdeploy.words import plural

INSTALL_HINT = "pip install 'ecsdeploy[sandbox]'"
DEFAULT_REGION = "us-east-1"
DEFAULT_PORT = 4566
READY_SECONDS = 300.0  # how long --detach waits for the seeding


def _seed(sandbox: Any, path: str, obj: Any, instances: int | None) -> tuple[str, Any]:
    """Seed from a deploy.yaml; returns a summary and the SeedResult."""
    from ecsdeploy.config import parse_cli_vars
    from ecsdeploy.sandbox.seed import seed_file

    result = seed_file(
        path,
        endpoint_url=sandbox.endpoint_url,
        environment=getattr(obj, "env", None),
        cli_vars=parse_cli_vars(tuple(getattr(obj, "vars", ()))),
        region=getattr(obj, "region", None),
        revision=getattr(obj, "revision", None),
        instances=instances,
    )
    clusters = len(result.clusters)
    hosts = sum(len(v) for v in result.container_instances.values())
    services = len(result.services)
    return (
        f"seeded {result.region} from {path}: {plural(clusters, 'cluster')}, "
        f"{plural(hosts, 'container instance')}, {plural(services, 'service')} "
        "on an earlier release",
        result,
    )


def export_line(endpoint_url: str, region: str, extra: Mapping[str, str]) -> str:
    """The `export …` line a shell evaluates to use the sandbox."""
    values = {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_REGION": region,
        **extra,
    }
    return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in values.items())


def _running_endpoint(obj: Any, port: int | None) -> str:
    """The sandbox `--stop`/`--break` talk to: `--port`, else AWS_ENDPOINT_URL."""
    if port is not None:
        return f"http://127.0.0.1:{port}"
    endpoint = getattr(obj, "endpoint_url", None) or os.environ.get("AWS_ENDPOINT_URL")
    return endpoint or f"http://127.0.0.1:{DEFAULT_PORT}"


def _client(endpoint: str) -> Any:
    from ecsdeploy.sandbox.control import SandboxClient

    try:
        client = SandboxClient(endpoint, timeout=10)
    except ValueError as exc:
        raise InputError(str(exc), hint="point AWS_ENDPOINT_URL at the sandbox") from exc
    if not client.ping():
        raise OperationError(
            f"no sandbox answers at {endpoint}",
            hint="start one with `ecsdeploy sandbox`, or give its --port",
        )
    return client


def _detach(args: list[str], port: int) -> None:
    """Run `ecsdeploy sandbox ARGS` in the background; print its export line once ready."""
    log = Path(tempfile.gettempdir()) / f"ecsdeploy-sandbox-{port}.log"
    with tempfile.TemporaryDirectory(prefix="ecsdeploy-sandbox-") as tmp:
        ready = Path(tmp) / "ready"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ecsdeploy", "sandbox", *args, "--ready-file", str(ready)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives this shell command, not its Ctrl-C
            )
        deadline = time.monotonic() + READY_SECONDS
        while not ready.exists():
            if proc.poll() is not None:
                tail = log.read_text(errors="replace").strip().splitlines()[-5:]
                raise OperationError(
                    "the sandbox stopped before it was ready:\n  " + "\n  ".join(tail),
                    hint=f"its whole output is in {log}",
                )
            if time.monotonic() > deadline:
                proc.terminate()
                raise OperationError(
                    f"the sandbox was not ready after {READY_SECONDS:g} s", hint=f"see {log}"
                )
            time.sleep(0.1)
        line = ready.read_text().strip()
    click.echo(f"{line} ECSDEPLOY_SANDBOX_PID={proc.pid}")
    click.echo(
        f"sandbox running in the background (pid {proc.pid}, output in {log}); "
        "`ecsdeploy sandbox --stop` stops it",
        err=True,
    )


@click.command(name="sandbox")
@click.option("--port", type=int, help=f"Port on 127.0.0.1 [default: {DEFAULT_PORT}].")
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
    help="Create what this deploy.yaml expects to exist, its services on an earlier release.",
)
@click.option(
    "--instances",
    type=click.IntRange(min=0),
    help="Container instances per cluster with --seed (default: biggest desired count + 1).",
)
@click.option(
    "--detach",
    is_flag=True,
    help="Run in the background; print the export line once ready (for `eval`).",
)
@click.option("--stop", is_flag=True, help="Stop the running sandbox (AWS_ENDPOINT_URL or --port).")
@click.option(
    "--break",
    "break_service",
    metavar="SERVICE",
    help="Make the next release of ECS service SERVICE crash as it starts, in the running sandbox.",
)
@click.option("--ready-file", hidden=True, type=click.Path(dir_okay=False))
@shared_options
@click.pass_context
def command(
    ctx: click.Context,
    port: int | None,
    speed: float,
    seed_file: str | None,
    instances: int | None,
    detach: bool,
    stop: bool,
    break_service: str | None,
    ready_file: str | None,
) -> None:
    """Run the local ECS emulator (moto plus rolling deployments).

    In the foreground it runs until Ctrl-C or SIGTERM; with --detach in the
    background, until `ecsdeploy sandbox --stop`:

        eval "$(ecsdeploy sandbox --detach --seed deploy.yaml)"
    """
    obj = ctx.find_root().obj
    if stop or break_service:
        if stop and break_service:
            raise InputError("--stop and --break go in separate commands")
        endpoint = _running_endpoint(obj, port)
        client = _client(endpoint)
        if break_service:
            client.break_service(break_service)
            click.echo(
                f"the next release of {break_service} crashes as it starts (sandbox at {endpoint})"
            )
            return
        client.shutdown()
        deadline = time.monotonic() + 15
        while client.ping() and time.monotonic() < deadline:
            time.sleep(0.1)
        click.echo(f"sandbox at {endpoint} stopped")
        return
    port = DEFAULT_PORT if port is None else port
    if detach:
        args = ["--port", str(port), "--speed", f"{speed:g}"]
        if seed_file:
            args += ["--seed", str(Path(seed_file).resolve())]
        if instances is not None:
            args += ["--instances", str(instances)]
        for name, flag in (("env", "-e"), ("region", "--region"), ("revision", "--revision")):
            if getattr(obj, name, None):
                args += [flag, str(getattr(obj, name))]
        for var in getattr(obj, "vars", ()):
            args += ["--var", var]
        _detach(args, port)
        return
    _run(obj, port, speed, seed_file, instances, ready_file)


def _run(
    obj: Any,
    port: int,
    speed: float,
    seed_file: str | None,
    instances: int | None,
    ready_file: str | None,
) -> None:
    try:
        import moto.moto_server.threaded_moto_server  # noqa: F401 (the extra's presence)

        from ecsdeploy.sandbox.server import Sandbox
    except ImportError as exc:
        raise OperationError(
            f"the sandbox needs moto, which is not installed ({exc})", hint=INSTALL_HINT
        ) from exc
    region = getattr(obj, "region", None) or DEFAULT_REGION
    sandbox = Sandbox(port=port, speed=speed)
    try:
        sandbox.start()
    except OSError as exc:
        raise InputError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}",
            hint="another sandbox may be running there (`ecsdeploy sandbox --stop`), "
            "or give another --port",
        ) from exc
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        extra: Mapping[str, str] = {}
        if seed_file:
            summary, result = _seed(sandbox, seed_file, obj, instances)
            region, extra = result.region, result.environment
            click.echo(summary, err=True)
            for host, url in result.resolve.items():
                click.echo(f"requests to {host} go to the sandbox ({url})", err=True)
        line = export_line(sandbox.endpoint_url, region, extra)
        click.echo(line)
        click.echo(
            f"sandbox listening on {sandbox.endpoint_url} (clock x{speed:g}); Ctrl-C stops it",
            err=True,
        )
        sys.stdout.flush()
        if ready_file:
            partial = Path(f"{ready_file}.part")
            partial.write_text(line + "\n")
            partial.replace(ready_file)
        while not stop.wait(0.5) and not sandbox.shutdown_requested.is_set():
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
        click.echo("sandbox stopped", err=True)
