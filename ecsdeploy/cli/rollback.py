"""`ecsdeploy rollback SERVICE [--to REVISION]`: back to the previous revision, and wait."""

from __future__ import annotations

import sys

import click

from ecsdeploy.cli.context import make_context, use_color
from ecsdeploy.cli.options import shared_options


@click.command("rollback")
@click.argument("service")
@click.option("--to", "to", metavar="REVISION", help="The revision number (or family:revision).")
@click.option("--no-wait", is_flag=True, help="Do not wait for the rollout.")
@click.option("--break-lock", is_flag=True, help="Take the lock of an apply that is gone.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@shared_options
@click.pass_context
def command(
    ctx: click.Context, service: str, to: str | None, no_wait: bool, break_lock: bool, fmt: str
) -> int:
    """Put SERVICE (its key in deploy.yaml, or its ECS name) back on its previous revision.

    The previous revision is the newest ACTIVE one older than what the service runs.
    """
    from ecsdeploy.adapters.ecs import short_arn
    from ecsdeploy.cli import GlobalOptions
    from ecsdeploy.cli.common import load, service_key
    from ecsdeploy.execute.report import make_reporter
    from ecsdeploy.operations.rollback import RollbackOptions, rollback

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)
    config = load(ctx)
    key = service_key(config, service)
    color = use_color(opts.no_color)
    result = rollback(
        make_context(ctx, (key,)),
        RollbackOptions(service=key, to=to, wait=not no_wait, break_lock=break_lock),
        lambda keys: make_reporter(fmt, keys, color=color, tty=sys.stdout.isatty()),
    )
    if result.status == "unchanged":
        click.echo(f"{config.services[key].name} already runs {short_arn(result.target)}.")
    return result.exit_status
