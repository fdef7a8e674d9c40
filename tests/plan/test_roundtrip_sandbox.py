"""Register each real task definition in the sandbox, describe it back: the diff must be empty.

The sandbox (over a real socket) writes back what ECS does (container cpu 0,
essential true, empty lists, protocol tcp, host ports, health-check timings,
task cpu/memory as integers, compatibilities, requiresAttributes, revision,
status, tags beside the task definition) and refuses what ECS refuses; every
real task definition registers, and the normaliser must see through all of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecsdeploy.plan.diff import diff_task_definitions
from ecsdeploy.render.shapes import to_register_input, unknown_fields

from .realdata import load, real_taskdef_params

moto = pytest.importorskip("moto")

# Files whose containers have no image (one is filled in by a CI render step upstream).
PLACEHOLDER_IMAGE = "public.ecr.aws/docker/library/busybox:1.36"


@pytest.fixture
def ecs(sandbox: Any) -> Iterator[Any]:
    yield sandbox.client("ecs")


def registrable(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as RegisterTaskDefinition (and moto) will take it."""
    td = to_register_input(doc)
    for key in unknown_fields(td):
        # 08's "Tags" (capital T): botocore refuses unknown parameters.
        del td[key]
    for c in td["containerDefinitions"]:
        if not c.get("image"):
            c["image"] = PLACEHOLDER_IMAGE
    return td


@pytest.mark.parametrize("path", real_taskdef_params())
def test_registered_then_described_diffs_empty(ecs: Any, path: Path) -> None:
    td = registrable(load(path))
    registered = ecs.register_task_definition(**td)["taskDefinition"]
    described = ecs.describe_task_definition(
        taskDefinition=registered["taskDefinitionArn"], include=["TAGS"]
    )
    assert described["taskDefinition"]["status"] == "ACTIVE"

    diff = diff_task_definitions(described, td)

    assert not diff.changed, diff.text
    # And the other way round: the live revision as the desired state.
    assert not diff_task_definitions(td, described).changed


@pytest.mark.parametrize("path", real_taskdef_params())
def test_a_changed_image_survives_the_round_trip_as_one_change(ecs: Any, path: Path) -> None:
    td = registrable(load(path))
    arn = ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
    described = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    name = td["containerDefinitions"][0]["name"]
    td["containerDefinitions"][0]["image"] = "registry.example.com/shop/web:3f2c1ab"

    diff = diff_task_definitions(described, td)

    assert [c.path for c in diff.changes] == [f"containerDefinitions[{name}].image"]
