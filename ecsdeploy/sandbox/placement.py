"""Task placement on EC2 container instances: CPU, memory and static host ports.

Pure functions over snapshots, so the rules are easy to read and to test: a
task fits an instance when the instance has the CPU and memory left and none
of the task's fixed host ports is held by a task that has not STOPPED yet
(draining tasks still hold their ports, which is why a rolling update with
static ports needs an idle instance).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecsdeploy.sandbox import messages
from ecsdeploy.sandbox.model import DYNAMIC_PORT_FIRST, TaskSpec

# Ports the ECS agent and SSH hold on every instance (moto reports the same).
RESERVED_PORTS = frozenset({22, 2375, 2376, 51678, 51679})


@dataclass(frozen=True)
class InstanceView:
    """A container instance with what the tasks on it use."""

    arn: str
    instance_id: str  # the container-instance ID (last part of the ARN)
    ec2_instance_id: str
    availability_zone: str
    cpu_total: int
    memory_total: int
    cpu_used: int
    memory_used: int
    ports_used: frozenset[int]
    service_tasks: int  # tasks of the service being placed, for spreading
    all_tasks: int

    def problems(self, spec: TaskSpec) -> list[str]:
        found: list[str] = []
        if spec.cpu > self.cpu_total - self.cpu_used:
            found.append("cpu")
        if spec.memory > self.memory_total - self.memory_used:
            found.append("memory")
        if spec.static_host_ports & (self.ports_used | RESERVED_PORTS):
            found.append("ports")
        return found


@dataclass(frozen=True)
class Placement:
    instance: InstanceView | None
    failure: str | None  # the detail of ECS's "unable to place a task" event


def place(spec: TaskSpec, instances: list[InstanceView]) -> Placement:
    """Choose an instance (spread over the service's tasks, then over all tasks)."""
    if not instances:
        return Placement(None, messages.NO_INSTANCES)
    fitting = [i for i in instances if not i.problems(spec)]
    if fitting:
        best = min(fitting, key=lambda i: (i.service_tasks, i.all_tasks, i.arn))
        return Placement(best, None)
    closest = min(instances, key=lambda i: (len(i.problems(spec)), i.arn))
    first = closest.problems(spec)
    # ECS names the unmet requirement of the closest instance; ports are the
    # one a rolling update trips on, so they are reported first.
    if "ports" in first:
        detail = messages.closest_port(closest.instance_id)
    elif "cpu" in first:
        detail = messages.closest_cpu(closest.instance_id)
    else:
        detail = messages.closest_memory(closest.instance_id)
    return Placement(None, detail)


def dynamic_port(used: set[int]) -> int:
    """The first free port of the ephemeral range, for hostPort 0 in bridge mode."""
    port = DYNAMIC_PORT_FIRST
    while port in used:
        port += 1
    used.add(port)
    return port


# -- placement constraints (memberOf expressions, ECS's cluster query language) --------
#
# The subset the sandbox evaluates: `attribute:NAME` (and `ec2InstanceId`) compared
# with `==`, `!=`, `=~` (a pattern, `*` matching anything), `in [a, b]`, `not_in [...]`,
# `exists`, `!exists`, clauses joined by `and`/`&&` and `or`/`||` (and binding tighter).
# An expression outside this subset is taken as met.

_CLAUSE = re.compile(
    r"^\s*(?P<subject>attribute:[\w.\-]+|ec2InstanceId)\s*"
    r"(?:(?P<op>==|!=|=~|not_in|in)\s*(?P<value>\[[^\]]*\]|\S+)|(?P<exists>!?exists))\s*$"
)


def _clause(text: str, facts: Mapping[str, str]) -> bool | None:
    m = _CLAUSE.match(text)
    if m is None:
        return None
    subject = m.group("subject")
    name = subject.removeprefix("attribute:")
    have = facts.get(name)
    if m.group("exists"):
        return (have is not None) == (m.group("exists") == "exists")
    op, raw = m.group("op"), m.group("value")
    if op in ("in", "not_in"):
        items = [v.strip() for v in raw.strip("[]").split(",") if v.strip()]
        return (have in items) == (op == "in")
    if op == "=~":
        pattern = "^" + ".*".join(re.escape(p) for p in raw.split("*")) + "$"
        return have is not None and re.match(pattern, have) is not None
    return (have == raw) == (op == "==")


def meets(expression: str | None, facts: Mapping[str, str]) -> bool:
    """Whether an instance with `facts` (attribute name -> value, plus ec2InstanceId)
    meets a memberOf expression."""
    if not expression:
        return True
    text = re.sub(r"\s+(&&)\s+", " and ", re.sub(r"\s+(\|\|)\s+", " or ", expression))
    results: list[bool] = []
    for alternative in re.split(r"\s+or\s+", text):
        parts = [_clause(c, facts) for c in re.split(r"\s+and\s+", alternative)]
        if any(p is None for p in parts):
            return True  # not understood here: taken as met
        results.append(all(bool(p) for p in parts))
    return any(results)


def meets_constraints(constraints: Any, facts: Mapping[str, str]) -> bool:
    """A service's placementConstraints, as CreateService takes them (distinctInstance
    always holds for one task per instance)."""
    return all(
        meets(str(c.get("expression") or ""), facts)
        for c in constraints or []
        if isinstance(c, Mapping) and c.get("type") == "memberOf"
    )
