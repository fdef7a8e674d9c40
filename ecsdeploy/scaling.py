"""Application Auto Scaling's names for an ECS service, and a service's live scaling as
data: shared by the adapter that reads and writes it, the planner and init.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"


def resource_id(cluster: str, service: str) -> str:
    """`service/<cluster>/<service>`: how Application Auto Scaling names an ECS service."""
    return f"service/{cluster}/{service}"


def resource_label(load_balancer_arn: str, target_group_arn: str) -> str:
    """ALBRequestCountPerTarget's ResourceLabel: the last part of the load balancer's ARN
    and of the target group's, `app/<lb>/<id>/targetgroup/<tg>/<id>`."""
    lb = load_balancer_arn.split(":loadbalancer/", 1)[-1]
    tg = target_group_arn.rsplit(":", 1)[-1]
    return f"{lb}/{tg}"


@dataclass(frozen=True)
class ScalingState:
    """A service's live scaling: None/empty when it has no scalable target."""

    target: Mapping[str, Any] | None  # DescribeScalableTargets' entry
    policies: tuple[Mapping[str, Any], ...] = ()  # DescribeScalingPolicies' entries
    scheduled: tuple[Mapping[str, Any], ...] = ()  # DescribeScheduledActions' entries


NO_SCALING = ScalingState(target=None)
