"""`ecsdeploy rollback SERVICE [--to REVISION]`: back to the previous revision, and wait."""

from __future__ import annotations

import sys
import threading

import click

from ecsdeploy.cli.context import make_context, use_color
from ecsdeploy.cli.options import shared_options
from ecsdeploy.errors import ExitStatus, InputError, OperationError, Problem


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
    from ecsdeploy.adapters.ecs import EcsReader, EcsWriter, family_and_revision, short_arn
    from ecsdeploy.adapters.targets import Targets
    from ecsdeploy.cli import GlobalOptions
    from ecsdeploy.cli.common import load
    from ecsdeploy.execute.executor import roll_back
    from ecsdeploy.execute.lock import ServiceLocks
    from ecsdeploy.execute.report import make_reporter
    from ecsdeploy.execute.wait import Cancelled, Watch
    from ecsdeploy.plan.planner import wait_step_for

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)
    config = load(ctx)
    key = service if service in config.services else None
    if key is None:
        key = next((k for k, s in config.services.items() if s.name == service), None)
    if key is None:
        raise InputError(
            Problem(
                f"unknown service `{service}`",
                hint="defined: " + ", ".join(config.services),
            )
        )
    context = make_context(ctx, (key,))
    svc_cfg = config.services[key]
    cluster = config.clusters[svc_cfg.cluster].name
    reader, writer = EcsReader(context.clients), EcsWriter(context.clients)
    live = reader.describe_service(cluster, svc_cfg.name)
    if live is None:
        raise OperationError(f"service {svc_cfg.name} does not exist in cluster {cluster}")
    current = str(live["taskDefinition"])
    family, revision = family_and_revision(current)
    if to is not None:
        number = to.rsplit(":", 1)[-1]
        if not number.isdigit():
            raise InputError(Problem(f"--to {to!r}: expected a revision number, e.g. --to 41"))
        target = next(
            (
                a
                for a in reader.active_revisions(family)
                if family_and_revision(a)[1] == int(number)
            ),
            None,
        )
        if target is None:
            raise OperationError(f"{family}:{number} is not an ACTIVE revision of {family}")
    else:
        older = [a for a in reader.active_revisions(family) if family_and_revision(a)[1] < revision]
        if not older:
            raise OperationError(
                f"{svc_cfg.name} runs {short_arn(current)} and no older ACTIVE revision exists"
            )
        target = older[0]
    if target == current:
        click.echo(f"{svc_cfg.name} already runs {short_arn(target)}.")
        return int(ExitStatus.OK)

    color = use_color(opts.no_color)
    reporter = make_reporter(fmt, [key], color=color, tty=sys.stdout.isatty())
    locks = ServiceLocks(reader, writer)
    cancel = threading.Event()
    try:
        locks.acquire({str(live["clusterArn"]): [svc_cfg.name]}, break_lock=break_lock)
        locks.keep_alive()
        watch = Watch(
            reader, Targets(context.clients), reporter, cluster, svc_cfg.name, key, cancel
        )
        watch.start(live)
        reporter.step(key, f"rolling back from {short_arn(current)} to {short_arn(target)}")
        if no_wait:
            writer.update_service(
                cluster, svc_cfg.name, taskDefinition=target, forceNewDeployment=True
            )
            reporter.summary(f"{key}: updated to {short_arn(target)} (not waited for)")
            return int(ExitStatus.OK)
        try:
            outcome = roll_back(
                writer,
                watch,
                reporter,
                key,
                cluster,
                svc_cfg.name,
                target,
                wait_step_for(svc_cfg),
                with_http=True,
                announce=False,
            )
        except (Cancelled, KeyboardInterrupt):
            reporter.summary(f"{key}: interrupted; ECS goes on rolling out {short_arn(target)}")
            return 130
    finally:
        locks.release()
        reporter.close()
    if outcome.ok:
        reporter.summary(f"{key}: rolled back to {short_arn(target)}.")
        return int(ExitStatus.OK)
    reporter.error(key, f"the rollback to {short_arn(target)} failed: {outcome.reason}")
    for line in outcome.details:
        reporter.error(key, f"  {line}")
    return int(ExitStatus.FAILED)
