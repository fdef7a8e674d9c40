"""ListServiceDeployments and DescribeServiceDeployments (which moto lacks)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack


def test_service_deployments_list_and_describe(paused: SandboxHandle, stack: Stack) -> None:
    v1 = stack.task_definition()
    stack.create_service("shop-web", v1, desired=2, load_balancer=False)
    paused.control.settle()
    v2 = stack.task_definition(image="shop/web:2")
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)
    paused.control.advance(5)
    v3 = stack.task_definition(image="shop/web:3")
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v3)

    listed = stack.ecs.list_service_deployments(cluster="shop", service="shop-web")[
        "serviceDeployments"
    ]
    assert [d["status"] for d in listed] == ["IN_PROGRESS", "STOPPED", "SUCCESSFUL"]
    in_progress = stack.ecs.list_service_deployments(
        cluster="shop", service="shop-web", status=["IN_PROGRESS"]
    )["serviceDeployments"]
    assert [d["serviceDeploymentArn"] for d in in_progress] == [listed[0]["serviceDeploymentArn"]]
    assert listed[0]["serviceDeploymentArn"].startswith(
        "arn:aws:ecs:us-east-1:123456789012:service-deployment/shop/shop-web/"
    )

    paused.control.settle()
    arns = [d["serviceDeploymentArn"] for d in listed]
    described = stack.ecs.describe_service_deployments(
        serviceDeploymentArns=[
            *arns,
            "arn:aws:ecs:us-east-1:123456789012:service-deployment/shop/shop-web/1",
        ]
    )
    newest = described["serviceDeployments"][0]
    assert newest["status"] == "SUCCESSFUL"
    assert newest["targetServiceRevision"]["requestedTaskCount"] == 2
    assert newest["targetServiceRevision"]["runningTaskCount"] == 2
    assert len(newest["sourceServiceRevisions"]) == 2
    assert newest["deploymentConfiguration"]["minimumHealthyPercent"] == 100
    assert "finishedAt" in newest
    assert [f["reason"] for f in described["failures"]] == ["MISSING"]

    with pytest.raises(ClientError) as caught:
        stack.ecs.list_service_deployments(cluster="shop", service="nope")
    assert caught.value.response["Error"]["Code"] == "ServiceNotFoundException"


def test_deployment_configuration_is_kept(paused: SandboxHandle, stack: Stack) -> None:
    created = stack.create_service(
        "shop-web",
        stack.task_definition(),
        desired=2,
        minimum=50,
        maximum=150,
        load_balancer=False,
        circuit_breaker=(True, False),
    )
    expected = {
        "deploymentCircuitBreaker": {"enable": True, "rollback": False},
        "maximumPercent": 150,
        "minimumHealthyPercent": 50,
    }
    assert created["deploymentConfiguration"] == expected
    assert stack.service("shop-web")["deploymentConfiguration"] == expected
    stack.ecs.update_service(
        cluster="shop", service="shop-web", deploymentConfiguration={"maximumPercent": 200}
    )
    assert stack.service("shop-web")["deploymentConfiguration"]["maximumPercent"] == 200
    assert stack.service("shop-web")["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    # Changing only the configuration starts no deployment.
    assert len(stack.service("shop-web")["deployments"]) == 1


def test_service_revisions_name_the_task_definition_each_deployment_rolled_out(
    paused: SandboxHandle, stack: Stack
) -> None:
    v1 = stack.task_definition()
    stack.create_service("shop-web", v1, desired=1, load_balancer=False)
    paused.control.settle()
    v2 = stack.task_definition(image="shop/web:2")
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)
    paused.control.settle()
    listed = stack.ecs.list_service_deployments(cluster="shop", service="shop-web")[
        "serviceDeployments"
    ]
    revisions = [d["targetServiceRevisionArn"] for d in listed]
    missing = "arn:aws:ecs:us-east-1:123456789012:service-revision/shop/shop-web/1"
    answer = stack.ecs.describe_service_revisions(serviceRevisionArns=[*revisions, missing])
    assert [r["taskDefinition"] for r in answer["serviceRevisions"]] == [v2, v1]
    assert answer["serviceRevisions"][0]["serviceArn"].endswith("service/shop/shop-web")
    assert answer["failures"] == [{"arn": missing, "reason": "MISSING"}]
    with pytest.raises(ClientError) as refused:
        stack.ecs.describe_service_revisions(serviceRevisionArns=[missing] * 21)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
