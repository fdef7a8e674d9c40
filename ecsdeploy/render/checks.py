"""What ECS requires of a rendered task definition, checked before any AWS call."""

from __future__ import annotations

import re
from typing import Any

from ecsdeploy.config.model import Service

from .shapes import unknown_fields

_FAMILY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def _launch_types(td: dict[str, Any], service: Service) -> set[str]:
    types = {t for t in td.get("requiresCompatibilities") or [] if isinstance(t, str)}
    if service.launch_type:
        types.add(service.launch_type)
    return types


def task_definition_problems(td: dict[str, Any], service: Service) -> list[tuple[str, str | None]]:
    """(message, hint) for everything RegisterTaskDefinition or the service would refuse."""
    found: list[tuple[str, str | None]] = []
    for key in unknown_fields(td):
        found.append(
            (
                f"`{key}` is not a field of a task definition",
                "see RegisterTaskDefinition's parameters; keys are case-sensitive",
            )
        )
    family = td.get("family")
    if not isinstance(family, str) or not family:
        found.append(("the task definition has no `family`", 'add "family": "<name>"'))
    elif not _FAMILY.match(family):
        found.append(
            (
                f"family {family!r} is not valid",
                "up to 255 letters, digits, hyphens and underscores",
            )
        )
    containers = td.get("containerDefinitions")
    if not isinstance(containers, list) or not containers:
        found.append(("the task definition has no `containerDefinitions`", None))
        return found
    fargate = "FARGATE" in _launch_types(td, service)
    task_memory = td.get("memory")
    if fargate:
        for field in ("cpu", "memory"):
            if td.get(field) in (None, ""):
                found.append(
                    (
                        f"a Fargate task definition needs a task-level `{field}`",
                        'e.g. "cpu": "256", "memory": "512"',
                    )
                )
    names: set[str] = set()
    for i, c in enumerate(containers):
        if not isinstance(c, dict):
            found.append((f"containerDefinitions[{i}] is not an object", None))
            continue
        name = c.get("name")
        label = f"container {name!r}" if isinstance(name, str) and name else f"container #{i + 1}"
        if not isinstance(name, str) or not name:
            found.append((f"{label} has no `name`", None))
        elif name in names:
            found.append((f"two containers are named {name!r}", "container names must be unique"))
        else:
            names.add(name)
        image = c.get("image")
        if not isinstance(image, str) or not image.strip():
            found.append(
                (
                    f"{label} has no `image`",
                    "refer to an image of deploy.yaml: {{ images.NAME.uri }}",
                )
            )
        if (
            not fargate
            and task_memory in (None, "")
            and not (c.get("memory") or c.get("memoryReservation"))
        ):
            found.append(
                (
                    f"{label} has no `memory` or `memoryReservation`",
                    "the EC2 launch type needs one of them, or a task-level `memory`",
                )
            )
    lb = service.load_balancer
    if lb is not None and lb.container not in names:
        found.append(
            (
                f"load_balancer.container {lb.container!r} is not a container of the task "
                "definition",
                f"containers: {', '.join(sorted(names))}" if names else None,
            )
        )
    elif lb is not None:
        container = next(
            c for c in containers if isinstance(c, dict) and c.get("name") == lb.container
        )
        ports = [
            p.get("containerPort")
            for p in container.get("portMappings") or []
            if isinstance(p, dict)
        ]
        if lb.port not in ports:
            found.append(
                (
                    f"container {lb.container!r} does not map load_balancer.port {lb.port}",
                    f"its containerPorts: {', '.join(str(p) for p in ports)}"
                    if ports
                    else "add a portMappings entry with this containerPort",
                )
            )
    return found
