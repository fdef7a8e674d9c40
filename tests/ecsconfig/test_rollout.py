"""The ecs.config roll-out from apply, on the sandbox: SSM really runs the script on each
container instance (a folder standing in for it), one instance at a time."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = [pytest.mark.registry]


def test_plan_lists_out_of_date_instances(make_private_app: Callable[..., Any]) -> None:
    app, env = make_private_app()
    result = app.run("plan", env=env)
    assert result.exit_code == 0, result.output
    print(result.output)
    assert "ecs.config on cluster shop: 3 of 3 instances out of date" in result.output
    assert "3 instances to reconfigure." in result.output


def _attributes(sandbox: Any) -> dict[str, str | None]:
    ecs = sandbox.client("ecs")
    arns = ecs.list_container_instances(cluster="shop")["containerInstanceArns"]
    described = ecs.describe_container_instances(cluster="shop", containerInstances=arns)
    return {
        ci["ec2InstanceId"]: {a["name"]: a.get("value") for a in ci["attributes"]}.get(
            "ecsdeploy.ecs-config"
        )
        for ci in described["containerInstances"]
    }


def test_apply_rolls_out_one_instance_at_a_time(
    make_private_app: Callable[..., Any], sandbox: Any, registry: Any
) -> None:
    app, env = make_private_app()
    result = app.run("apply", "--yes", env=env)
    assert result.exit_code == 0, result.output
    hosts = sandbox.control.hosts.describe()
    assert len(hosts) == 3
    auth = json.dumps(
        {registry.host: {"auth": _basic(registry), "email": "ops@example.com"}},
        separators=(",", ":"),
    )
    for instance_id, host in hosts.items():
        # ECS_CLUSTER kept, the managed lines appended, exactly once.
        assert host["ecs_config"] == (
            "ECS_CLUSTER=shop\n"
            "ECS_ENGINE_AUTH_TYPE=dockercfg\n"
            f"ECS_ENGINE_AUTH_DATA={auth}\n"
            "ECS_ENABLE_CONTAINER_METADATA=true\n"
        ), instance_id
        assert host["agent_restarts"] == 1
        assert [r["status"] for r in host["runs"]] == ["Success"]
    # One at a time: each instance's script ended before the next one's started.
    runs = sorted((h["runs"][0] for h in hosts.values()), key=lambda r: r["started"])
    for before, after in itertools.pairwise(runs):
        assert before["ended"] <= after["started"]
    attributes = _attributes(sandbox)
    assert len(set(attributes.values())) == 1 and None not in attributes.values()
    assert "instance(s) reconfigured" in result.output
    again = app.run("plan", "--detailed-exitcode", env=env)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.output


def _basic(registry: Any) -> str:
    import base64

    return base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
