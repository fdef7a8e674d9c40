"""Seeding a sandbox from a Config: what deploy.yaml expects to exist, steady."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecsdeploy.config.model import (
    CircuitBreaker,
    Cluster,
    Config,
    Deployment,
    Image,
    LoadBalancer,
    Registry,
    Service,
)
from ecsdeploy.sandbox.seed import seed
from tests.fixtures.sandbox import SandboxHandle

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def _config(tmp_path: Path) -> Config:
    return Config(
        path=tmp_path / "deploy.yaml",
        version=1,
        region="us-east-1",
        environment=None,
        vars={},
        registries={"ecr": Registry(key="ecr", type="ecr", url=ECR)},
        images={
            "web": Image(key="web", registry="ecr", repository="shop/web", promote="stable"),
            "worker": Image(key="worker", registry="ecr", repository="shop/worker"),
        },
        clusters={"main": Cluster(key="main", name="shop-prod")},
        services={
            "web": Service(
                key="web",
                cluster="main",
                name="shop-web",
                task_definition=tmp_path / "web.json.j2",
                desired_count=3,
                deployment=Deployment(
                    minimum_healthy_percent=50,
                    maximum_percent=200,
                    circuit_breaker=CircuitBreaker(enable=True, rollback=True),
                ),
                load_balancers=(LoadBalancer(target_group="shop-web", container="web", port=8080),),
                launch_type="EC2",
                depends_on=("worker",),
            ),
            "worker": Service(
                key="worker",
                cluster="main",
                name="shop-worker",
                task_definition=tmp_path / "worker.json.j2",
                desired_count=1,
                launch_type="EC2",
            ),
        },
    )


def _taskdef(family: str, port: int | None) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": family.split("-")[-1],
        "image": f"{ECR}/shop/{family.split('-')[-1]}:abc1234",
        "essential": True,
        "memory": 256,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": f"/ecs/{family}", "awslogs-region": "us-east-1"},
        },
    }
    if port:
        container["portMappings"] = [{"containerPort": port, "hostPort": 0}]
    return {
        "family": family,
        "networkMode": "bridge",
        "executionRoleArn": "arn:aws:iam::123456789012:role/shop-execution",
        "containerDefinitions": [container],
    }


def test_seed_creates_what_the_config_expects(sandbox: SandboxHandle, tmp_path: Path) -> None:
    config = _config(tmp_path)
    taskdefs = {"web": _taskdef("shop-web", 8080), "worker": _taskdef("shop-worker", None)}
    result = seed(config, taskdefs, endpoint_url=sandbox.endpoint_url)
    assert result.settled

    ecs = sandbox.client("ecs")
    assert len(result.container_instances["main"]) == 4  # biggest desired count (3) + 1 idle
    assert ecs.list_container_instances(cluster="shop-prod")["containerInstanceArns"] == sorted(
        result.container_instances["main"]
    )
    services = ecs.describe_services(cluster="shop-prod", services=["shop-web", "shop-worker"])[
        "services"
    ]
    for svc, desired in zip(services, (3, 1), strict=True):
        [deployment] = svc["deployments"]
        assert deployment["rolloutState"] == "COMPLETED"
        assert svc["runningCount"] == desired
        assert (
            svc["events"][0]["message"]
            == f"(service {svc['serviceName']}) has reached a steady state."
        )
    web = services[0]
    assert web["taskDefinition"].endswith(":task-definition/shop-web:1")
    assert web["deploymentConfiguration"] == {
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "maximumPercent": 200,
        "minimumHealthyPercent": 50,
    }
    tg_arn = result.target_groups["shop-web"]
    assert web["loadBalancers"] == [
        {"targetGroupArn": tg_arn, "containerName": "web", "containerPort": 8080}
    ]
    elbv2 = sandbox.client("elbv2")
    health = elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
    assert [h["TargetHealth"]["State"] for h in health] == ["healthy"] * 3
    [listener] = elbv2.describe_listeners(LoadBalancerArn=result.load_balancer_arn)["Listeners"]
    assert listener["DefaultActions"][0]["TargetGroupArn"] == tg_arn

    ecr = sandbox.client("ecr")
    tags = {
        tag
        for image in ecr.describe_images(repositoryName="shop/web")["imageDetails"]
        for tag in image.get("imageTags", [])
    }
    assert tags == {"latest", "stable"}
    assert result.repositories["worker"] == f"{ECR}/shop/worker"
    groups = sandbox.client("logs").describe_log_groups()["logGroups"]
    assert {g["logGroupName"] for g in groups} == {"/ecs/shop-web", "/ecs/shop-worker"}
    assert sandbox.client("iam").get_role(RoleName="shop-execution")["Role"]["RoleName"]


def test_seed_instances_can_be_chosen(sandbox: SandboxHandle, tmp_path: Path) -> None:
    config = _config(tmp_path)
    taskdefs = {"web": _taskdef("shop-web", 8080), "worker": _taskdef("shop-worker", None)}
    result = seed(config, taskdefs, endpoint_url=sandbox.endpoint_url, instances=2)
    assert len(result.container_instances["main"]) == 2
    assert result.settled
