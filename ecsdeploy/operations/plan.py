"""The plan operation: observe, plan, and run the pre-flight on the plan itself.

The pre-flight's findings are part of the plan, so a plan shows exactly the
verdict `apply` will reach: a plan with a blocking finding is one apply refuses.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

from ecsdeploy.context import (
    Context,
    git_dirty,
    missing_image_sources,
    observe_live,
    secrets_current,
)
from ecsdeploy.errors import EcsDeployError, InputError, Problem
from ecsdeploy.plan.model import Inputs, Plan
from ecsdeploy.plan.observe import LiveState
from ecsdeploy.plan.planner import make_plan


@dataclass(frozen=True)
class PlanOptions:
    services: tuple[str, ...] = ()  # only these (keys in deploy.yaml); all when empty
    allow_downtime: bool = False  # recorded in the plan: apply of it honours it
    # False for `apply --no-wait`, which deregisters nothing: each family's newest
    # revision is then all that is read.
    list_revisions: bool = True


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def inputs(ctx: Context) -> Inputs:
    """Digests of deploy.yaml, the planned services' templates and the variables."""
    config = ctx.config
    templates: dict[str, str] = {}
    for key in ctx.rendered:
        path = config.services[key].task_definition
        try:
            name = str(path.relative_to(config.base_dir))
        except ValueError:
            name = str(path)
        templates[name] = _sha256(path.read_bytes())
    variables = {
        "vars": config.vars,
        "services": {k: config.services[k].vars for k in sorted(ctx.rendered)},
    }
    return Inputs(
        config=_sha256(Path(config.path).read_bytes()),
        templates=dict(sorted(templates.items())),
        variables=_sha256(json.dumps(variables, sort_keys=True, default=str).encode()),
    )


def _target_groups(ctx: Context, live: LiveState) -> dict[str, str]:
    """Name -> ARN of the target groups deploy.yaml names that the live services do not
    show already (a service to create, or a target group an existing one is not in)."""
    from ecsdeploy.adapters.targets import Targets
    from ecsdeploy.plan.planner import resolve_target_groups

    names = sorted(
        {
            tg
            for key in ctx.rendered
            for tg, arn in resolve_target_groups(
                ctx.config.services[key], live.services[key], {}
            ).items()
            if arn is None
        }
    )
    if not names:
        return {}
    targets = Targets(ctx.clients)
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = targets.arn(name)
        except EcsDeployError:
            continue  # the planner reports it, with the service that names it
    return found


def make(
    ctx: Context,
    options: PlanOptions | None = None,
    live: LiveState | None = None,
    *,
    preflight: bool = True,
) -> tuple[Plan, LiveState]:
    """The plan for the context's services, with the pre-flight's findings in it.

    `live` is observed here unless given. `preflight=False` leaves the findings
    out (for callers that only diff); apply never does that.
    """
    from ecsdeploy import verify

    options = options or PlanOptions()
    selection = list(options.services) or None
    if selection is not None:
        unknown = [k for k in selection if k not in ctx.rendered]
        if unknown:
            raise InputError(
                Problem(
                    f"unknown service {', '.join(unknown)}",
                    hint="services: " + ", ".join(ctx.rendered),
                )
            )
        ctx = replace(ctx, rendered={k: r for k, r in ctx.rendered.items() if k in selection})
    prefetching = None
    if preflight and live is None:
        # verify's lookups that need no live state, while the live state is read.
        from concurrent.futures import ThreadPoolExecutor

        background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preflight")
        prefetching = background.submit(verify.prefetch, ctx, selection)
        background.shutdown(wait=False)
    if live is None:
        live = observe_live(ctx, list_revisions=options.list_revisions)
    missing = missing_image_sources(ctx, live, ctx.rendered)
    if missing is not None:
        raise missing
    try:
        revision: str | None = ctx.renderer.git.revision()
    except EcsDeployError:  # a config that never uses git has no revision to record
        revision = None
    plan = make_plan(
        ctx.config,
        ctx.rendered,
        ctx.images,
        live,
        revision=revision,
        region=ctx.clients.region,  # as resolved: --region, deploy.yaml, the environment
        ecs_configs=ctx.ecs_configs,
        secrets_current=secrets_current(ctx, live),
        target_groups=_target_groups(ctx, live),
    )
    findings: tuple[verify.Finding, ...] = ()
    if preflight:
        fetched = prefetching.result() if prefetching is not None else None
        # On the task definitions the plan registers, not on a second render.
        task_definitions = {sp.key: sp.task_definition for sp in plan.services}
        findings = tuple(verify.run(ctx, live, selection, fetched, task_definitions))
    plan = replace(
        plan,
        inputs=inputs(ctx),
        git_dirty=git_dirty(ctx),
        findings=findings,
        allow_downtime=options.allow_downtime,
    )
    return plan, live
