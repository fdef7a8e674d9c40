"""`service_overrides:` checked against the ECS API model, before any AWS call.

A service's `service_overrides` holds CreateService/UpdateService fields in the
API's own camelCase shape, for what deploy.yaml has no key of its own for. Each is
walked through its CreateServiceRequest member in botocore's ECS model
(`ecsdeploy.api_model`), so a typo or a wrong type is an input error (exit 3) at its
key path; a field deploy.yaml has a key for is refused with that key's name, so a
setting has one spelling and the plan compares it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecsdeploy.errors import Problem

from .loader import KeyPath, Positions

# CreateService/UpdateService fields deploy.yaml has keys for: field -> the key.
NAMED_FIELDS: Mapping[str, str] = {
    "cluster": "cluster",
    "serviceName": "name",
    "service": "name",
    "taskDefinition": "task_definition",
    "desiredCount": "desired_count",
    "deploymentConfiguration": "deployment",
    "loadBalancers": "load_balancers",
    "networkConfiguration": "network",
    "launchType": "launch_type",
    "healthCheckGracePeriodSeconds": "health_check_grace_period",
    "enableExecuteCommand": "enable_execute_command",
    "tags": "tags",
    "propagateTags": "propagate_tags",
    "platformVersion": "platform_version",
    "placementConstraints": "placement.constraints",
    "placementStrategy": "placement.strategy",
    "capacityProviderStrategy": "capacity_provider_strategy",
    "schedulingStrategy": "scheduling_strategy",
    "serviceConnectConfiguration": "service_connect",
    "serviceRegistries": "service_registries",
    "availabilityZoneRebalancing": "availability_zone_rebalancing",
    "volumeConfigurations": "volume_configurations",
    "forceNewDeployment": "(none: ecsdeploy starts a deployment when one is needed)",
}

# CreateService fields UpdateService does not take: sent only when the service is
# created, and not compared with a live service (which cannot be changed to them).
CREATE_ONLY: frozenset[str] = frozenset({"clientToken", "role", "schedulingStrategy"})


def check_overrides(
    overrides: Mapping[str, Any], base: KeyPath, positions: Positions
) -> list[Problem]:
    """What is wrong with one service's `service_overrides` (at `base`)."""
    from ecsdeploy.api_model import check_shape, load_model, suggest

    problems: list[Problem] = []
    model = load_model("ecs")
    members: Mapping[str, Any] = {}
    if model is not None:
        members = (model.shapes.get("CreateServiceRequest") or {}).get("members") or {}
    for name, value in overrides.items():
        path: KeyPath = (*base, name)
        key = NAMED_FIELDS.get(name)
        if key is not None:
            hint = (
                f"write it as `{key}:` on the service"
                if not key.startswith("(")
                else "leave it out: ecsdeploy starts a deployment when one is needed"
            )
            problems.append(
                Problem(
                    f"`{name}` has a key of its own in deploy.yaml",
                    positions.locate(path, key=True),
                    hint,
                )
            )
            continue
        if model is None:
            continue
        if name not in members:
            close = suggest(name, [m for m in members if m not in NAMED_FIELDS])
            problems.append(
                Problem(
                    f"`{name}` is not a CreateService field",
                    positions.locate(path, key=True),
                    f"did you mean `{close}`?" if close else None,
                )
            )
            continue
        shape = str(members[name].get("shape"))
        for found in check_shape(model, shape, value, name):
            parts: list[str | int] = list(path_parts(found.path))
            where = positions.locate((*base, *parts))
            problems.append(Problem(found.message, where, found.hint))
    return problems


def path_parts(path: str) -> list[str | int]:
    """`a.b[2].c` -> ["a", "b", 2, "c"]; `x[web]` keeps `web` as a key."""
    out: list[str | int] = []
    for piece in path.split("."):
        while "[" in piece:
            head, _, rest = piece.partition("[")
            if head:
                out.append(head)
            index, _, piece = rest.partition("]")
            out.append(int(index) if index.isdigit() else index)
        if piece:
            out.append(piece)
    return out
