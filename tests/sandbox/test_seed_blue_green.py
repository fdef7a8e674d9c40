"""Seeding a blue/green service: the alternate target group, the listener rules under the
ARNs deploy.yaml names, the roles, the strategy, and the test check's route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from ecsdeploy.config.model import (
    Cluster,
    Config,
    Deployment,
    HttpCheck,
    Image,
    LifecycleHook,
    LoadBalancer,
    LoadBalancerChecks,
    Registry,
    Service,
)
from ecsdeploy.sandbox.seed import seed
from tests.fixtures.sandbox import SandboxHandle

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
LB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188"
PRODUCTION_RULE = f"{LB}/f2f7dc8efc522ab2/9683b2d02a6cabee"
TEST_RULE = f"{LB}/0467ef3c8400ae65/1aa3b2d02a6cabee"


def _config(tmp_path: Path) -> Config:
    return Config(
        path=tmp_path / "deploy.yaml",
        version=1,
        region="us-east-1",
        environment=None,
        vars={},
        registries={"ecr": Registry(key="ecr", type="ecr", url=ECR)},
        images={"web": Image(key="web", registry="ecr", repository="shop/web")},
        clusters={"main": Cluster(key="main", name="shop-prod")},
        services={
            "web": Service(
                key="web",
                cluster="main",
                name="shop-web",
                task_definition=tmp_path / "web.json.j2",
                desired_count=2,
                launch_type="FARGATE",
                deployment=Deployment(
                    strategy="blue_green",
                    bake_time=300.0,
                    hooks=(
                        LifecycleHook(
                            stages=("POST_TEST_TRAFFIC_SHIFT",),
                            function="shop-smoke",
                            role="ecs-lambda-hooks",
                        ),
                    ),
                ),
                load_balancers=(
                    LoadBalancer(
                        target_group="shop-blue",
                        container="web",
                        port=8080,
                        alternate_target_group="shop-green",
                        production_listener_rule=PRODUCTION_RULE,
                        test_listener_rule=TEST_RULE,
                        role="ecs-infrastructure",
                        checks=LoadBalancerChecks(
                            http=HttpCheck(url="http://shop.example.com/healthz"),
                            test_http=HttpCheck(url="http://shop.example.com:8443/healthz"),
                        ),
                    ),
                ),
            ),
        },
    )


def _taskdef() -> dict[str, Any]:
    return {
        "family": "shop-web",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "web",
                "image": f"{ECR}/shop/web:abc1234",
                "essential": True,
                "portMappings": [{"containerPort": 8080}],
            }
        ],
    }


def test_seed_creates_what_a_blue_green_service_needs(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    result = seed(_config(tmp_path), {"web": _taskdef()}, endpoint_url=sandbox.endpoint_url)
    assert result.settled
    blue, green = result.target_groups["shop-blue"], result.target_groups["shop-green"]
    elbv2 = sandbox.client("elbv2")
    rules = {
        r["RuleArn"]: r
        for r in elbv2.describe_rules(RuleArns=[PRODUCTION_RULE, TEST_RULE])["Rules"]
    }
    assert set(rules) == {PRODUCTION_RULE, TEST_RULE}
    [balancer] = elbv2.describe_load_balancers(Names=["shop"])["LoadBalancers"]
    assert balancer["LoadBalancerArn"].endswith("loadbalancer/app/shop/50dc6c495c0c9188")

    ecs = sandbox.client("ecs")
    [svc] = ecs.describe_services(cluster="shop-prod", services=["shop-web"])["services"]
    config = svc["deploymentConfiguration"]
    assert config["strategy"] == "BLUE_GREEN" and config["bakeTimeInMinutes"] == 5
    [hook] = config["lifecycleHooks"]
    assert hook["hookTargetArn"] == "arn:aws:lambda:us-east-1:123456789012:function:shop-smoke"
    assert hook["roleArn"] == "arn:aws:iam::123456789012:role/ecs-lambda-hooks"
    [lb] = svc["loadBalancers"]
    # The first deployment took production to the alternate target group.
    assert lb["targetGroupArn"] == green
    assert lb["advancedConfiguration"] == {
        "alternateTargetGroupArn": blue,
        "productionListenerRule": PRODUCTION_RULE,
        "testListenerRule": TEST_RULE,
        "roleArn": "arn:aws:iam::123456789012:role/ecs-infrastructure",
    }
    listed = ecs.list_service_deployments(cluster="shop-prod", service="shop-web")
    assert [d["status"] for d in listed["serviceDeployments"]] == ["SUCCESSFUL"]

    # Both checks' hosts answer: production through the service, test through its rule.
    session = requests.Session()
    session.trust_env = False
    for host in ("shop.example.com", "shop.example.com:8443"):
        answer = session.get(f"{sandbox.endpoint_url}/healthz", headers={"Host": host}, timeout=10)
        assert answer.status_code == 200, host
        assert answer.json()["taskDefinition"] == "shop-web:1"
    assert result.resolve["shop.example.com"] == sandbox.endpoint_url
