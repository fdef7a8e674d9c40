"""The rollback operation: put a service back on an earlier revision, and wait for it.

It takes the service's lock like apply, and goes back through the executor's
rollback path (`execute.executor.roll_back`), so an automatic rollback and
`ecsdeploy rollback` wait for and judge the old revision the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from ecsdeploy import releases
from ecsdeploy.adapters.ecs import EcsReader, family_and_revision, short_arn
from ecsdeploy.context import Context, live_service
from ecsdeploy.errors import ExitStatus, InputError, OperationError, Problem
from ecsdeploy.execute.report import Reporter

INTERRUPTED = int(ExitStatus.INTERRUPTED)


@dataclass(frozen=True)
class RollbackOptions:
    service: str  # the key in deploy.yaml
    to: str | None = None  # a revision number, or family:number
    wait: bool = True
    break_lock: bool = False


@dataclass(frozen=True)
class RollbackResult:
    key: str
    current: str  # what the service ran
    target: str  # what it was put back on
    status: str  # ok, unchanged (already there), updated (not waited for), failed, interrupted
    reason: str = ""

    @property
    def exit_status(self) -> int:
        if self.status == "interrupted":
            return INTERRUPTED
        return int(ExitStatus.FAILED if self.status == "failed" else ExitStatus.OK)


MAX_LOOKED_AT = 50  # revisions described, newest first, in search of the last good one


def choose_target(
    reader: EcsReader,
    current: str,
    to: str | None,
    succeeded: set[str] | None = None,
) -> str:
    """The revision to go back to.

    `to`: that revision of the family, which must be ACTIVE (InputError otherwise,
    listing the ones there are). Without it: the newest revision that was a
    successful release and is not the one running — recorded so by ecsdeploy, or,
    for a revision without a record (registered before ecsdeploy recorded releases,
    or by another tool), in `succeeded` (ECS's deployment history); failing both,
    the newest unrecorded one older than the running one. A revision recorded as
    failed or rolled back is never chosen.
    """
    family, running = family_and_revision(current)
    active = reader.active_revisions(family)
    if to is not None:
        number = to.rsplit(":", 1)[-1]
        if not number.isdigit():
            raise InputError(Problem(f"--to {to!r}: expected a revision number, e.g. --to 41"))
        target = next((a for a in active if family_and_revision(a)[1] == int(number)), None)
        if target is None:
            listed = ", ".join(str(family_and_revision(a)[1]) for a in active[:20]) or "none"
            raise InputError(
                Problem(
                    f"{family}:{number} does not exist or is no longer ACTIVE "
                    "(deregistered revisions cannot run)",
                    hint=f"ACTIVE revisions of {family}, newest first: {listed}",
                )
            )
        return target
    unrecorded: str | None = None
    for arn in [a for a in active if a != current][:MAX_LOOKED_AT]:
        outcome = releases.outcome_of(reader.describe_task_definition(arn))
        if outcome == releases.SUCCEEDED or (outcome is None and arn in (succeeded or ())):
            return arn
        if outcome is None and unrecorded is None and family_and_revision(arn)[1] < running:
            unrecorded = arn
    if unrecorded is not None:
        return unrecorded
    raise OperationError(
        f"{family} has no revision to roll back to: none but {short_arn(current)} is recorded "
        "as a successful release, and no older ACTIVE revision is without a record",
        hint="give one: ecsdeploy rollback SERVICE --to N",
    )


def _failed_already(reader: EcsReader, cluster: str, name: str, target: str) -> str | None:
    """Why the deployment of `target` already failed, if ECS says so now; else None."""
    from ecsdeploy.adapters.ecs_state import EcsService

    raw = reader.describe_service(cluster, name)
    if raw is None:
        return f"service {name} no longer exists"
    return EcsService.from_api(raw).failure_of(target, short_arn)


def rollback(
    ctx: Context, options: RollbackOptions, reporter: Callable[[list[str]], Reporter]
) -> RollbackResult:
    """Back to `options.to`, or to the last good release (`choose_target`)."""
    from ecsdeploy.adapters.ecs import EcsWriter
    from ecsdeploy.adapters.targets import Targets
    from ecsdeploy.execute.executor import roll_back
    from ecsdeploy.execute.lock import ServiceLocks
    from ecsdeploy.execute.wait import Cancelled, Watch, report_explanation
    from ecsdeploy.plan.planner import wait_step_for

    key = options.service
    config = ctx.config
    svc_cfg = config.services[key]
    cluster = config.clusters[svc_cfg.cluster].name
    reader, writer = EcsReader(ctx.clients), EcsWriter(ctx.clients)
    live = live_service(ctx, key)
    if live is None:
        raise OperationError(f"service {svc_cfg.name} does not exist in cluster {cluster}")
    current = str(live["taskDefinition"])
    succeeded = (
        reader.succeeded_task_definitions(cluster, svc_cfg.name) if options.to is None else None
    )
    target = choose_target(reader, current, options.to, succeeded)
    if target == current:
        return RollbackResult(key, current, target, "unchanged")

    report = reporter([key])
    locks = ServiceLocks(reader, writer)
    cancel = threading.Event()
    try:
        locks.acquire({str(live["clusterArn"]): [svc_cfg.name]}, break_lock=options.break_lock)
        locks.keep_alive()
        watch = Watch(
            reader,
            Targets(ctx.clients),
            report,
            cluster,
            svc_cfg.name,
            key,
            cancel,
            resolver=ctx.resolver,
        )
        watch.start(live)
        urls = [lb.checks.http.url for lb in svc_cfg.load_balancers if lb.checks.http is not None]
        if options.wait and urls:
            for line in ctx.resolver.notes(checks=urls):
                report.warning(None, line)
        report.step(key, f"rolling back from {short_arn(current)} to {short_arn(target)}")
        if not options.wait:
            writer.update_service(
                cluster, svc_cfg.name, taskDefinition=target, forceNewDeployment=True
            )
            # Not waited for, but not blind: what ECS says by the time we return counts.
            failed = _failed_already(reader, cluster, svc_cfg.name, target)
            if failed is not None:
                report.error(key, f"the rollback to {short_arn(target)} failed: {failed}")
                return RollbackResult(key, current, target, "failed", failed)
            report.summary(f"{key}: updated to {short_arn(target)} (not waited for)")
            return RollbackResult(key, current, target, "updated")
        try:
            outcome = roll_back(
                writer,
                watch,
                report,
                key,
                cluster,
                svc_cfg.name,
                target,
                wait_step_for(svc_cfg),
                with_http=True,
                announce=False,
            )
        except (Cancelled, KeyboardInterrupt):
            report.summary(f"{key}: interrupted; ECS goes on rolling out {short_arn(target)}")
            return RollbackResult(key, current, target, "interrupted")
        if outcome.ok:
            report.summary(f"{key}: rolled back to {short_arn(target)}.")
            return RollbackResult(key, current, target, "ok")
        report.error(key, f"the rollback to {short_arn(target)} failed: {outcome.reason}")
        report_explanation(report, key, outcome)
        return RollbackResult(key, current, target, "failed", outcome.reason)
    finally:
        locks.release()
        report.close()
