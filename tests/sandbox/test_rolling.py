"""Rolling updates: minimum healthy and maximum percent, as ECS rounds them."""

from __future__ import annotations

import pytest

from ecsdeploy.sandbox.control import SandboxClient
from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack, step_until


def _observe(stack: Stack, name: str, seen: list[tuple[int, int, int]]) -> None:
    live = stack.tasks(name)
    states = stack.target_states()
    svc = stack.service(name)
    seen.append((len(live), states.count("healthy"), svc["runningCount"] + svc["pendingCount"]))


@pytest.mark.parametrize(
    ("desired", "minimum", "maximum", "floor", "ceiling"),
    [
        (4, 50, 100, 2, 4),  # no extra task: old tasks stop first
        (3, 50, 100, 2, 3),  # ceil(1.5) = 2 must stay healthy
        (3, 50, 150, 2, 4),  # floor(4.5) = 4 may run at once
    ],
)
def test_rolling_update_stays_within_minimum_and_maximum(
    paused: SandboxHandle,
    stack: Stack,
    desired: int,
    minimum: int,
    maximum: int,
    floor: int,
    ceiling: int,
) -> None:
    stack.add_target_group()
    v1 = stack.task_definition()
    stack.create_service("shop-web", v1, desired=desired, minimum=minimum, maximum=maximum)
    paused.control.settle()
    assert stack.target_states() == ["healthy"] * desired

    v2 = stack.task_definition(image="shop/web:2")
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)
    seen: list[tuple[int, int, int]] = []
    deployments_seen: set[int] = set()

    def each() -> None:
        _observe(stack, "shop-web", seen)
        deployments_seen.add(len(stack.service("shop-web")["deployments"]))

    step_until(paused, lambda: stack.steady("shop-web"), step=2, each=each)

    assert max(live for live, _, _ in seen) == ceiling
    assert max(counted for _, _, counted in seen) <= ceiling
    assert min(healthy for _, healthy, _ in seen) == floor
    assert 2 in deployments_seen
    final = stack.service("shop-web")
    assert final["taskDefinition"] == v2
    assert {t["taskDefinitionArn"] for t in stack.tasks("shop-web")} == {v2}
    assert final["runningCount"] == desired


def test_100_200_starts_new_tasks_before_stopping_old(paused: SandboxHandle, stack: Stack) -> None:
    stack.add_target_group()
    v1 = stack.task_definition()
    stack.create_service("shop-web", v1, desired=2, minimum=100, maximum=200)
    paused.control.settle()
    v2 = stack.task_definition(image="shop/web:2")
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)

    paused.control.advance(1)
    live = stack.tasks("shop-web")
    assert sorted(t["taskDefinitionArn"] for t in live) == sorted([v1, v1, v2, v2])
    assert stack.tasks("shop-web", desired="STOPPED") == []
    old_before_new_healthy: list[int] = []

    def each() -> None:
        healthy = stack.target_states().count("healthy")
        assert healthy >= 2
        stopped = stack.tasks("shop-web", desired="STOPPED")
        if stopped:
            old_before_new_healthy.append(healthy)

    step_until(paused, lambda: stack.steady("shop-web"), step=2, each=each)
    # Old tasks were stopped only once new ones were healthy (2 old + new healthy ones).
    assert old_before_new_healthy and min(old_before_new_healthy) >= 2
    assert all(t["taskDefinitionArn"] == v2 for t in stack.tasks("shop-web"))


def test_100_100_never_progresses_and_says_why(paused: SandboxHandle, stack: Stack) -> None:
    v1 = stack.task_definition()
    stack.create_service("shop-web", v1, desired=2, minimum=100, maximum=100, load_balancer=False)
    paused.control.settle()
    old_id = stack.service("shop-web")["deployments"][0]["id"]
    v2 = stack.task_definition(image="shop/web:2")
    primary_id = stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)[
        "service"
    ]["deployments"][0]["id"]

    paused.control.advance(1800)
    svc = stack.service("shop-web")
    assert [(d["status"], d["rolloutState"], d["runningCount"]) for d in svc["deployments"]] == [
        ("PRIMARY", "IN_PROGRESS", 0),
        ("ACTIVE", "COMPLETED", 2),
    ]
    expected = (
        f"(service shop-web) (deployment {primary_id}) cannot replace any task: "
        "minimumHealthyPercent 100 and maximumPercent 100 allow neither starting a task above "
        "the desired count nor stopping one below it."
    )
    assert svc["events"][0]["message"] == expected
    assert paused.control.settle(max_seconds=600) is False
    [state] = SandboxClient(paused.endpoint_url).state()["services"]
    assert [d["rolloutState"] for d in state["deployments"]] == ["IN_PROGRESS", "COMPLETED"]
    assert [t["deployment"] for t in state["tasks"]] == [old_id, old_id]


