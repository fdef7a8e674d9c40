"""Planning `autoscaling:`: deploy.yaml's scaling against the live scalable target,
target-tracking policies and scheduled actions. Pure, no I/O.

Compared normalised, so an unchanged setup plans nothing: cooldowns Application
Auto Scaling leaves out are its defaults (300 seconds for ECS), `DisableScaleIn`
out is false, a scheduled action without a time zone is in UTC, and order never
matters (policies and actions are matched by name).

What deploy.yaml cannot describe is never touched: step-scaling policies and
target-tracking policies on a custom metric stay as they are (unless deploy.yaml
names a policy the same, which then replaces it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecsdeploy.config.model import Autoscaling, ScheduledScaling, Service, TargetTracking
from ecsdeploy.scaling import DIMENSION, NAMESPACE, ScalingState, resource_id

from .model import Change, ScalingStep

METRIC_TYPES: Mapping[str, str] = {
    "cpu": "ECSServiceAverageCPUUtilization",
    "memory": "ECSServiceAverageMemoryUtilization",
    "alb_requests": "ALBRequestCountPerTarget",
}
METRICS: Mapping[str, str] = {v: k for k, v in METRIC_TYPES.items()}
DEFAULT_COOLDOWN = 300  # seconds: Application Auto Scaling's default for ECS services
TARGET_TRACKING = "TargetTrackingScaling"
UTC = "UTC"


def _number(value: Any) -> int | float:
    """60.0 -> 60: a target as people write it (the API holds a double)."""
    number = float(value)
    return int(number) if number.is_integer() else number


def _ids(rid: str) -> dict[str, str]:
    return {"ServiceNamespace": NAMESPACE, "ResourceId": rid, "ScalableDimension": DIMENSION}


def managed(policy: Mapping[str, Any]) -> bool:
    """A live policy deploy.yaml can describe: target tracking on a predefined ECS metric."""
    config = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
    spec = config.get("PredefinedMetricSpecification") or {}
    return (
        policy.get("PolicyType") == TARGET_TRACKING and spec.get("PredefinedMetricType") in METRICS
    )


def policy_fields(config: Mapping[str, Any]) -> dict[str, object]:
    """A TargetTrackingScalingPolicyConfiguration as the fields a plan compares."""
    spec = config.get("PredefinedMetricSpecification") or {}
    fields: dict[str, object] = {"PredefinedMetricType": spec.get("PredefinedMetricType")}
    if spec.get("ResourceLabel") is not None:
        fields["ResourceLabel"] = spec.get("ResourceLabel")
    value = config.get("TargetValue")
    fields["TargetValue"] = None if value is None else _number(value)
    for name in ("ScaleInCooldown", "ScaleOutCooldown"):
        given = config.get(name)
        fields[name] = DEFAULT_COOLDOWN if given is None else int(given)
    fields["DisableScaleIn"] = bool(config.get("DisableScaleIn", False))
    return fields


def scheduled_fields(action: Mapping[str, Any]) -> dict[str, object]:
    """A scheduled action (request or DescribeScheduledActions entry) as compared fields."""
    bounds = action.get("ScalableTargetAction") or {}
    return {
        "Schedule": action.get("Schedule"),
        "Timezone": action.get("Timezone") or UTC,
        "MinCapacity": bounds.get("MinCapacity"),
        "MaxCapacity": bounds.get("MaxCapacity"),
    }


def policy_request(rid: str, policy: TargetTracking, label: str | None) -> dict[str, Any]:
    """The PutScalingPolicy input for one target-tracking policy."""
    spec: dict[str, Any] = {"PredefinedMetricType": METRIC_TYPES[policy.metric]}
    if policy.metric == "alb_requests":
        spec["ResourceLabel"] = label
    cooldown_in, cooldown_out = policy.scale_in_cooldown, policy.scale_out_cooldown
    return {
        "PolicyName": policy.name,
        **_ids(rid),
        "PolicyType": TARGET_TRACKING,
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": float(policy.target),
            "PredefinedMetricSpecification": spec,
            "ScaleInCooldown": DEFAULT_COOLDOWN if cooldown_in is None else int(cooldown_in),
            "ScaleOutCooldown": DEFAULT_COOLDOWN if cooldown_out is None else int(cooldown_out),
            "DisableScaleIn": policy.disable_scale_in,
        },
    }


def scheduled_request(rid: str, action: ScheduledScaling) -> dict[str, Any]:
    """The PutScheduledAction input for one scheduled action."""
    bounds: dict[str, int] = {}
    if action.min is not None:
        bounds["MinCapacity"] = action.min
    if action.max is not None:
        bounds["MaxCapacity"] = action.max
    request: dict[str, Any] = {
        **_ids(rid),
        "ScheduledActionName": action.name,
        "Schedule": action.schedule,
        "ScalableTargetAction": bounds,
    }
    # Always sent: PutScheduledAction leaves what it is not given as it was.
    request["Timezone"] = action.timezone or UTC
    return request


def register_request(rid: str, scaling: Autoscaling) -> dict[str, Any]:
    return {**_ids(rid), "MinCapacity": scaling.min, "MaxCapacity": scaling.max}


def _summary(fields: Mapping[str, object]) -> str:
    """A deleted policy or action in one line, for the reviewer."""
    return ", ".join(f"{k} {v}" for k, v in fields.items() if v is not None)


def scaling_step(
    service: Service,
    cluster: str,
    live_count: int | None,
    state: ScalingState | None,
    label: str | None,
    errors: list[str],
) -> ScalingStep | None:
    """The step that brings the live scaling to deploy.yaml's, or None when it is there.

    `live_count` is the service's live desired count (None for a service to create),
    `label` the ALBRequestCountPerTarget resource label of its target group.
    """
    scaling = service.autoscaling
    if scaling is None:
        return None  # no `autoscaling:` in deploy.yaml: live scaling is left alone
    rid = resource_id(cluster, service.name)
    target = state.target if state is not None else None
    live_policies = {
        str(p.get("PolicyName")): p for p in (state.policies if state is not None else ())
    }
    live_actions = {
        str(a.get("ScheduledActionName")): a for a in (state.scheduled if state is not None else ())
    }
    changes: list[Change] = []
    notes: list[str] = []

    register = None
    if target is None:
        register = register_request(rid, scaling)
        changes += [
            Change("MinCapacity", None, scaling.min),
            Change("MaxCapacity", None, scaling.max),
        ]
    else:
        for field, bound in (("MinCapacity", scaling.min), ("MaxCapacity", scaling.max)):
            if target.get(field) != bound:
                changes.append(Change(field, target.get(field), bound))
        if changes:
            register = register_request(rid, scaling)
    if register is not None and live_count is not None:
        if live_count < scaling.min:
            notes.append(
                f"desired count: Application Auto Scaling raises it from {live_count} to "
                f"{scaling.min} (min)"
            )
        elif live_count > scaling.max:
            notes.append(
                f"desired count: Application Auto Scaling lowers it from {live_count} to "
                f"{scaling.max} (max)"
            )
    if register is not None and target is not None and scaling.scheduled:
        notes.append(
            "scheduled actions change min and max at their times: these hold until the next runs"
        )

    put_policies: list[dict[str, Any]] = []
    for policy in scaling.target_tracking:
        if policy.metric == "alb_requests" and label is None:
            group = service.load_balancers[0].target_group if service.load_balancers else "?"
            errors.append(
                f"service `{service.key}`: metric alb_requests needs the resource label of "
                f"target group {group}, which is attached to no load balancer (or does not exist)"
            )
            continue
        request = policy_request(rid, policy, label)
        want = policy_fields(request["TargetTrackingScalingPolicyConfiguration"])
        live = live_policies.get(policy.name)
        have: Mapping[str, object] = {}
        if live is not None and live.get("PolicyType") == TARGET_TRACKING:
            have = policy_fields(live.get("TargetTrackingScalingPolicyConfiguration") or {})
        elif live is not None:
            have = {"PolicyType": live.get("PolicyType")}
            want = {"PolicyType": TARGET_TRACKING, **want}
        differ = [
            Change(f"policies.{policy.name}.{k}", have.get(k), v)
            for k, v in want.items()
            if have.get(k) != v
        ]
        if differ:
            changes += differ
            put_policies.append(request)
    wanted_policies = {p.name for p in scaling.target_tracking}
    delete_policies = []
    for name, live in sorted(live_policies.items()):
        if name in wanted_policies:
            continue
        if not managed(live):
            notes.append(
                f"policy {name} ({live.get('PolicyType')}) is left as it is: deploy.yaml "
                "cannot describe it"
            )
            continue
        fields = policy_fields(live.get("TargetTrackingScalingPolicyConfiguration") or {})
        changes.append(Change(f"policies.{name}", _summary(fields), None))
        delete_policies.append({"PolicyName": name, **_ids(rid)})

    put_scheduled: list[dict[str, Any]] = []
    recreate: list[dict[str, Any]] = []
    for action in scaling.scheduled:
        request = scheduled_request(rid, action)
        want = scheduled_fields(request)
        live_action = live_actions.get(action.name)
        have = scheduled_fields(live_action) if live_action is not None else {}
        differ = [
            Change(f"scheduled.{action.name}.{k}", have.get(k), v)
            for k, v in want.items()
            if have.get(k) != v and not (live_action is None and v is None)
        ]
        delete_first = False
        if differ:
            changes += differ
            put_scheduled.append(request)
            # A bound deploy.yaml drops cannot be unset by PutScheduledAction (what it
            # is not given stays): the action is deleted first, then put again.
            delete_first = any(have.get(k) is not None and want[k] is None for k in want)
        if delete_first:
            recreate.append({**_ids(rid), "ScheduledActionName": action.name})
    wanted_actions = {a.name for a in scaling.scheduled}
    delete_scheduled = recreate
    for name, live_action in sorted(live_actions.items()):
        if name in wanted_actions:
            continue
        changes.append(Change(f"scheduled.{name}", _summary(scheduled_fields(live_action)), None))
        delete_scheduled.append({**_ids(rid), "ScheduledActionName": name})

    if not changes:
        return None
    if not (register or put_policies or put_scheduled or delete_policies or delete_scheduled):
        return None
    return ScalingStep(
        resource_id=rid,
        changes=tuple(changes),
        create=target is None,
        register=register,
        delete_policies=tuple(delete_policies),
        delete_scheduled=tuple(delete_scheduled),
        put_policies=tuple(put_policies),
        put_scheduled=tuple(put_scheduled),
        notes=tuple(notes),
    )
