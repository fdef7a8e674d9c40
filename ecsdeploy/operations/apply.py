"""The apply operation: lock, observe, plan (or check a saved plan), confirm, refuse
what the plan marks as blocking, execute, and report each service's outcome.

Two ways in, one way through:
- `apply_config` plans from deploy.yaml first, shows the plan and asks;
- `apply_plan` applies a saved plan file exactly. It reads no deploy.yaml and no
  template: every request it sends is in the plan. It refuses (exit 4) when a
  planned service moved on since the plan was made.

The caller (the CLI, or a program using ecsdeploy as a library) supplies an
`ApplyUI`: how to show the plan, how to ask, and where progress goes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from ecsdeploy.adapters.aws import AwsClients, AwsSettings
from ecsdeploy.context import Context, git_dirty
from ecsdeploy.errors import ExitStatus, InputError, Problem, RefusedError
from ecsdeploy.execute.executor import DEFAULT_PARALLEL, ServiceResult
from ecsdeploy.plan.model import Plan

if TYPE_CHECKING:
    from ecsdeploy.adapters.ecs import EcsAdapter
    from ecsdeploy.execute.lock import ServiceLocks
    from ecsdeploy.execute.report import Reporter
    from ecsdeploy.execute.runtime import Runtime
    from ecsdeploy.plan.observe import LiveState

INTERRUPTED = int(ExitStatus.INTERRUPTED)


@dataclass(frozen=True)
class ApplyOptions:
    yes: bool = False  # do not ask (a plan file is never asked about)
    wait: bool = True  # wait for the rollouts; without it nothing is deregistered
    services: tuple[str, ...] = ()  # only these keys; all when empty
    allow_dirty: bool = False
    allow_downtime: bool = False  # with deploy.yaml only: a plan file records its own
    break_lock: bool = False
    parallel: int = DEFAULT_PARALLEL


@dataclass
class ApplyResult:
    plan: Plan | None
    results: list[ServiceResult] = field(default_factory=list)
    interrupted: bool = False
    declined: bool = False  # the user answered no

    @property
    def exit_status(self) -> int:
        if self.interrupted:
            return INTERRUPTED
        if any(not r.ok for r in self.results):
            return int(ExitStatus.FAILED)
        return int(ExitStatus.OK)

    @property
    def status(self) -> str:
        """ok, failed, interrupted, unchanged (nothing to do) or declined."""
        if self.interrupted:
            return "interrupted"
        if self.declined:
            return "declined"
        if any(not r.ok for r in self.results):
            return "failed"
        if not self.results or all(r.status == "unchanged" for r in self.results):
            return "unchanged"
        return "ok"


class ApplyUI(Protocol):
    def show_plan(self, plan: Plan) -> None:
        """The plan made from deploy.yaml, before anything changes."""

    def confirm(self, plan: Plan) -> bool:
        """Ask whether to apply; raise RefusedError when no one can be asked."""

    def reporter(self, services: list[str]) -> Reporter:
        """Where the progress of these services goes."""


def _refuse_dirty(plan: Plan, options: ApplyOptions) -> None:
    if options.allow_dirty or not plan.git_dirty:
        return
    raise RefusedError(
        "the plan was made from a Git tree with uncommitted changes: "
        "the deployment would not match any commit",
        hint="commit or stash them and plan again, or pass --allow-dirty",
    )


def _refuse_blocking(plan: Plan, *, saved: bool) -> None:
    from ecsdeploy.verify import PreflightRefused

    blocking = plan.blocking
    if blocking:
        raise PreflightRefused(blocking, allow_downtime=plan.allow_downtime, saved=saved)


def _select(plan: Plan, services: tuple[str, ...]) -> Plan:
    if not services:
        return plan
    known = [sp.key for sp in plan.services]
    unknown = [s for s in services if s not in known]
    if unknown:
        raise InputError(
            Problem(
                f"the plan has no service {', '.join(unknown)}",
                hint="services in the plan: " + ", ".join(known),
            )
        )
    return replace(
        plan,
        services=tuple(sp for sp in plan.services if sp.key in services),
        findings=tuple(f for f in plan.findings if f.service in services),
    )


def _by_cluster(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for cluster, name in pairs:
        found.setdefault(cluster, []).append(name)
    return found


class _Session:
    """Locks, signals and background work of one apply; given back whatever happens."""

    def __init__(self, locks: ServiceLocks, clusters: Mapping[str, list[str]], break_lock: bool):
        self.locks = locks
        self.cancel = threading.Event()
        self.phase = "preparing"  # then "deploying" (the executor stops itself), "cleaning up"
        self.background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="apply")
        self.locking: Future[None] = self.background.submit(
            locks.acquire, clusters, break_lock=break_lock
        )
        self.narrowing: Future[None] | None = None
        self.reporter: Reporter | None = None
        self._previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, self._on_term)

    def _on_term(self, signum: int, frame: FrameType | None) -> None:
        self.cancel.set()
        if self.phase == "preparing":  # nothing written yet: stop now, giving the locks back
            raise KeyboardInterrupt

    def confirm_locks(self) -> None:
        """Wait for the locks (RefusedError if another apply holds them); keep them alive."""
        self.locking.result()
        self.locks.keep_alive()

    def narrow(self, plan: Plan) -> None:
        """Other applies may deploy the services this one leaves as they are."""
        keep: dict[str, list[str]] = {}
        for sp in plan.services:
            if sp.acts:
                keep.setdefault(sp.cluster, []).append(sp.name)
        self.narrowing = self.background.submit(self.locks.narrow, keep)

    def close(self) -> None:
        self.phase = "cleaning up"
        wait([self.locking])
        if self.narrowing is not None:
            wait([self.narrowing])
        self.locks.release()
        self.background.shutdown()
        if self.reporter is not None:
            self.reporter.close()
        signal.signal(signal.SIGTERM, self._previous)


def _locks(clients: AwsClients, ecs: EcsAdapter) -> ServiceLocks:
    from ecsdeploy.adapters.ecs import EcsReader, EcsWriter
    from ecsdeploy.execute.lock import ServiceLocks

    return ServiceLocks(
        EcsReader(clients),
        EcsWriter(clients),
        clusters=ecs,  # one DescribeClusters for the lock and the observation
    )


def _execute(
    plan: Plan,
    runtime: Runtime,
    live: LiveState,
    session: _Session,
    options: ApplyOptions,
    ui: ApplyUI,
    *,
    saved: bool,
) -> ApplyResult:
    from ecsdeploy.execute.executor import Executor

    _refuse_blocking(plan, saved=saved)
    session.confirm_locks()  # held before the first write
    session.narrow(plan)
    changed = [sp.key for sp in plan.services if sp.acts]
    session.reporter = ui.reporter(changed)
    executor = Executor(
        runtime,
        plan,
        session.reporter,
        wait=options.wait,
        parallel=options.parallel,
        cancel=session.cancel,
        live=live,
        # A plan file may be applied again after an interruption: what its first run
        # registered is reused. A fresh plan has just checked that itself.
        reuse_registered=saved,
    )
    session.phase = "deploying"
    results = executor.run()
    result = ApplyResult(plan, results, interrupted=session.cancel.is_set())
    session.reporter.finish(result.results, result.status, result.exit_status)
    return result


def apply_config(ctx: Context, options: ApplyOptions, ui: ApplyUI) -> ApplyResult:
    """Plan from deploy.yaml, show it, ask (unless `yes`), then apply it."""
    from ecsdeploy.execute.runtime import Runtime

    from .plan import PlanOptions
    from .plan import make as make_plan

    if not options.allow_dirty and git_dirty(ctx):
        raise RefusedError(
            "the Git tree has uncommitted changes: the deployment would not match any commit",
            hint="commit or stash them, or pass --allow-dirty",
        )
    selected = [ctx.config.services[k] for k in ctx.rendered]
    clusters = _by_cluster([(ctx.config.clusters[s.cluster].name, s.name) for s in selected])
    # The clusters first, alone: the lock's first write waits for their ARNs, and
    # answered amid the observation's burst of calls they would come late.
    existing = ctx.ecs.existing_clusters(clusters)
    missing = [c for c in clusters if c not in existing]
    if missing:  # before the lock: there is nothing to lock
        from ecsdeploy.plan.observe import missing_clusters

        raise missing_clusters(ctx.config, missing, ctx.ecs)
    # The locks are taken while the live state is observed (their wait costs no time
    # there) and confirmed before the first write, or before apply asks.
    session = _Session(_locks(ctx.clients, ctx.ecs), clusters, options.break_lock)
    try:
        plan, live = make_plan(
            ctx,
            PlanOptions(
                services=options.services,
                allow_downtime=options.allow_downtime,
                # --no-wait deregisters nothing: the families' newest revisions are enough.
                list_revisions=options.wait,
            ),
        )
        asking = not options.yes and plan.changed
        if asking:
            session.confirm_locks()  # a refusal before the question, not after
        ui.show_plan(plan)
        if not plan.has_work:
            return ApplyResult(plan)
        _refuse_blocking(plan, saved=False)  # before the question: the plan shown says so
        if asking and not ui.confirm(plan):
            return ApplyResult(plan, declined=True)
        runtime = Runtime(
            clients=ctx.clients,
            stores=ctx.stores,
            local=ctx.local,
            credentials=ctx.credentials,
            ecs_configs=ctx.ecs_configs,
            resolver=ctx.resolver,
        )
        return _execute(plan, runtime, live, session, options, ui, saved=False)
    finally:
        session.close()


def apply_plan(
    plan: Plan,
    settings: AwsSettings,
    options: ApplyOptions,
    ui: ApplyUI,
    env: Mapping[str, str] | None = None,
) -> ApplyResult:
    """Apply a saved plan exactly, or refuse: stale (4), blocking (4), dirty (4)."""
    from ecsdeploy.adapters.ecs import EcsAdapter
    from ecsdeploy.execute import runtime as runtimes
    from ecsdeploy.execute.staleness import refuse_if_stale
    from ecsdeploy.plan.observe import observe_services

    if options.allow_downtime:
        raise InputError(
            Problem(
                "--allow-downtime cannot change a saved plan's verdict",
                hint="reviewers must see it: ecsdeploy plan --allow-downtime --out FILE",
            )
        )
    plan = _select(plan, options.services)
    _refuse_dirty(plan, options)
    runtime = runtimes.from_plan(plan, settings, env)
    ecs = EcsAdapter(runtime.clients)
    wanted = {sp.key: (sp.cluster, sp.name) for sp in plan.services}
    clusters = _by_cluster(list(wanted.values()))
    ecs.existing_clusters(clusters)
    session = _Session(_locks(runtime.clients, ecs), clusters, options.break_lock)
    try:
        live = observe_services(ecs, wanted)
        refuse_if_stale(plan, live)
        if not plan.has_work:
            return ApplyResult(plan)
        return _execute(plan, runtime, live, session, options, ui, saved=True)
    finally:
        session.close()
