"""ECS's documented arithmetic for rolling deployments, shared by the sandbox and verify.

Sources (ECS API reference, DeploymentConfiguration and ServiceDeploymentCircuitBreaker):
- minimumHealthyPercent is a lower limit on RUNNING tasks as a percentage of the
  desired count, *rounded up* to the nearest integer;
- maximumPercent is an upper limit on RUNNING or PENDING tasks as a percentage
  of the desired count, *rounded down* to the nearest integer;
- the circuit breaker's failure threshold is 0.5 x desired count, rounded up,
  never below 3 and never above 200.

And the task size as RegisterTaskDefinition takes it (TaskDefinition `cpu` and
`memory`): cpu in CPU units ("1024") or vCPUs ("1 vCPU", ".25 vcpu"), memory in
MiB ("2048") or GB ("2 GB", "1GB"); case and the space are free, and ECS stores
the integer form. Task cpu is between 128 and 196608 CPU units.
"""

from __future__ import annotations

import math
import re

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


CPU_UNITS_PER_VCPU = 1024
MIB_PER_GB = 1024
TASK_CPU_MIN = 128
TASK_CPU_MAX = 196608
TASK_CPU_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(vcpu)?\s*$", re.IGNORECASE)
TASK_MEMORY_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(gb)?\s*$", re.IGNORECASE)


def _size(value: object, pattern: re.Pattern[str], unit: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    match = pattern.match(value)
    if match is None:
        return None
    number = float(match.group(1)) * (unit if match.group(2) else 1)
    return int(number) if number.is_integer() else None


def task_cpu_units(value: object) -> int | None:
    """Task cpu in CPU units ("0.25 vCPU" -> 256, "1024" -> 1024), None if ECS would not
    read it (the range is not checked here)."""
    return _size(value, TASK_CPU_PATTERN, CPU_UNITS_PER_VCPU)


def task_memory_mib(value: object) -> int | None:
    """Task memory in MiB ("1 GB" -> 1024, "512" -> 512), None if ECS would not read it."""
    return _size(value, TASK_MEMORY_PATTERN, MIB_PER_GB)
