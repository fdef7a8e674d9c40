"""The task-definition diff: empty when nothing changed, one line per changed value."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ecsdeploy.plan.diff import (
    SENSITIVE,
    ChangeKind,
    FieldChange,
    diff_task_definitions,
    mask_environment,
)
from ecsdeploy.plan.normalize import canonical_image
from ecsdeploy.render.shapes import to_register_input

from .ecs_echo import describe_response
from .realdata import load, real_taskdef_params

REAL = real_taskdef_params()


def _marked(text: str) -> list[str]:
    """The lines of a diff that say something changed (the others are context)."""
    return [line for line in text.splitlines() if line[:2] in ("+ ", "- ", "~ ")]


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    td = doc.get("taskDefinition", doc)
    containers = td["containerDefinitions"]
    assert isinstance(containers, list)
    return containers


# -- on the real task definitions ------------------------------------------------------


@pytest.mark.parametrize("path", REAL)
def test_same_document_diffs_empty(path: Path) -> None:
    doc = load(path)
    diff = diff_task_definitions(doc, copy.deepcopy(doc))
    assert (diff.changed, diff.changes, diff.text) == (False, (), "")


@pytest.mark.parametrize("path", REAL)
def test_unchanged_template_diffs_empty_against_what_ecs_describes(path: Path) -> None:
    register_input = to_register_input(load(path))
    diff = diff_task_definitions(describe_response(register_input), register_input)
    assert not diff.changed, diff.text


@pytest.mark.parametrize("path", REAL)
def test_reordering_is_no_change(path: Path) -> None:
    before = load(path)
    after = copy.deepcopy(before)
    td = after.get("taskDefinition", after)
    td["containerDefinitions"].reverse()
    for c in td["containerDefinitions"]:
        for key in ("environment", "secrets", "portMappings", "mountPoints", "volumesFrom"):
            if isinstance(c.get(key), list):
                c[key].reverse()
        if isinstance(c.get("dockerLabels"), dict):
            c["dockerLabels"] = dict(reversed(list(c["dockerLabels"].items())))
    for key in ("volumes", "requiresCompatibilities", "tags"):
        if isinstance(td.get(key), list):
            td[key].reverse()
    after = dict(reversed(list(after.items())))
    diff = diff_task_definitions(before, after)
    assert not diff.changed, diff.text


@pytest.mark.parametrize("path", REAL)
def test_explicit_defaults_are_no_change(path: Path) -> None:
    before = load(path)
    after = copy.deepcopy(before)
    td = after.get("taskDefinition", after)
    for c in _containers(after):
        c.setdefault("essential", True)
        c.setdefault("cpu", 0)
        for key in ("environment", "mountPoints", "volumesFrom", "secrets", "portMappings"):
            if not c.get(key):
                c[key] = []
        for port in c["portMappings"]:
            port.setdefault("protocol", "tcp")
        if isinstance(c.get("logConfiguration"), dict):
            c["logConfiguration"].setdefault("secretOptions", [])
    td.setdefault("enableFaultInjection", False)
    td.setdefault("placementConstraints", [])
    if not td.get("volumes"):
        td["volumes"] = []
    diff = diff_task_definitions(before, after)
    assert not diff.changed, diff.text


@pytest.mark.parametrize("path", REAL)
def test_one_changed_environment_variable_is_one_line_and_one_change(path: Path) -> None:
    before = load(path)
    containers = _containers(before)
    container = next((c for c in containers if c.get("environment")), None)
    if container is None:
        # No environment in this file: give its first container one, on both sides.
        container = containers[0]
        container["environment"] = [{"name": "ECSDEPLOY_PROBE", "value": "before"}]
    after = copy.deepcopy(before)
    changed = next(c for c in _containers(after) if c.get("name") == container.get("name"))[
        "environment"
    ][-1]
    old_value = changed.get("value")
    changed["value"] = "ecsdeploy-changed-value"

    diff = diff_task_definitions(before, after)

    name = changed["name"]
    assert _marked(diff.text) == [
        f'~     {name}: {json.dumps(old_value)} -> "ecsdeploy-changed-value"'
    ]
    assert diff.changes == (
        FieldChange(
            path=f"containerDefinitions[{container['name']}].environment[{name}]",
            kind=ChangeKind.UPDATE,
            before=old_value,
            after="ecsdeploy-changed-value",
        ),
    )
    # The container's header and `environment:` come first, as context.
    assert diff.text.splitlines()[:2] == [
        f"  containerDefinitions[{container['name']}]:",
        "    environment:",
    ]


@pytest.mark.parametrize("path", REAL)
def test_changed_image_reads_as_one_line_under_its_container(path: Path) -> None:
    before = load(path)
    container = _containers(before)[-1]
    after = copy.deepcopy(before)
    target = next(c for c in _containers(after) if c["name"] == container["name"])
    target["image"] = "registry.example.com/shop/web:3f2c1ab"

    diff = diff_task_definitions(before, after)

    # Docker Hub images are shown in their short spelling (`docker.io/x/y` reads `x/y`).
    old = canonical_image(container["image"]) if container.get("image") else None
    if old is None:
        expected = '+   image: "registry.example.com/shop/web:3f2c1ab"'
        kind = ChangeKind.ADD
    else:
        expected = f'~   image: "{old}" -> "registry.example.com/shop/web:3f2c1ab"'
        kind = ChangeKind.UPDATE
    assert diff.text.splitlines() == [f"  containerDefinitions[{container['name']}]:", expected]
    assert diff.changes == (
        FieldChange(
            f"containerDefinitions[{container['name']}].image",
            kind,
            old,
            "registry.example.com/shop/web:3f2c1ab",
        ),
    )


@pytest.mark.parametrize("path", REAL)
def test_a_new_task_definition_is_all_additions(path: Path) -> None:
    doc = load(path)
    diff = diff_task_definitions(None, doc)
    assert diff.created and diff.changed
    assert all(line.startswith("+ ") for line in diff.text.splitlines())
    assert {c.kind for c in diff.changes} == {ChangeKind.ADD}
    assert all(c.before is None for c in diff.changes)
    paths = {c.path for c in diff.changes}
    assert {f"containerDefinitions[{c['name']}]" for c in _containers(doc)} <= paths


# -- shapes of change ------------------------------------------------------------------

BASE: dict[str, Any] = {
    "family": "shop-web",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [
        {
            "name": "web",
            "image": "shop/web:41",
            "portMappings": [{"containerPort": 8080}],
            "environment": [
                {"name": "LOG_LEVEL", "value": "info"},
                {"name": "DB_PASSWORD", "value": "hunter2"},
            ],
            "secrets": [{"name": "API_KEY", "valueFrom": "arn:aws:ssm:eu-west-1:1:parameter/k"}],
        },
        {"name": "envoy", "image": "envoy:1", "essential": False},
    ],
}


def _changed(**container_changes: Any) -> dict[str, Any]:
    after = copy.deepcopy(BASE)
    after["containerDefinitions"][0].update(container_changes)
    return after


def test_full_text_of_a_typical_release() -> None:
    after = _changed(
        image="shop/web:42",
        environment=[
            {"name": "DB_PASSWORD", "value": "hunter2"},
            {"name": "LOG_LEVEL", "value": "debug"},
            {"name": "FEATURE_X", "value": "on"},
        ],
        portMappings=[{"containerPort": 8080}, {"containerPort": 9090, "protocol": "tcp"}],
    )
    after["cpu"] = "0.5 vCPU"
    diff = diff_task_definitions(BASE, after)
    assert diff.text == (
        "  containerDefinitions[web]:\n"
        "    environment:\n"
        '+     FEATURE_X: "on"\n'
        '~     LOG_LEVEL: "info" -> "debug"\n'
        '~   image: "shop/web:41" -> "shop/web:42"\n'
        "    portMappings:\n"
        '+     {"containerPort": 9090}\n'
        "~ cpu: 256 -> 512\n"
    )
    assert [c.as_dict() for c in diff.changes] == [
        {
            "path": "containerDefinitions[web].environment[FEATURE_X]",
            "action": "add",
            "before": None,
            "after": "on",
        },
        {
            "path": "containerDefinitions[web].environment[LOG_LEVEL]",
            "action": "update",
            "before": "info",
            "after": "debug",
        },
        {
            "path": "containerDefinitions[web].image",
            "action": "update",
            "before": "shop/web:41",
            "after": "shop/web:42",
        },
        {
            "path": "containerDefinitions[web].portMappings",
            "action": "update",
            "before": [{"containerPort": 8080}],
            "after": [{"containerPort": 8080}, {"containerPort": 9090}],
        },
        {"path": "cpu", "action": "update", "before": 256, "after": 512},
    ]


def test_masked_environment_value_never_shows_but_its_change_does() -> None:
    after = _changed(
        environment=[
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "DB_PASSWORD", "value": "correct horse"},
        ]
    )
    diff = diff_task_definitions(BASE, after, mask=mask_environment())
    assert diff.text == (
        "  containerDefinitions[web]:\n    environment:\n~     DB_PASSWORD: (sensitive)\n"
    )
    assert diff.changes == (
        FieldChange(
            "containerDefinitions[web].environment[DB_PASSWORD]",
            ChangeKind.UPDATE,
            SENSITIVE,
            SENSITIVE,
        ),
    )
    assert "hunter2" not in repr(diff) and "correct horse" not in repr(diff)


def test_mask_hides_values_inside_added_containers_too() -> None:
    before = copy.deepcopy(BASE)
    before["containerDefinitions"].pop(0)
    diff = diff_task_definitions(before, BASE, mask=mask_environment())
    assert "hunter2" not in diff.text and "hunter2" not in repr(diff.changes)
    assert "+     DB_PASSWORD: (sensitive)" in diff.text.splitlines()
    assert '+     LOG_LEVEL: "info"' in diff.text.splitlines()
    (added,) = diff.changes
    assert added.path == "containerDefinitions[web]"
    assert added.after["environment"] == [
        {"name": "DB_PASSWORD", "value": SENSITIVE},
        {"name": "LOG_LEVEL", "value": "info"},
    ]


def test_mask_gets_the_holding_path_and_the_key() -> None:
    asked: list[tuple[str, str]] = []

    def mask(path: str, key: str) -> bool:
        asked.append((path, key))
        return key == "image"

    diff = diff_task_definitions(BASE, _changed(image="shop/web:42"), mask=mask)
    assert ("containerDefinitions[web]", "image") in asked
    assert ("containerDefinitions[web].environment", "LOG_LEVEL") in asked
    assert ("", "family") in asked
    assert diff.text.splitlines()[-1] == "~   image: (sensitive)"


def test_secret_arns_are_shown() -> None:
    after = _changed(
        secrets=[{"name": "API_KEY", "valueFrom": "arn:aws:ssm:eu-west-1:1:parameter/k2"}]
    )
    diff = diff_task_definitions(BASE, after, mask=mask_environment())
    assert _marked(diff.text) == [
        '~     API_KEY: "arn:aws:ssm:eu-west-1:1:parameter/k" -> "arn:aws:ssm:eu-west-1:1:parameter/k2"'
    ]


def test_removed_container_is_all_removals() -> None:
    after = copy.deepcopy(BASE)
    after["containerDefinitions"].pop(1)
    diff = diff_task_definitions(BASE, after)
    assert diff.text == (
        "- containerDefinitions[envoy]:\n"
        "-   essential: false\n"
        '-   image: "envoy:1"\n'
        '-   name: "envoy"\n'
    )
    assert diff.changes == (
        FieldChange(
            "containerDefinitions[envoy]",
            ChangeKind.REMOVE,
            {"essential": False, "image": "envoy:1", "name": "envoy"},
            None,
        ),
    )


def test_command_order_matters_and_shows_on_one_line() -> None:
    before = _changed(command=["serve", "--port", "8080"])
    after = _changed(command=["--port", "8080", "serve"])
    diff = diff_task_definitions(before, after)
    assert _marked(diff.text) == [
        '~   command: ["serve", "--port", "8080"] -> ["--port", "8080", "serve"]'
    ]


def test_default_removed_from_template_is_no_change_but_a_real_value_is() -> None:
    before = _changed(essential=True)
    assert not diff_task_definitions(before, BASE).changed
    diff = diff_task_definitions(before, _changed(essential=False))
    assert diff.changes == (
        FieldChange("containerDefinitions[web].essential", ChangeKind.ADD, None, False),
    )


def test_as_dict_is_the_json_plan_form() -> None:
    diff = diff_task_definitions(BASE, _changed(image="shop/web:42"))
    assert diff.as_dict() == {
        "changed": True,
        "created": False,
        "changes": [
            {
                "path": "containerDefinitions[web].image",
                "action": "update",
                "before": "shop/web:41",
                "after": "shop/web:42",
            }
        ],
    }


def test_boto3_describe_output_with_datetimes_diffs_empty() -> None:
    described = describe_response(BASE)
    described["taskDefinition"]["registeredAt"] = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    described["ResponseMetadata"] = {"HTTPStatusCode": 200}
    assert not diff_task_definitions(described, BASE).changed
    after = copy.deepcopy(BASE)
    after["x-unknown"] = datetime(2026, 11, 28, tzinfo=UTC)
    assert diff_task_definitions(described, after).text == (
        '+ x-unknown: "2026-11-28 00:00:00+00:00"\n'
    )
