"""Seeding a CODE_DEPLOY service: its second target group and its CodeDeploy deployment group.

A service whose deploy.yaml sets `service_overrides.deploymentController.type:
CODE_DEPLOY` is created with that controller (see seed.py); CodeDeploy then needs, as
its User Guide's "Before you begin an Amazon ECS deployment" lists: an application
(compute platform ECS), and a deployment group naming the service, its target group
and a second one like it, and the production listener forwarding to the first. The
application and group are `deployment.codedeploy`'s names, or the service's name.
The group reroutes traffic as soon as the new task set is healthy and removes the
original task set at once (CodeDeployDefault.ECSAllAtOnce, no waits).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from ecsdeploy.config.model import Service

ROLE = "arn:aws:iam::{account}:role/ecsdeploy-sandbox-codedeploy"
SUFFIX = "-green"  # the second target group: the first's name with this (32 characters at most)


def code_deploy(service: Service) -> bool:
    controller = service.service_overrides.get("deploymentController") or {}
    return bool(controller.get("type") == "CODE_DEPLOY")


def seed_deployment_group(
    client: Callable[[str], Any], service: Service, cluster: str, target_group_arn: str
) -> tuple[str, str]:
    """Create the service's deployment group (and application, second target group);
    (application, deployment group)."""
    elbv2, codedeploy = client("elbv2"), client("codedeploy")
    blue = elbv2.describe_target_groups(TargetGroupArns=[target_group_arn])["TargetGroups"][0]
    green_name = (blue["TargetGroupName"][: 32 - len(SUFFIX)]) + SUFFIX
    elbv2.create_target_group(
        Name=green_name,
        Protocol=blue["Protocol"],
        Port=blue["Port"],
        VpcId=blue["VpcId"],
        TargetType=blue["TargetType"],
        HealthCheckPath=blue.get("HealthCheckPath") or "/",
        HealthCheckIntervalSeconds=blue["HealthCheckIntervalSeconds"],
        HealthyThresholdCount=blue["HealthyThresholdCount"],
        UnhealthyThresholdCount=blue["UnhealthyThresholdCount"],
    )
    listeners = [
        listener["ListenerArn"]
        for balancer in blue.get("LoadBalancerArns") or []
        for listener in elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"]
        if any(
            a.get("TargetGroupArn") == target_group_arn
            for a in listener.get("DefaultActions") or []
        )
    ]
    ref = service.deployment.codedeploy
    application = ref.application if ref is not None else service.name
    group = ref.deployment_group if ref is not None and ref.deployment_group else service.name
    with contextlib.suppress(codedeploy.exceptions.ApplicationAlreadyExistsException):
        codedeploy.create_application(applicationName=application, computePlatform="ECS")
    account = target_group_arn.split(":")[4]
    codedeploy.create_deployment_group(
        applicationName=application,
        deploymentGroupName=group,
        serviceRoleArn=ROLE.format(account=account),
        deploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
        deploymentStyle={
            "deploymentType": "BLUE_GREEN",
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
        },
        ecsServices=[{"serviceName": service.name, "clusterName": cluster}],
        loadBalancerInfo={
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": blue["TargetGroupName"]}, {"name": green_name}],
                    "prodTrafficRoute": {"listenerArns": listeners[:1]},
                }
            ]
        },
        blueGreenDeploymentConfiguration={
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": 0,
            },
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
        },
    )
    return application, group
