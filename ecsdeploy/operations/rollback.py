"""The rollback operation: put a service back on an earlier revision, and wait for it.

It takes the service's lock like apply, and goes back through the executor's
rollback path (`execute.executor.roll_back`), so an automatic rollback and
`ecsdeploy rollback` wait for and judge the old revision the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ecsdeploy.context import Context
from ecsdeploy.errors import ExitStatus, InputError, OperationError, Problem
from ecsdeploy.execute.report import Reporter

INTERRUPTED = 130


@dataclass(frozen=True)
class RollbackOptions:
    service: str  # the key in deploy.yaml; resolve a name with `service_key`
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


def service_key(names: Mapping[str, str], service: str) -> str:
    """The deploy.yaml key of `service`, given as its key or its ECS name (`names`: key ->
    ECS name)."""
    if service in names:
        return service
    found = next((k for k, name in names.items() if name == service), None)
    if found is None:
        raise InputError(
            Problem(f"unknown service `{service}`", hint="defined: " + ", ".join(names))
        )
    return found


def rollback(
    ctx: Context, options: RollbackOptions, reporter: Callable[[list[str]], Reporter]
) -> RollbackResult:
    """Back to `options.to`, or to the newest ACTIVE revision older than the running one."""
    from ecsdeploy.adapters.ecs import EcsReader, EcsWriter, family_and_revision, short_arn
    from ecsdeploy.adapters.targets import Targets
    from ecsdeploy.execute.executor import roll_back
    from ecsdeploy.execute.lock import ServiceLocks
    from ecsdeploy.execute.wait import Cancelled, Watch
    from ecsdeploy.plan.planner import wait_step_for

    key = options.service
    config = ctx.config
    svc_cfg = config.services[key]
    cluster = config.clusters[svc_cfg.cluster].name
    reader, writer = EcsReader(ctx.clients), EcsWriter(ctx.clients)
    live = reader.describe_service(cluster, svc_cfg.name)
    if live is None:
        raise OperationError(f"service {svc_cfg.name} does not exist in cluster {cluster}")
    current = str(live["taskDefinition"])
    family, revision = family_and_revision(current)
    if options.to is not None:
        number = options.to.rsplit(":", 1)[-1]
        if not number.isdigit():
            raise InputError(
                Problem(f"--to {options.to!r}: expected a revision number, e.g. --to 41")
            )
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
        return RollbackResult(key, current, target, "unchanged")

    report = reporter([key])
    locks = ServiceLocks(reader, writer)
    cancel = threading.Event()
    try:
        locks.acquire({str(live["clusterArn"]): [svc_cfg.name]}, break_lock=options.break_lock)
        locks.keep_alive()
        watch = Watch(reader, Targets(ctx.clients), report, cluster, svc_cfg.name, key, cancel)
        watch.start(live)
        report.step(key, f"rolling back from {short_arn(current)} to {short_arn(target)}")
        if not options.wait:
            writer.update_service(
                cluster, svc_cfg.name, taskDefinition=target, forceNewDeployment=True
            )
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
        for line in outcome.details:
            report.error(key, f"  {line}")
        return RollbackResult(key, current, target, "failed", outcome.reason)
    finally:
        locks.release()
        report.close()
