"""Building blocks for sandbox tests: a cluster with instances, a target group, services.

Plain boto3 calls against the sandbox's endpoint, as any user of it would make.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fixtures.sandbox import SandboxHandle


@dataclass
class Stack:
    handle: SandboxHandle
    ecs: Any
    ec2: Any
    elbv2: Any
    cluster: str
    vpc_id: str
    subnets: list[str]
    security_group: str
    instances: list[str] = field(default_factory=list)
    target_group_arn: str | None = None

    # -- building ------------------------------------------------------------

    def add_instances(self, count: int) -> list[str]:
        images = self.ec2.describe_images(Owners=["amazon"])["Images"]
        image = next(i["ImageId"] for i in images if (i.get("Platform") or "") != "windows")
        added = []
        for n in range(count):
            instance = self.ec2.run_instances(
                ImageId=image, MinCount=1, MaxCount=1, SubnetId=self.subnets[n % 2]
            )["Instances"][0]["InstanceId"]
            arn = self.ecs.register_container_instance(
                cluster=self.cluster,
                instanceIdentityDocument=json.dumps({"instanceId": instance}),
            )["containerInstance"]["containerInstanceArn"]
            added.append(arn)
        self.instances += added
        return added

    def add_target_group(
        self,
        name: str = "shop-web",
        *,
        target_type: str = "ip",
        port: int = 8080,
        interval: int = 10,
        healthy: int = 2,
        unhealthy: int = 2,
        deregistration_delay: int = 30,
    ) -> str:
        arn: str = self.elbv2.create_target_group(
            Name=name,
            Protocol="HTTP",
            Port=port,
            VpcId=self.vpc_id,
            TargetType=target_type,
            HealthCheckIntervalSeconds=interval,
            HealthyThresholdCount=healthy,
            UnhealthyThresholdCount=unhealthy,
        )["TargetGroups"][0]["TargetGroupArn"]
        self.elbv2.modify_target_group_attributes(
            TargetGroupArn=arn,
            Attributes=[
                {"Key": "deregistration_delay.timeout_seconds", "Value": str(deregistration_delay)}
            ],
        )
        self.target_group_arn = arn
        return arn

    def task_definition(
        self,
        family: str = "shop-web",
        *,
        env: dict[str, str] | None = None,
        network_mode: str = "awsvpc",
        host_port: int | None = None,
        port: int = 8080,
        memory: int = 512,
        image: str = "shop/web:1",
    ) -> str:
        mapping: dict[str, Any] = {"containerPort": port, "protocol": "tcp"}
        if host_port is not None:
            mapping["hostPort"] = host_port
        params: dict[str, Any] = {
            "family": family,
            "networkMode": network_mode,
            "containerDefinitions": [
                {
                    "name": "web",
                    "image": image,
                    "essential": True,
                    "memory": memory,
                    "portMappings": [mapping],
                    "environment": [{"name": k, "value": v} for k, v in (env or {}).items()],
                }
            ],
        }
        if network_mode == "awsvpc":
            params["requiresCompatibilities"] = ["FARGATE"]
            params["cpu"] = "256"
            params["memory"] = str(memory)
        arn: str = self.ecs.register_task_definition(**params)["taskDefinition"][
            "taskDefinitionArn"
        ]
        return arn

    def create_service(
        self,
        name: str,
        task_definition: str,
        *,
        desired: int,
        minimum: int = 100,
        maximum: int = 200,
        launch_type: str = "FARGATE",
        load_balancer: bool = True,
        circuit_breaker: tuple[bool, bool] | None = None,
        grace: int | None = None,
        port: int = 8080,
        deployment: dict[str, Any] | None = None,
        advanced: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        config: dict[str, Any] = {"minimumHealthyPercent": minimum, "maximumPercent": maximum}
        config |= deployment or {}
        if circuit_breaker is not None:
            config["deploymentCircuitBreaker"] = {
                "enable": circuit_breaker[0],
                "rollback": circuit_breaker[1],
            }
        params: dict[str, Any] = {
            "cluster": self.cluster,
            "serviceName": name,
            "taskDefinition": task_definition,
            "desiredCount": desired,
            "launchType": launch_type,
            "deploymentConfiguration": config,
        }
        if load_balancer and self.target_group_arn:
            params["loadBalancers"] = [
                {
                    "targetGroupArn": self.target_group_arn,
                    "containerName": "web",
                    "containerPort": port,
                }
                | ({} if advanced is None else {"advancedConfiguration": advanced})
            ]
        if grace is not None:
            params["healthCheckGracePeriodSeconds"] = grace
        if launch_type == "FARGATE":
            params["networkConfiguration"] = {
                "awsvpcConfiguration": {
                    "subnets": self.subnets,
                    "securityGroups": [self.security_group],
                }
            }
        service: dict[str, Any] = self.ecs.create_service(**params)["service"]
        return service

    # -- observing -----------------------------------------------------------

    def service(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.ecs.describe_services(cluster=self.cluster, services=[name])[
            "services"
        ][0]
        return found

    def tasks(self, service: str | None = None, desired: str = "RUNNING") -> list[dict[str, Any]]:
        params: dict[str, Any] = {"cluster": self.cluster, "desiredStatus": desired}
        if service:
            params["serviceName"] = service
        arns = self.ecs.list_tasks(**params)["taskArns"]
        if not arns:
            return []
        described: list[dict[str, Any]] = self.ecs.describe_tasks(cluster=self.cluster, tasks=arns)[
            "tasks"
        ]
        return described

    def target_states(self) -> list[str]:
        assert self.target_group_arn
        rows = self.elbv2.describe_target_health(TargetGroupArn=self.target_group_arn)[
            "TargetHealthDescriptions"
        ]
        return [r["TargetHealth"]["State"] for r in rows]

    def messages(self, name: str) -> list[str]:
        return [e["message"] for e in self.service(name)["events"]]

    def steady(self, name: str) -> bool:
        svc = self.service(name)
        deployments = svc["deployments"]
        return len(deployments) == 1 and deployments[0]["rolloutState"] == "COMPLETED"


@dataclass(frozen=True)
class Wiring:
    """What a blue/green, linear or canary service needs: two target groups behind an
    ALB, a production listener whose rule forwards to the first (weights 1 and 0), a
    test listener whose rule forwards to the first too, and the infrastructure role."""

    load_balancer: str
    blue: str  # the target group serving production at first
    green: str  # the alternate target group
    production_rule: str
    test_rule: str
    role: str

    def advanced(self, *, test: bool = True) -> dict[str, Any]:
        out = {
            "alternateTargetGroupArn": self.green,
            "productionListenerRule": self.production_rule,
            "roleArn": self.role,
        }
        if test:
            out["testListenerRule"] = self.test_rule
        return out


def add_blue_green(stack: Stack, *, target_type: str = "ip") -> Wiring:
    blue = stack.add_target_group("shop-blue", target_type=target_type)
    green = stack.add_target_group("shop-green", target_type=target_type)
    stack.target_group_arn = blue
    lb = stack.elbv2.create_load_balancer(Name="shop", Subnets=stack.subnets)["LoadBalancers"][0][
        "LoadBalancerArn"
    ]
    rules = []
    for port, weights in ((80, [(blue, 1), (green, 0)]), (8080, [(blue, 1)])):
        listener = stack.elbv2.create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTP",
            Port=port,
            DefaultActions=[
                {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}
            ],
        )["Listeners"][0]["ListenerArn"]
        rule = stack.elbv2.create_rule(
            ListenerArn=listener,
            Priority=1,
            Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
            Actions=[
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [{"TargetGroupArn": tg, "Weight": w} for tg, w in weights]
                    },
                }
            ],
        )["Rules"][0]["RuleArn"]
        rules.append(rule)
    iam = stack.handle.client("iam")
    role = iam.create_role(
        RoleName="ecs-infrastructure",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ecs.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    return Wiring(lb, blue, green, rules[0], rules[1], role)


def forward_weights(stack: Stack, rule_arn: str) -> dict[str, int]:
    """The weights a listener rule forwards with now, by target group ARN."""
    rule = stack.elbv2.describe_rules(RuleArns=[rule_arn])["Rules"][0]
    action = next(a for a in rule["Actions"] if a["Type"] == "forward")
    if "ForwardConfig" in action:
        return {
            tg["TargetGroupArn"]: tg["Weight"] for tg in action["ForwardConfig"]["TargetGroups"]
        }
    return {action["TargetGroupArn"]: 1}


def build_stack(handle: SandboxHandle, cluster: str = "shop") -> Stack:
    ecs, ec2, elbv2 = handle.client("ecs"), handle.client("ec2"), handle.client("elbv2")
    ecs.create_cluster(clusterName=cluster)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"us-east-1{z}")[
            "Subnet"
        ]["SubnetId"]
        for n, z in enumerate("ab")
    ]
    sg = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    return Stack(handle, ecs, ec2, elbv2, cluster, vpc, subnets, sg)


def step_until(
    handle: SandboxHandle,
    predicate: Callable[[], bool],
    *,
    step: float = 5.0,
    limit: float = 3600.0,
    each: Callable[[], None] | None = None,
) -> float:
    """Advance the (paused) clock `step` simulated seconds at a time until `predicate()`."""
    waited = 0.0
    while not predicate():
        if waited >= limit:
            raise AssertionError(f"not reached within {limit:g} simulated seconds")
        handle.control.advance(step)
        waited += step
        if each is not None:
            each()
    return waited
