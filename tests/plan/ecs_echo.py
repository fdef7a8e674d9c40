"""What DescribeTaskDefinition gives back for a registered input, as real ECS writes it.

A test oracle built from the describe outputs among the real task definitions
(02, 10, 11, 17, 20, 21) and the API reference: ECS fills in container `cpu: 0`,
`essential: true`, empty lists, `protocol: "tcp"`, `hostPort` (the container port
under awsvpc/host, 0 under bridge), health-check timings, converts task cpu/memory
unit strings to numbers, adds the read-only fields, and returns tags beside the
task definition.
"""

from __future__ import annotations

import copy
from typing import Any

from ecsdeploy.plan.normalize import parse_cpu, parse_memory
from ecsdeploy.render.shapes import to_register_input


def describe_response(register_input: dict[str, Any], revision: int = 7) -> dict[str, Any]:
    td = to_register_input(copy.deepcopy(register_input))
    tags = td.pop("tags", [])
    mode = td.get("networkMode", "bridge")
    for c in td["containerDefinitions"]:
        c.setdefault("cpu", 0)
        c.setdefault("essential", True)
        for key in ("environment", "mountPoints", "volumesFrom", "systemControls"):
            c.setdefault(key, [])
        c.setdefault("portMappings", [])
        for port in c["portMappings"]:
            port.setdefault("protocol", "tcp")
            if "containerPort" in port:
                if mode in ("awsvpc", "host"):
                    port.setdefault("hostPort", port["containerPort"])
                else:
                    port.setdefault("hostPort", 0)
        health = c.get("healthCheck")
        if health is not None:
            health.setdefault("interval", 30)
            health.setdefault("timeout", 5)
            health.setdefault("retries", 3)
    for key, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
        if key in td:
            td[key] = str(parse(td[key]))
    td.setdefault("volumes", [])
    td.setdefault("placementConstraints", [])
    td.setdefault("enableFaultInjection", False)
    family = td.get("family", "family")
    td.update(
        {
            "taskDefinitionArn": (
                f"arn:aws:ecs:eu-west-1:123456789012:task-definition/{family}:{revision}"
            ),
            "revision": revision,
            "status": "ACTIVE",
            "compatibilities": ["EC2", "FARGATE"],
            "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
            "registeredAt": "2026-11-28T07:00:00.000Z",
            "registeredBy": "arn:aws:iam::123456789012:root",
        }
    )
    return {"taskDefinition": td, "tags": tags}
