"""`ecsdeploy plan`: what apply would do, against the live state; read-only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ecsdeploy.cli.context import make_context, note_resolved, use_color
from ecsdeploy.cli.options import shared_options
from ecsdeploy.errors import ExitStatus, InputError, Problem


def write_plan_file(path: Path, data: dict[str, object]) -> None:
    """Write the plan readable by its owner only: it holds the task definitions as they
    will be registered, environment values included (a sensitive artifact).

    The plan holds no credential by design; if a known one shows up (a template that
    embeds a registry password), nothing is written rather than a file that would
    register a mask, or leak the value.
    """
    from ecsdeploy.secrets import redact

    text = json.dumps(data, indent=2) + "\n"
    if redact(text) != text:
        raise InputError(
            Problem(
                f"the plan holds the value of a registry credential; {path} was not written",
                hint="a task definition must not embed a registry password: use `secrets:` "
                "or the registry's auth settings",
            )
        )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to an existing file


@click.command("plan")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan for `apply FILE`.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="Output for people, machines, or a pull-request comment.",
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none."
)
@click.option(
    "--service", "services", multiple=True, metavar="S", help="Only this service (repeat)."
)
@click.option(
    "--allow-downtime",
    is_flag=True,
    help="Accept downtime findings; recorded in the plan, honoured by `apply FILE`.",
)
@shared_options
@click.pass_context
def command(
    ctx: click.Context,
    out: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    services: tuple[str, ...],
    allow_downtime: bool,
) -> int:
    """Compare deploy.yaml with the live state and print the steps apply would take.

    The zero-downtime pre-flight runs on the planned task definitions; a finding
    that would make apply refuse is shown as blocking, and the plan then exits 4
    after printing in full, as apply would.
    """
    from ecsdeploy.cli import GlobalOptions
    from ecsdeploy.operations.plan import PlanOptions, make
    from ecsdeploy.plan.serialize import to_dict
    from ecsdeploy.views import plan as view

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)
    context = make_context(ctx, services)
    note_resolved(context)
    plan, _ = make(context, PlanOptions(services=services, allow_downtime=allow_downtime))
    if fmt == "json":
        click.echo(view.as_json(plan))
    elif fmt == "markdown":
        click.echo(view.markdown(plan))
    else:
        click.echo(view.text(plan, color=use_color(opts.no_color)), nl=False)
    if out is not None:
        write_plan_file(out, to_dict(plan, for_apply=True))
        if fmt == "text":
            click.echo(f"\nSaved the plan to {out}; apply it with: ecsdeploy apply {out}")
    if plan.blocking:
        n = len(plan.blocking)
        click.echo(
            f"error: apply would refuse this plan: {n} blocking finding{'s' if n != 1 else ''} "
            "(marked `blocking` above)",
            err=True,
        )
        if all(f.downtime for f in plan.blocking):
            click.echo(
                "  hint: fix them, or accept the downtime where reviewers see it: "
                "ecsdeploy plan --allow-downtime",
                err=True,
            )
        return int(ExitStatus.REFUSED)
    if detailed_exitcode and plan.changed:
        return int(ExitStatus.CHANGES)
    return int(ExitStatus.OK)
