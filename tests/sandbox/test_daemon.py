"""DAEMON services: one task on each ACTIVE container instance, replaced in place."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack, step_until


def _bridge(stack: Stack, image: str = "agent:1", env: dict[str, str] | None = None) -> str:
    return stack.task_definition(
        "agent", network_mode="bridge", host_port=0, memory=256, image=image, env=env
    )


def _daemon(stack: Stack, td: str, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "cluster": stack.cluster,
        "serviceName": "agent",
        "taskDefinition": td,
        "schedulingStrategy": "DAEMON",
        "launchType": "EC2",
    }
    params.update(extra)
    service: dict[str, Any] = stack.ecs.create_service(**params)["service"]
    return service


def _per_instance(stack: Stack) -> Counter[str]:
    return Counter(t["containerInstanceArn"] for t in stack.tasks("agent"))


def test_one_task_on_each_active_instance(paused: SandboxHandle, stack: Stack) -> None:
    stack.add_instances(3)
    created = _daemon(stack, _bridge(stack))
    assert created["schedulingStrategy"] == "DAEMON"
    assert created["desiredCount"] == 3  # ECS counts the instances; none was sent
    # ECS's defaults for a daemon: replaced in place, none kept.
    assert created["deploymentConfiguration"]["minimumHealthyPercent"] == 0
    assert created["deploymentConfiguration"]["maximumPercent"] == 100
    assert paused.control.settle()
    svc = stack.service("agent")
    assert (svc["desiredCount"], svc["runningCount"]) == (3, 3)
    assert _per_instance(stack) == Counter(dict.fromkeys(stack.instances, 1))
    listed = stack.ecs.list_services(cluster="shop", schedulingStrategy="DAEMON")["serviceArns"]
    assert [a.split("/")[-1] for a in listed] == ["agent"]


def test_instances_that_come_and_go(paused: SandboxHandle, stack: Stack) -> None:
    stack.add_instances(2)
    _daemon(stack, _bridge(stack))
    assert paused.control.settle()
    (added,) = stack.add_instances(1)  # a new instance gets its task
    assert stack.service("agent")["desiredCount"] == 3
    assert paused.control.settle()
    assert _per_instance(stack)[added] == 1
    # A DRAINING instance counts no more, and its daemon task stops.
    stack.ecs.update_container_instances_state(
        cluster="shop", containerInstances=[added], status="DRAINING"
    )
    assert paused.control.settle()
    svc = stack.service("agent")
    assert (svc["desiredCount"], svc["runningCount"]) == (2, 2)
    assert added not in _per_instance(stack)


def test_placement_constraints_choose_the_instances(paused: SandboxHandle, stack: Stack) -> None:
    stack.add_instances(3)
    stack.ecs.put_attributes(
        cluster="shop",
        attributes=[
            {"name": "role", "value": "edge", "targetId": arn} for arn in stack.instances[:2]
        ],
    )
    _daemon(
        stack,
        _bridge(stack),
        placementConstraints=[{"type": "memberOf", "expression": "attribute:role == edge"}],
    )
    assert paused.control.settle()
    assert stack.service("agent")["desiredCount"] == 2
    assert set(_per_instance(stack)) == set(stack.instances[:2])


@pytest.mark.parametrize(("minimum", "kept"), [(50, 2), (0, 0), (75, 3)])
def test_deployment_replaces_in_place_keeping_the_minimum(
    paused: SandboxHandle, stack: Stack, minimum: int, kept: int
) -> None:
    stack.add_instances(4)
    _daemon(stack, _bridge(stack), deploymentConfiguration={"minimumHealthyPercent": minimum})
    assert paused.control.settle()
    old = {t["containerInstanceArn"]: t for t in stack.tasks("agent")}
    v2 = _bridge(stack, image="agent:2")
    stack.ecs.update_service(cluster="shop", service="agent", taskDefinition=v2)
    running: list[int] = []

    def each() -> None:
        live = stack.tasks("agent")
        # Never two tasks (old and new) wanted on one instance: maximumPercent 100.
        assert max(Counter(t["containerInstanceArn"] for t in live).values(), default=0) <= 1
        running.append(sum(1 for t in live if t["lastStatus"] == "RUNNING"))

    step_until(paused, lambda: stack.steady("agent"), step=1, each=each)
    assert min(running) == kept  # ceil(4 x minimum%)
    new = {t["containerInstanceArn"]: t for t in stack.tasks("agent")}
    assert set(new) == set(old) and {t["taskDefinitionArn"] for t in new.values()} == {v2}
    stopped = {t["taskArn"]: t for t in stack.tasks("agent", desired="STOPPED")}
    for arn, task in old.items():
        # Stop first, then start on the instance it freed.
        assert stopped[task["taskArn"]]["stoppingAt"] <= new[arn]["createdAt"]


def test_crashing_release_trips_the_breaker_and_rolls_back(
    paused: SandboxHandle, stack: Stack
) -> None:
    stack.add_instances(3)
    v1 = _bridge(stack)
    _daemon(
        stack,
        v1,
        deploymentConfiguration={
            "minimumHealthyPercent": 50,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        },
    )
    assert paused.control.settle()
    v2 = _bridge(stack, image="agent:2", env={"SANDBOX_CRASH": "1"})
    stack.ecs.update_service(cluster="shop", service="agent", taskDefinition=v2)
    assert paused.control.settle()
    svc = stack.service("agent")
    assert svc["taskDefinition"] == v1
    assert (svc["desiredCount"], svc["runningCount"]) == (3, 3)
    messages = stack.messages("agent")
    assert any("deployment failed: tasks failed to start" in m for m in messages)
    assert any("rolling back to deployment" in m for m in messages)
    assert _per_instance(stack) == Counter(dict.fromkeys(stack.instances, 1))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"desiredCount": 2},
            "The daemon scheduling strategy does not support a desired count for services.",
        ),
        (
            {"placementStrategy": [{"type": "spread", "field": "instanceId"}]},
            "The daemon scheduling strategy does not support placement strategies.",
        ),
        (
            {
                "launchType": None,
                "capacityProviderStrategy": [{"capacityProvider": "asg", "weight": 1}],
            },
            "Specifying a capacity provider strategy is not supported when you create a "
            "service using the DAEMON scheduling strategy.",
        ),
        (
            {"launchType": "FARGATE"},
            "The daemon scheduling strategy is not supported for tasks using the FARGATE",
        ),
        (
            {"deploymentConfiguration": {"maximumPercent": 200}},
            "does not support values above 100 for maximumPercent",
        ),
    ],
    ids=["desired-count", "placement-strategy", "capacity-providers", "fargate", "maximum"],
)
def test_what_ecs_refuses_for_a_daemon(stack: Stack, extra: dict[str, Any], message: str) -> None:
    stack.add_instances(1)
    call: dict[str, Any] = {
        "cluster": "shop",
        "serviceName": "agent",
        "taskDefinition": _bridge(stack),
        "schedulingStrategy": "DAEMON",
        "launchType": "EC2",
    }
    call.update(extra)  # None: left out
    with pytest.raises(ClientError) as raised:
        stack.ecs.create_service(**{k: v for k, v in call.items() if v is not None})
    assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
    assert message in raised.value.response["Error"]["Message"]
    assert stack.ecs.list_services(cluster="shop")["serviceArns"] == []


def test_update_of_a_daemon_takes_no_desired_count(paused: SandboxHandle, stack: Stack) -> None:
    stack.add_instances(2)
    _daemon(stack, _bridge(stack))
    with pytest.raises(ClientError, match="does not support a desired count"):
        stack.ecs.update_service(cluster="shop", service="agent", desiredCount=5)
    with pytest.raises(ClientError, match="does not support placement strategies"):
        stack.ecs.update_service(
            cluster="shop", service="agent", placementStrategy=[{"type": "random"}]
        )
    assert stack.service("agent")["desiredCount"] == 2
