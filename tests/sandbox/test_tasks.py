"""Tasks: the ListTasks filters and what DescribeTasks reports along a task's life."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack


def test_list_tasks_honours_service_started_by_and_desired_status(
    paused: SandboxHandle, stack: Stack
) -> None:
    web = stack.task_definition("shop-web")
    worker = stack.task_definition("shop-worker")
    stack.create_service("shop-web", web, desired=2, load_balancer=False)
    stack.create_service("shop-worker", worker, desired=3, load_balancer=False)
    paused.control.settle()
    ecs = stack.ecs

    web_arns = ecs.list_tasks(cluster="shop", serviceName="shop-web")["taskArns"]
    worker_arns = ecs.list_tasks(cluster="shop", serviceName="shop-worker")["taskArns"]
    assert (len(web_arns), len(worker_arns)) == (2, 3)
    assert not set(web_arns) & set(worker_arns)
    assert sorted(ecs.list_tasks(cluster="shop")["taskArns"]) == sorted(web_arns + worker_arns)

    deployment = stack.service("shop-web")["deployments"][0]["id"]
    assert sorted(ecs.list_tasks(cluster="shop", startedBy=deployment)["taskArns"]) == sorted(
        web_arns
    )
    assert ecs.list_tasks(cluster="shop", desiredStatus="STOPPED")["taskArns"] == []

    ecs.update_service(cluster="shop", service="shop-web", desiredCount=1)
    stopped = ecs.list_tasks(cluster="shop", serviceName="shop-web", desiredStatus="STOPPED")[
        "taskArns"
    ]
    assert len(stopped) == 1 and stopped[0] in web_arns
    assert len(ecs.list_tasks(cluster="shop", serviceName="shop-web")["taskArns"]) == 1
    assert ecs.list_tasks(cluster="shop", family="shop-worker")["taskArns"] == worker_arns

    with pytest.raises(ClientError) as caught:
        ecs.list_tasks(cluster="shop", serviceName="nope")
    assert caught.value.response["Error"]["Code"] == "ServiceNotFoundException"


def test_describe_tasks_follows_a_task_from_provisioning_to_stopped(
    paused: SandboxHandle, stack: Stack
) -> None:
    stack.add_instances(1)
    td = stack.task_definition(network_mode="bridge", port=80, env={"SANDBOX_START_SECONDS": "30"})
    service = stack.create_service(
        "shop-web", td, desired=1, launch_type="EC2", load_balancer=False
    )
    deployment = service["deployments"][0]["id"]
    [arn] = stack.ecs.list_tasks(cluster="shop", serviceName="shop-web")["taskArns"]

    def describe() -> dict:  # type: ignore[type-arg]
        return stack.ecs.describe_tasks(cluster="shop", tasks=[arn])["tasks"][0]

    task = describe()
    assert (task["lastStatus"], task["desiredStatus"]) == ("PROVISIONING", "RUNNING")
    assert task["startedBy"] == deployment
    assert task["taskDefinitionArn"] == td
    assert task["containerInstanceArn"] == stack.instances[0]
    assert task["group"] == "service:shop-web"
    binding = task["containers"][0]["networkBindings"][0]
    assert binding["containerPort"] == 80 and binding["hostPort"] >= 32768  # dynamic port

    paused.control.advance(3)
    assert describe()["lastStatus"] == "PENDING"
    paused.control.advance(28)  # SANDBOX_START_SECONDS=30: not yet
    assert describe()["lastStatus"] == "PENDING"
    paused.control.advance(2)
    task = describe()
    assert task["lastStatus"] == "RUNNING" and "startedAt" in task

    stack.ecs.stop_task(cluster="shop", task=arn, reason="testing")
    task = describe()
    assert (task["lastStatus"], task["desiredStatus"]) == ("STOPPING", "STOPPED")
    assert (task["stoppedReason"], task["stopCode"]) == ("testing", "UserInitiated")
    paused.control.advance(3)
    task = describe()
    assert task["lastStatus"] == "STOPPED"
    assert task["containers"][0]["exitCode"] == 0
    # The scheduler replaces a stopped task.
    [replacement] = stack.ecs.list_tasks(cluster="shop", serviceName="shop-web")["taskArns"]
    assert replacement != arn


def test_container_instances_report_what_tasks_use(paused: SandboxHandle, stack: Stack) -> None:
    stack.add_instances(1)
    td = stack.task_definition(network_mode="bridge", host_port=80, port=80, memory=1000)
    stack.create_service("shop-web", td, desired=1, launch_type="EC2", load_balancer=False)
    paused.control.settle()
    [ci] = stack.ecs.describe_container_instances(
        cluster="shop", containerInstances=stack.instances
    )["containerInstances"]
    assert ci["runningTasksCount"] == 1
    remaining = {r["name"]: r for r in ci["remainingResources"]}
    assert remaining["MEMORY"]["integerValue"] == 7482 - 1000
    assert "80" in remaining["PORTS"]["stringSetValue"]
    [cluster] = stack.ecs.describe_clusters(clusters=["shop"])["clusters"]
    assert (cluster["runningTasksCount"], cluster["pendingTasksCount"]) == (1, 0)
    assert cluster["activeServicesCount"] == 1