def test_static_host_port_without_idle_instance_is_stuck(
    paused: SandboxHandle, stack: Stack
) -> None:
    stack.add_instances(2)
    stack.add_target_group(target_type="instance", port=80)
    v1 = stack.task_definition(network_mode="bridge", host_port=80, port=80)
    stack.create_service(
        "shop-web", v1, desired=2, minimum=100, maximum=200, launch_type="EC2", port=80
    )
    assert paused.control.settle()
    used = sorted(t["containerInstanceArn"] for t in stack.tasks("shop-web"))
    assert used == sorted(stack.instances)  # one task per instance: the port allows no more

    v2 = stack.task_definition(network_mode="bridge", host_port=80, port=80, image="shop/web:2")
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)
    paused.control.advance(200)
    placement = [m for m in stack.messages("shop-web") if "unable to place a task" in m]
    assert len(placement) == 1  # ECS does not repeat the same message within minutes

    paused.control.advance(900)
    svc = stack.service("shop-web")
    assert [d["runningCount"] for d in svc["deployments"]] == [0, 2]
    assert svc["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    instance_ids = {arn.split("/")[-1] for arn in stack.instances}
    closest = placement[0].split("(container-instance ")[1].split(")")[0]
    assert closest in instance_ids
    assert placement[0].startswith(
        "(service shop-web) was unable to place a task because no container instance met all "
        "of its requirements. The closest matching (container-instance "
    )
    assert "is already using a port required by your task." in placement[0]


def test_static_host_port_with_idle_instance_progresses(
    paused: SandboxHandle, stack: Stack
) -> None:
    stack.add_instances(3)
    stack.add_target_group(target_type="instance", port=80)
    v1 = stack.task_definition(network_mode="bridge", host_port=80, port=80)
    stack.create_service(
        "shop-web", v1, desired=2, minimum=100, maximum=200, launch_type="EC2", port=80
    )
    assert paused.control.settle()
    v2 = stack.task_definition(network_mode="bridge", host_port=80, port=80, image="shop/web:2")
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)

    waited = step_until(paused, lambda: stack.steady("shop-web"), step=5)
    assert 0 < waited < 900
    tasks = stack.tasks("shop-web")
    assert [t["taskDefinitionArn"] for t in tasks] == [v2, v2]
    assert len({t["containerInstanceArn"] for t in tasks}) == 2
    for t in tasks:
        assert t["containers"][0]["networkBindings"][0]["hostPort"] == 80
    # The second new task waited for an old one to free port 80: one placement event.
    assert any("already using a port" in m for m in stack.messages("shop-web"))


def test_scaling_changes_no_deployment_and_stops_pending_tasks_first(
    paused: SandboxHandle, stack: Stack
) -> None:
    stack.create_service("shop-web", stack.task_definition(), desired=2, load_balancer=False)
    paused.control.settle()
    running = {t["taskArn"] for t in stack.tasks("shop-web")}
    deployment = stack.service("shop-web")["deployments"][0]["id"]

    stack.ecs.update_service(cluster="shop", service="shop-web", desiredCount=4)
    svc = stack.service("shop-web")
    assert [d["id"] for d in svc["deployments"]] == [deployment]
    assert (svc["runningCount"], svc["pendingCount"], svc["desiredCount"]) == (2, 2, 4)

    stack.ecs.update_service(cluster="shop", service="shop-web", desiredCount=2)
    assert {t["taskArn"] for t in stack.tasks("shop-web")} == running
    paused.control.settle()
    assert stack.messages("shop-web")[0] == "(service shop-web) has reached a steady state."
    assert stack.service("shop-web")["deployments"][0]["rolloutState"] == "COMPLETED"


def test_instance_memory_limits_placement(paused: SandboxHandle, stack: Stack) -> None:
    [instance] = stack.add_instances(1)
    td = stack.task_definition(network_mode="bridge", memory=5000)  # 7482 MiB per instance
    stack.create_service("shop-web", td, desired=2, launch_type="EC2", load_balancer=False)
    paused.control.advance(60)
    assert len(stack.tasks("shop-web")) == 1
    [message] = [m for m in stack.messages("shop-web") if "unable to place" in m]
    assert f"The closest matching (container-instance {instance.split('/')[-1]}) has " in message
    assert "insufficient memory available." in message
    stack.add_instances(1)
    paused.control.advance(400)  # the scheduler tries again
    assert len(stack.tasks("shop-web")) == 2
    assert stack.steady("shop-web")


def test_draining_an_instance_moves_its_tasks_within_the_limits(
    paused: SandboxHandle, stack: Stack
) -> None:
    stack.add_instances(3)
    stack.add_target_group(target_type="instance", port=80)
    td = stack.task_definition(network_mode="bridge", host_port=80, port=80)
    stack.create_service("shop-web", td, desired=2, launch_type="EC2", port=80)
    assert paused.control.settle()
    deployment = stack.service("shop-web")["deployments"][0]["id"]
    busy = stack.tasks("shop-web")[0]["containerInstanceArn"]

    stack.ecs.update_container_instances_state(
        cluster="shop", containerInstances=[busy], status="DRAINING"
    )
    # 100% minimum healthy: the replacement starts first (on the idle instance).
    assert len(stack.tasks("shop-web")) == 3
    assert paused.control.settle()
    tasks = stack.tasks("shop-web")
    assert len(tasks) == 2 and busy not in {t["containerInstanceArn"] for t in tasks}
    assert {t["startedBy"] for t in tasks} == {deployment}  # no new deployment
    [drained] = stack.ecs.describe_container_instances(cluster="shop", containerInstances=[busy])[
        "containerInstances"
    ]
    assert (drained["status"], drained["runningTasksCount"]) == ("DRAINING", 0)
    assert stack.messages("shop-web")[0] == "(service shop-web) has reached a steady state."
