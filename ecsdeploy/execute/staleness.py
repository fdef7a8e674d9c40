"""Refusing a saved plan whose live state has moved on since it was made (exit 4)."""

from __future__ import annotations

from ecsdeploy.adapters.ecs import short_arn
from ecsdeploy.errors import RefusedError
from ecsdeploy.plan.model import Plan
from ecsdeploy.plan.observe import LiveState


def stale_reasons(plan: Plan, live: LiveState) -> list[str]:
    reasons = []
    for sp in plan.services:
        state = live.services.get(sp.key)
        if state is None:
            reasons.append(f"service {sp.key} is no longer in deploy.yaml")
            continue
        was, now = sp.fingerprint, state
        if was.exists != now.exists:
            reasons.append(
                f"service {sp.name} {'now exists' if now.exists else 'no longer exists'}, "
                f"planned when it {'existed' if was.exists else 'did not'}"
            )
        elif now.task_definition_arn != was.task_definition:
            reasons.append(
                f"service {sp.name} now runs {short_arn(now.task_definition_arn)}, "
                f"planned from {short_arn(was.task_definition)}"
            )
        else:
            primary = now.primary_deployment
            deployment = None if primary is None else primary.id
            if deployment != was.deployment:
                reasons.append(
                    f"service {sp.name} has a new deployment ({deployment}) since the plan "
                    f"({was.deployment})"
                )
    return reasons


def refuse_if_stale(plan: Plan, live: LiveState) -> None:
    reasons = stale_reasons(plan, live)
    if reasons:
        raise RefusedError(
            "plan is stale: " + "; ".join(reasons),
            hint="make a new plan (ecsdeploy plan --out FILE) and review it again",
        )
