"""The zero-downtime pre-flight: `run` the checks, `enforce` the verdict.

`verify` prints what `run` finds; `plan` runs it on the task definitions it
plans and records the findings in the plan, and `apply` refuses (exit 4) a
plan with a blocking finding before its first write, so a deploy that would
drop traffic or fail half-way is refused before anything changes. Read-only:
every AWS call is a describe/get/list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ecsdeploy.context import Context, missing_image_sources
from ecsdeploy.errors import InputError, RefusedError
from ecsdeploy.findings import Finding, blocking
from ecsdeploy.plan.observe import LiveState
from ecsdeploy.plan.observe import observe as observe_live
from ecsdeploy.render import ImageRef

from .observe import Fetched, ImageErrors, RecordingLocal, RecordingStore
from .observe import observe as observe_facts
from .observe import prefetch as prefetch_facts
from .rules import ServiceFacts, check_service, counts, summary

__all__ = [
    "Finding",
    "PreflightRefused",
    "ServiceFacts",
    "blocking",
    "counts",
    "enforce",
    "prefetch",
    "preflight",
    "run",
    "summary",
]


def _keys(ctx: Context, services: list[str] | None) -> list[str]:
    order = [k for k in ctx.config.service_order() if k in ctx.rendered]
    if services is None:
        return order
    unknown = [s for s in services if s not in ctx.rendered]
    if unknown:
        raise InputError(
            f"unknown service {', '.join(unknown)}",
            hint=f"services: {', '.join(order)}",
        )
    return [k for k in order if k in services]


def prefetch(ctx: Context, services: list[str] | None = None) -> Fetched:
    """The lookups `run` makes that need no live state, for apply to make while it
    observes (target groups, container instances, roles, log groups, secrets)."""
    return prefetch_facts(ctx.config, ctx.rendered, ctx.clients, _keys(ctx, services))


def run(
    ctx: Context,
    live: LiveState | None = None,
    services: list[str] | None = None,
    fetched: Fetched | None = None,
    task_definitions: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Finding]:
    """Every finding for the context's services (or `services`), in deploy order.

    With `live` (the plan's observation, as apply has it) nothing is observed
    twice; without it services and images are observed here, an image lookup
    that fails becoming a finding rather than an error. `fetched` comes from
    `prefetch`. `task_definitions` (key -> what the plan registers) replaces the
    renders where given.
    """
    keys = _keys(ctx, services)
    rendered = {k: ctx.rendered[k] for k in keys}
    errors: ImageErrors | None = None
    if live is None:
        errors = ImageErrors()
        stores = {key: RecordingStore(store, errors) for key, store in ctx.stores.items()}
        local = RecordingLocal(ctx.local, errors) if ctx.local is not None else None
        live = observe_live(ctx.config, rendered, ctx.images, ctx.ecs, stores, local)
        # A source deploy.yaml names that is not there is its error, as plan says.
        recorded = errors

        def failed(ref: ImageRef) -> bool:
            name = ref.local if ref.local is not None else f"{ref.repository}:{ref.promote}"
            return recorded.get(name) is not None

        missing = missing_image_sources(ctx, live, keys, failed)
        if missing is not None:
            raise missing
    facts = observe_facts(
        ctx.config, rendered, ctx.images, live, ctx.clients, keys, errors, fetched
    )
    found: list[Finding] = []
    for key in keys:
        taskdef = (task_definitions or {}).get(key) or ctx.rendered[key].task_definition
        found += check_service(ctx.config.services[key], taskdef, facts[key])
    return found


class PreflightRefused(RefusedError):
    """The pre-flight found blocking findings; lists each with its fix (exit 4)."""

    def __init__(
        self, blocking: list[Finding], *, allow_downtime: bool, saved: bool = False
    ) -> None:
        n = len(blocking)
        how = (
            "plan again with --allow-downtime, where reviewers see it"
            if saved
            else "--allow-downtime"
        )
        super().__init__(
            f"zero-downtime pre-flight failed: {n} blocking finding{'' if n == 1 else 's'}",
            hint=None
            if allow_downtime or not any(f.downtime for f in blocking)
            else f"fix them, or accept downtime: {how} (or `zero_downtime: false` on the service)",
        )
        self.findings = blocking

    def lines(self) -> list[str]:
        # One entry: the CLI prints it as one error, the findings indented below it.
        text = self.message
        for f in self.findings:
            text += f"\n  {f.service}: {f.message}"
            if f.fix:
                text += f"\n    fix: {f.fix}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return [text]


def enforce(findings: Iterable[Finding], *, allow_downtime: bool) -> None:
    """Raise RefusedError (exit 4) listing every blocking finding; return when there is none.

    `--allow-downtime` lets downtime errors through (no load balancer, every task
    may stop, no health check); failure errors (missing image, role, log group,
    secret, target group; no room to place or replace a task) always block,
    since the deployment would fail half-way whatever downtime is accepted.
    """
    stop = blocking(findings, allow_downtime=allow_downtime)
    if stop:
        raise PreflightRefused(stop, allow_downtime=allow_downtime)


def preflight(
    ctx: Context,
    live: LiveState | None = None,
    *,
    allow_downtime: bool,
    services: list[str] | None = None,
) -> list[Finding]:
    """What apply calls before its first write: `run`, then `enforce`.

    Returns every finding (for apply to show the warnings and notes) when none
    blocks; raises RefusedError (exit 4) otherwise.
    """
    findings = run(ctx, live, services)
    enforce(findings, allow_downtime=allow_downtime)
    return findings
