"""Task-definition shapes: turn any accepted shape into a RegisterTaskDefinition input.

Accepted: the RegisterTaskDefinition input; the output of
`aws ecs describe-task-definition`, whole (`{"taskDefinition": {...}, "tags": [...]}`)
or its `taskDefinition` object. Read-only fields are dropped, and so are explicit
nulls (old CLI and console exports write `"ipcMode": null` for "unset").
"""

from __future__ import annotations

from typing import Any

# Members of RegisterTaskDefinition's input (botocore's ecs service model; a test
# keeps this list in step with the installed botocore).
REGISTER_FIELDS: frozenset[str] = frozenset(
    {
        "family",
        "taskRoleArn",
        "executionRoleArn",
        "networkMode",
        "containerDefinitions",
        "volumes",
        "placementConstraints",
        "requiresCompatibilities",
        "cpu",
        "memory",
        "tags",
        "pidMode",
        "ipcMode",
        "proxyConfiguration",
        "inferenceAccelerators",
        "ephemeralStorage",
        "runtimePlatform",
        "enableFaultInjection",
        "trustedExecutionConfiguration",
    }
)

# Fields DescribeTaskDefinition returns that RegisterTaskDefinition does not take.
READ_ONLY_FIELDS: frozenset[str] = frozenset(
    {
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
        "deregisteredAt",
        "deleteRequestedAt",
    }
)


def drop_nulls(value: Any) -> Any:
    """Remove keys whose value is None, at every depth (lists keep their items)."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def unwrap(doc: dict[str, Any]) -> dict[str, Any]:
    """The task definition object inside a describe-task-definition response, tags kept."""
    inner = doc.get("taskDefinition")
    if isinstance(inner, dict) and "containerDefinitions" not in doc:
        result = dict(inner)
        tags = doc.get("tags")
        if tags and "tags" not in result:
            result["tags"] = tags
        return result
    return doc


# Task-level members the API takes as strings that users write as numbers
# (`cpu: 256`); they are sent as the string ECS expects.
NUMBER_AS_STRING_FIELDS: tuple[str, ...] = ("cpu", "memory")


def to_register_input(doc: dict[str, Any]) -> dict[str, Any]:
    """A RegisterTaskDefinition input from any accepted shape; unknown keys are kept.

    Unknown keys are left for the caller to report (render refuses them with a
    message naming the key, rather than dropping what a user meant to set).
    Task-level `cpu` and `memory` written as whole numbers become strings.
    """
    td = unwrap(doc)
    result = {
        k: drop_nulls(v) for k, v in td.items() if k not in READ_ONLY_FIELDS and v is not None
    }
    for key in NUMBER_AS_STRING_FIELDS:
        value = result.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            result[key] = str(value)
    return result


def unknown_fields(td: dict[str, Any]) -> list[str]:
    """Top-level keys RegisterTaskDefinition would refuse."""
    return sorted(k for k in td if k not in REGISTER_FIELDS)
