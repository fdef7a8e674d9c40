"""The command line: global options, lazy loading of commands, errors to exit codes.

Each command lives in its own module (`ecsdeploy.cli.<name>`) exposing `command`;
it is imported only when run, so `ecsdeploy --version` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import click

from ecsdeploy import __version__
from ecsdeploy.errors import EcsDeployError, ExitStatus

# command name -> module under ecsdeploy.cli
COMMANDS: dict[str, str] = {
    "validate": "validate",
    "render": "render",
    "plan": "plan",
    "verify": "verify",
    "apply": "apply",
    "rollback": "rollback",
    "history": "history",
    "ecs-config": "ecs_config",
    "schema": "schema",
    "sandbox": "sandbox",
    "demo": "demo",
    "init": "init",
}

SHORT_HELP: dict[str, str] = {
    "validate": "Check deploy.yaml and render every template (no AWS call).",
    "render": "Print the rendered task definitions as JSON (no AWS call).",
    "plan": "Show what apply would change, against the live state (read-only).",
    "verify": "Check zero-downtime and consistency requirements (read-only).",
    "apply": "Perform the plan: push, register, update, wait, check, roll back on failure.",
    "rollback": "Put a service back on its last good (or a given) revision and wait.",
    "history": "A service's releases: revision, outcome, Git revision, when, who.",
    "ecs-config": "Print the ecs.config lines for a cluster's instances (secrets masked).",
    "schema": "Print the JSON Schema of deploy.yaml.",
    "sandbox": "Run the local ECS emulator in the foreground.",
    "demo": "The whole workflow on the embedded sandbox (no AWS account, no Docker).",
    "init": "Write deploy.yaml and templates from live services (read-only).",
}


@dataclass(frozen=True)
class GlobalOptions:
    """Options every command shares."""

    file: str = "deploy.yaml"
    env: str | None = None
    vars: tuple[str, ...] = ()
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    revision: str | None = None
    no_color: bool = False
    verbose: bool = False


class LazyGroup(click.Group):
    def main(  # always exits, whatever standalone_mode says
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> NoReturn:
        # Every entry (console script, `python -m`, click's test runner) gets the
        # same exit codes; click's own would use 2 for a usage error.
        _run(list(args) if args is not None else None)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMANDS.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"ecsdeploy.cli.{module_name}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing the commands must not import them all.
        rows = [(name, SHORT_HELP.get(name, "")) for name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-f", "--file", "file", default="deploy.yaml", show_default=True, help="The deploy.yaml."
)
@click.option("-e", "--env", "env", help="Environment overlay from `environments:`.")
@click.option("--var", "vars", multiple=True, metavar="K=V", help="Template variable (repeat).")
@click.option("--region", help="AWS region (default: deploy.yaml, then AWS_REGION).")
@click.option("--profile", help="AWS profile.")
@click.option(
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL",
    help="AWS endpoint, e.g. the sandbox (also AWS_ENDPOINT_URL).",
)
@click.option(
    "--revision",
    envvar="ECSDEPLOY_REVISION",
    help="Git revision to use when there is no .git (also ECSDEPLOY_REVISION).",
)
@click.option("--no-color", is_flag=True, help="No colours (also NO_COLOR).")
@click.option("-v", "--verbose", is_flag=True, help="More detail; tracebacks on errors.")
@click.version_option(__version__, "--version", prog_name="ecsdeploy")
@click.pass_context
def cli(
    ctx: click.Context,
    file: str,
    env: str | None,
    vars: tuple[str, ...],
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    revision: str | None,
    no_color: bool,
    verbose: bool,
) -> None:
    """Deploy Docker containers to Amazon ECS from a declarative deploy.yaml."""
    ctx.obj = GlobalOptions(
        file=file,
        env=env,
        vars=vars,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url or None,
        revision=revision or None,
        no_color=no_color or bool(os.environ.get("NO_COLOR")),
        verbose=verbose,
    )


def _fail(lines: list[str], status: int) -> NoReturn:
    for line in lines:
        click.echo(f"error: {line}" if line is lines[0] else f"  {line}", err=True)
    sys.exit(status)


def _run(argv: list[str] | None) -> NoReturn:
    """Run the group and map every outcome to an exit code (see ecsdeploy.errors)."""
    args = list(argv) if argv is not None else sys.argv[1:]
    verbose = any(a in ("-v", "--verbose") for a in args)
    try:
        result = click.Group.main(cli, args=args, prog_name="ecsdeploy", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(ExitStatus.INTERRUPTED)
    except click.UsageError as exc:
        hint = ""
        if exc.ctx is not None:
            hint = f"\n  see: {exc.ctx.command_path} --help"
        _fail([f"{exc.format_message()}{hint}"], ExitStatus.INVALID)
    except click.ClickException as exc:
        _fail([exc.format_message()], ExitStatus.INVALID)
    except EcsDeployError as exc:
        if verbose:
            import traceback

            traceback.print_exc()
        lines = exc.lines()
        if len(lines) == 1:
            _fail(lines, exc.exit_status)
        click.echo(f"error: {len(lines)} problems found:", err=True)
        for line in lines:
            click.echo(f"  {line}", err=True)
        sys.exit(exc.exit_status)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(ExitStatus.INTERRUPTED)
    except Exception as exc:  # the last line of defence: one line, no traceback unless -v
        if verbose:
            raise
        if type(exc).__module__.split(".")[0] in ("botocore", "boto3"):
            # The AWS SDK's words, without its class names: an operation that failed.
            _fail([f"AWS SDK: {exc}", "run again with -v for a traceback"], ExitStatus.FAILED)
        _fail(
            [f"internal error: {type(exc).__name__}: {exc}", "run again with -v for a traceback"],
            ExitStatus.FAILED,
        )
    sys.exit(int(result) if isinstance(result, int) else 0)


def main(argv: list[str] | None = None) -> None:
    """Runs a command and maps every outcome to an exit code (raises SystemExit)."""
    _run(argv)


def entry() -> NoReturn:
    """The `ecsdeploy` command: `main`, then a quick exit.

    Python's teardown frees every object one by one; with botocore's models loaded
    that takes about 0.1 s, on every command. Once the threads are done, atexit's
    handlers have run (logging, temporary folders) and the output is flushed,
    there is nothing left for it to do, so the process ends there.
    """
    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    _quick_exit(code)


def _quick_exit(code: int) -> NoReturn:
    import atexit
    import contextlib
    import threading

    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is None:  # not the CPython we know: leave the usual way
        sys.exit(code)
    shutdown()  # what Python does first: wait for the threads, stop idle pools
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`plan | head`)
            stream.flush()
    os._exit(code)
