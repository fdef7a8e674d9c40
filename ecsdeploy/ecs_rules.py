"""ECS's documented arithmetic for rolling deployments, shared by the sandbox and verify.

Sources (ECS API reference, DeploymentConfiguration and ServiceDeploymentCircuitBreaker):
- minimumHealthyPercent is a lower limit on RUNNING tasks as a percentage of the
  desired count, *rounded up* to the nearest integer;
- maximumPercent is an upper limit on RUNNING or PENDING tasks as a percentage
  of the desired count, *rounded down* to the nearest integer;
- the circuit breaker's failure threshold is 0.5 x desired count, rounded up,
  never below 3 and never above 200.
"""

from __future__ import annotations

import math

DEFAULT_MINIMUM_HEALTHY_PERCENT = 100
DEFAULT_MAXIMUM_PERCENT = 200
CIRCUIT_BREAKER_MIN_THRESHOLD = 3
CIRCUIT_BREAKER_MAX_THRESHOLD = 200


def min_healthy_tasks(desired: int, minimum_healthy_percent: int) -> int:
    """Tasks that must stay RUNNING (and healthy) during a rolling update."""
    return math.ceil(desired * minimum_healthy_percent / 100)


def max_tasks(desired: int, maximum_percent: int) -> int:
    """Tasks allowed RUNNING or PENDING at once during a rolling update."""
    return math.floor(desired * maximum_percent / 100)


def circuit_breaker_threshold(desired: int) -> int:
    """Failed task launches after which the circuit breaker fails the deployment."""
    return min(
        max(math.ceil(desired * 0.5), CIRCUIT_BREAKER_MIN_THRESHOLD),
        CIRCUIT_BREAKER_MAX_THRESHOLD,
    )


def can_progress(desired: int, minimum_healthy_percent: int, maximum_percent: int) -> bool:
    """Whether a rolling update can replace any task at all.

    It needs room either to start a task above the desired count or to stop one
    below it; with both limits at the desired count it never moves.
    """
    if desired == 0:
        return True
    headroom = max_tasks(desired, maximum_percent) - desired
    stoppable = desired - min_healthy_tasks(desired, minimum_healthy_percent)
    return headroom > 0 or stoppable > 0
