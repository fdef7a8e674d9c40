"""`ecsdeploy apply`: perform the plan step by step, wait, check, roll back on failure."""

from __future__ import annotations

import json
import signal
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from ecsdeploy.cli.context import make_context, use_color
from ecsdeploy.cli.options import shared_options
from ecsdeploy.errors import ExitStatus, InputError, Problem, RefusedError

if TYPE_CHECKING:
    from ecsdeploy.execute.executor import ServiceResult
    from ecsdeploy.execute.lock import ServiceLocks
    from ecsdeploy.execute.report import Reporter


def _read_plan_file(path: Path) -> object:
    from ecsdeploy.plan.serialize import from_dict

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(Problem(f"plan file {path} not found")) from None
    except (OSError, ValueError) as exc:
        raise InputError(Problem(f"plan file {path} cannot be read: {exc}")) from None
    return from_dict(data, str(path))


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

    Without PLANFILE it plans first, shows the plan and asks; with PLANFILE (from
    `plan --out`) it applies exactly that plan, refusing if the live state moved.
    """
    from ecsdeploy.adapters.ecs import EcsReader, EcsWriter
    from ecsdeploy.cli import GlobalOptions
    from ecsdeploy.execute.executor import Executor
    from ecsdeploy.execute.lock import ServiceLocks
    from ecsdeploy.execute.report import make_reporter
    from ecsdeploy.execute.staleness import refuse_if_stale
    from ecsdeploy.plan.build import build_plan, observe_live
    from ecsdeploy.plan.model import Plan
    from ecsdeploy.views import plan as view

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)
    saved: Plan | None = None
    if planfile is not None:
        loaded = _read_plan_file(planfile)
        assert isinstance(loaded, Plan)
        saved = loaded
        services = services or tuple(sp.key for sp in saved.services)
    context = make_context(ctx, services)
    color = use_color(opts.no_color)

    if not allow_dirty and opts.revision is None:
        try:
            dirty = bool(context.renderer.git.get("dirty"))
        except Exception:  # no repository: nothing to be dirty
            dirty = False
        if dirty:
            raise RefusedError(
                "the Git tree has uncommitted changes: the deployment would not match any commit",
                hint="commit or stash them, or pass --allow-dirty",
            )

    # The locks are taken while the live state is observed (their wait costs no time
    # there) and confirmed before the first write, or before apply asks.
    selected = [context.config.services[k] for k in context.rendered]
    by_cluster: dict[str, list[str]] = {}
    for svc in selected:
        by_cluster.setdefault(context.config.clusters[svc.cluster].name, []).append(svc.name)
    locks = ServiceLocks(
        EcsReader(context.clients),
        EcsWriter(context.clients),
        clusters=context.ecs,  # one DescribeClusters for the lock and the observation
    )
    from ecsdeploy import verify

    # The clusters first, alone: the lock's first write waits for their ARNs, and
    # answered amid the observation's burst of calls they would come late.
    context.ecs.existing_clusters(by_cluster)
    cancel = threading.Event()
    previous = signal.getsignal(signal.SIGTERM)

    phase = ["preparing"]  # then "deploying" (the executor stops itself), "cleaning up"

    def on_term(signum: int, frame: FrameType | None) -> None:
        cancel.set()
        if phase[0] == "preparing":  # nothing written yet: stop now, giving the locks back
            raise KeyboardInterrupt

    reporter: Reporter | None = None
    signal.signal(signal.SIGTERM, on_term)
    selection = list(services) or None
    background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="apply")
    locking = background.submit(locks.acquire, by_cluster, break_lock=break_lock)
    # verify's lookups that need no live state, at the same time.
    prefetching = background.submit(verify.prefetch, context, selection)
    narrowing: Future[None] | None = None
    try:
        # --no-wait deregisters nothing: the families' newest revisions are enough.
        live = observe_live(context, list_revisions=not no_wait)
        if saved is not None:
            refuse_if_stale(saved, live)
            plan = saved
        else:
            plan = build_plan(context, live)
        asking = saved is None and not yes and plan.changed
        if asking:
            confirm_locks(locking, locks)  # a refusal before the question, not after
        if saved is None and fmt == "text":
            click.echo(view.text(plan, color=color), nl=False)
        if not plan.has_work:
            if fmt == "text" and saved is not None:
                click.echo("No changes.")
            return int(ExitStatus.OK)

        if asking:
            if not sys.stdin.isatty():
                raise RefusedError(
                    "apply needs a confirmation and there is no terminal to ask on",
                    hint="pass --yes, or apply a reviewed plan file: ecsdeploy apply plan.json",
                )
            if not click.confirm("\nApply these changes?", default=False):
                click.echo("Nothing was changed.")
                return int(ExitStatus.OK)

        # The zero-downtime pre-flight, before the first write (exit 4 unless allowed).
        findings = verify.run(context, live, selection, prefetching.result())
        verify.enforce(findings, allow_downtime=allow_downtime)
        confirm_locks(locking, locks)  # held before the first write
        changed = [sp for sp in plan.services if sp.changed or sp.waits]
        # Other applies may deploy the services this one leaves as they are.
        keep: dict[str, list[str]] = {}
        for sp in changed:
            keep.setdefault(sp.cluster, []).append(sp.name)
        narrowing = background.submit(locks.narrow, keep)

        reporter = make_reporter(
            fmt, [sp.key for sp in changed], color=color, tty=sys.stdout.isatty()
        )
        executor = Executor(
            context, plan, reporter, wait=not no_wait, parallel=parallel, cancel=cancel, live=live
        )
        phase[0] = "deploying"
        results = executor.run()
    finally:
        phase[0] = "cleaning up"
        # Whatever happened, the locks taken (or being taken) are given back first.
        wait([locking])
        if narrowing is not None:
            wait([narrowing])
        locks.release()
        wait([prefetching])
        background.shutdown()
        if reporter is not None:
            reporter.close()
        signal.signal(signal.SIGTERM, previous)
    return _summarise(results, reporter, interrupted=cancel.is_set())


def confirm_locks(locking: Future[None], locks: ServiceLocks) -> None:
    """Wait for the locks (RefusedError if another apply holds them); keep them alive."""
    locking.result()
    locks.keep_alive()


def _summarise(results: list[ServiceResult], reporter: Reporter, *, interrupted: bool) -> int:
    for result in results:
        reporter.summary(f"{result.key}: {result.status.replace('_', ' ')}: {result.message}")
    if interrupted:
        reporter.summary("Interrupted. Run `ecsdeploy apply` again to converge.")
        return 130
    ok = sum(1 for r in results if r.ok)
    failed = ok < len(results)
    reporter.summary(
        f"Apply {'failed' if failed else 'complete'}: {ok} of {len(results)} services ok."
    )
    return int(ExitStatus.FAILED if failed else ExitStatus.OK)
