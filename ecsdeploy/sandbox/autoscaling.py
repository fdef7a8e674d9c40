"""Application Auto Scaling for ECS services, as AWS validates it and as it moves the count.

moto stores scalable targets, policies and scheduled actions; this adds what it lacks
for the `ecs` namespace (Application Auto Scaling API reference):

- RegisterScalableTarget needs an ACTIVE ECS service (`ValidationException: ECS
  service doesn't exist`, also when its cluster does not exist), both MinCapacity
  and MaxCapacity for a new target, and min <= max. Once registered, the
  service's desired count is brought inside [min, max] at once: "it changes the
  resource's current capacity to a value that is inside of this range".
- PutScalingPolicy and PutScheduledAction need the scalable target registered
  (`ObjectNotFoundException`). A target-tracking policy on
  ALBRequestCountPerTarget needs a ResourceLabel naming a target group attached
  to the service; no other metric type takes one.
- Deleting a policy or scheduled action that does not exist is
  `ObjectNotFoundException`.

Scheduled actions are stored, not run on the simulated clock.
"""

from __future__ import annotations

from typing import Any

from ecsdeploy.sandbox.api import Call, Forward, Reply, json_error
from ecsdeploy.sandbox.simulation import Simulation

ECS_DIMENSION = "ecs:service:DesiredCount"
VALIDATION = "ValidationException"
NOT_FOUND = "ObjectNotFoundException"


def _ecs_ids(params: dict[str, Any]) -> tuple[str, str, str] | None:
    """(resource id, cluster, service) of an ECS desired-count call, else None."""
    if params.get("ServiceNamespace") != "ecs":
        return None
    if params.get("ScalableDimension") not in (None, ECS_DIMENSION):
        return None
    rid = str(params.get("ResourceId") or "")
    parts = rid.split("/")
    if len(parts) != 3 or parts[0] != "service" or not parts[1] or not parts[2]:
        return (rid, "", "")
    return rid, parts[1], parts[2]


def _where(params: dict[str, Any]) -> str:
    return (
        f"service namespace: {params.get('ServiceNamespace')}, resource ID: "
        f"{params.get('ResourceId')}, scalable dimension: {params.get('ScalableDimension')}"
    )


def handle(sim: Simulation, call: Call, forward: Forward) -> Reply | None:
    """The answer for an application-autoscaling call, or None to let moto answer."""
    ids = _ecs_ids(call.params)
    if ids is None:
        return None
    rid, cluster, service = ids
    p = call.params
    backends = sim.backends
    target = backends.scalable_target(call.account, call.region, rid, ECS_DIMENSION)
    op = call.operation
    if op == "RegisterScalableTarget":
        if not cluster or not backends.ecs_service_active(
            call.account, call.region, cluster, service
        ):
            return json_error(VALIDATION, f"ECS service doesn't exist: {rid}")
        low = p.get("MinCapacity", None if target is None else target.min_capacity)
        high = p.get("MaxCapacity", None if target is None else target.max_capacity)
        if low is None or high is None:
            return json_error(
                VALIDATION,
                "MinCapacity and MaxCapacity are required for registering a new scalable target",
            )
        if int(low) > int(high):
            return json_error(
                VALIDATION,
                f"Minimum capacity ({low}) cannot be greater than maximum capacity ({high})",
            )
        reply = forward(None)
        if reply.status == 200:
            _clamp(sim, call, cluster, service, int(low), int(high))
        return reply
    if op in ("PutScalingPolicy", "PutScheduledAction"):
        if target is None:
            return json_error(NOT_FOUND, f"No scalable target registered for {_where(p)}")
        if op == "PutScalingPolicy":
            problem = _policy_problem(sim, call, cluster, service)
            if problem is not None:
                return json_error(VALIDATION, problem)
        return None
    if op == "DeleteScalingPolicy":
        name = str(p.get("PolicyName") or "")
        if not backends.scaling_policy_exists(call.account, call.region, rid, name):
            return json_error(
                NOT_FOUND,
                f"No scaling policy found for {_where(p)}, policy name: {name}",
            )
        return None
    if op == "DeleteScheduledAction":
        name = str(p.get("ScheduledActionName") or "")
        if not backends.scheduled_action_exists(call.account, call.region, rid, name):
            return json_error(
                NOT_FOUND,
                f"No scheduled action found for {_where(p)}, scheduled action name: {name}",
            )
        return None
    return None


def _policy_problem(sim: Simulation, call: Call, cluster: str, service: str) -> str | None:
    p = call.params
    if p.get("PolicyType") != "TargetTrackingScaling":
        return None
    config = p.get("TargetTrackingScalingPolicyConfiguration") or {}
    spec = config.get("PredefinedMetricSpecification")
    if not isinstance(spec, dict):
        return None
    metric = spec.get("PredefinedMetricType")
    label = spec.get("ResourceLabel")
    if metric != "ALBRequestCountPerTarget":
        if label:
            return f"A resource label cannot be specified for the metric type {metric}"
        return None
    if not label:
        return "ResourceLabel is required for the metric type ALBRequestCountPerTarget"
    parts = str(label).split("/")
    if len(parts) != 6 or parts[0] != "app" or parts[3] != "targetgroup":
        return (
            f"Invalid resource label {label}: expected "
            "app/<load-balancer-name>/<id>/targetgroup/<target-group-name>/<id>"
        )
    svc = sim.find_service(call.region, cluster, service)
    groups = [] if svc is None else [lb.target_group_arn for lb in svc.load_balancers]
    suffix = ":" + "/".join(parts[3:])
    if not any(arn.endswith(suffix) for arn in groups):
        return f"The target group in resource label {label} is not attached to {service}"
    return None


def _clamp(sim: Simulation, call: Call, cluster: str, service: str, low: int, high: int) -> None:
    """The service's desired count inside [low, high], as registering a target does."""
    with sim.synced():
        svc = sim.find_service(call.region, cluster, service)
        if svc is None or svc.deleted:
            return
        count = min(max(svc.desired_count, low), high)
        if count == svc.desired_count:
            return
        sim.update_service(
            svc,
            account=call.account,
            task_definition=None,
            desired_count=count,
            deployment_configuration=None,
            force_new_deployment=False,
            load_balancers=None,
            network_configuration=None,
            health_check_grace_period=None,
        )
