"""`ecsdeploy apply`: parse the options, run the apply operation, render its result."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ecsdeploy.cli.context import make_context, use_color
from ecsdeploy.cli.options import shared_options
from ecsdeploy.errors import EcsDeployError, ExitStatus, InputError, Problem, RefusedError

if TYPE_CHECKING:
    from ecsdeploy.execute.report import Reporter
    from ecsdeploy.plan.model import Plan


def read_plan_file(path: Path) -> Plan:
    from ecsdeploy.plan.serialize import from_dict

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(Problem(f"plan file {path} not found")) from None
    except (OSError, ValueError) as exc:
        raise InputError(Problem(f"plan file {path} cannot be read: {exc}")) from None
    return from_dict(data, str(path))


class CliUI:
    """How the command line shows the plan, asks, and reports progress."""

    def __init__(self, fmt: str, *, color: bool) -> None:
        self.fmt = fmt
        self.color = color

    def show_plan(self, plan: Plan) -> None:
        from ecsdeploy.views import plan as view

        if self.fmt == "text":
            click.echo(view.text(plan, color=self.color), nl=False)

    def confirm(self, plan: Plan) -> bool:
        if not sys.stdin.isatty():
            raise RefusedError(
                "apply needs a confirmation and there is no terminal to ask on",
                hint="pass --yes, or apply a reviewed plan file: ecsdeploy apply plan.json",
            )
        # Machines read stdout in JSON mode: the question goes to stderr there.
        return click.confirm("\nApply these changes?", default=False, err=self.fmt == "json")

    def reporter(self, services: list[str]) -> Reporter:
        from ecsdeploy.execute.report import make_reporter

        return make_reporter(self.fmt, services, color=self.color, tty=sys.stdout.isatty())


@click.command("apply")
@click.argument("planfile", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--no-wait", is_flag=True, help="Do not wait for the rollouts (nothing is deregistered)."
)
@click.option(
    "--service", "services", multiple=True, metavar="S", help="Only this service (repeat)."
)
@click.option(
    "--allow-dirty", is_flag=True, help="Deploy from a Git tree with uncommitted changes."
)
@click.option(
    "--allow-downtime", is_flag=True, help="Proceed although the pre-flight finds downtime."
)
@click.option("--break-lock", is_flag=True, help="Take the lock of an apply that is gone.")
@click.option("--parallel", default=8, show_default=True, help="Services deployed at once.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Progress for people or JSON lines for machines.",
)
@shared_options
@click.pass_context
def command(
    ctx: click.Context,
    planfile: Path | None,
    yes: bool,
    no_wait: bool,
    services: tuple[str, ...],
    allow_dirty: bool,
    allow_downtime: bool,
    break_lock: bool,
    parallel: int,
    fmt: str,
) -> int:
    """Perform the plan: images, task definitions, services, then wait and check.

    Without PLANFILE it plans from deploy.yaml, shows the plan and asks; with
    PLANFILE (from `plan --out`) it applies exactly that plan, reading neither
    deploy.yaml nor the templates, and refuses if the live state moved.

    Exit status: 0 deployed, or nothing to do, or the question answered no
    (nothing was changed); 1 a service failed or was rolled back; 3 invalid
    input; 4 refused (blocking pre-flight finding, stale plan, lock held, dirty
    tree, no terminal to ask on); 130 interrupted.
    """
    from ecsdeploy.adapters.aws import AwsSettings
    from ecsdeploy.cli import GlobalOptions
    from ecsdeploy.operations.apply import INTERRUPTED, ApplyOptions, apply_config, apply_plan

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)
    ui = CliUI(fmt, color=use_color(opts.no_color))
    options = ApplyOptions(
        yes=yes,
        wait=not no_wait,
        services=services,
        allow_dirty=allow_dirty,
        allow_downtime=allow_downtime,
        break_lock=break_lock,
        parallel=parallel,
    )
    try:
        if planfile is not None:
            saved = read_plan_file(planfile)
            settings = AwsSettings(opts.region, opts.profile, opts.endpoint_url)
            result = apply_plan(saved, settings, options, ui)
        else:
            result = apply_config(make_context(ctx, services), options, ui)
    except EcsDeployError as exc:
        if fmt == "json":  # CI reads stdout: the outcome is there too, not only on stderr
            _json_result("refused" if exc.exit_status == ExitStatus.REFUSED else "error", exc)
        raise
    except KeyboardInterrupt:  # before any change (Ctrl-C or SIGTERM while planning)
        if fmt == "json":
            _json_result("interrupted", None, code=INTERRUPTED)
        raise
    if result.declined:
        if fmt == "json":
            _json_result("declined", None)
        else:
            click.echo("Nothing was changed.")
    elif not result.results:  # nothing to do
        if fmt == "json":
            _json_result("unchanged", None)
        elif planfile is not None:
            click.echo("No changes.")
    return result.exit_status


def _json_result(status: str, exc: EcsDeployError | None, code: int | None = None) -> None:
    from ecsdeploy.execute.report import result_record
    from ecsdeploy.secrets import redact

    if code is None:
        code = int(exc.exit_status) if exc is not None else int(ExitStatus.OK)
    message = None if exc is None else "\n".join(exc.lines())
    click.echo(redact(json.dumps(result_record([], status, code, message))))
