"""CodeDeploy in the sandbox: a CODE_DEPLOY service's task sets, what UpdateService refuses
on it, and the blue/green deployment's lifecycle on the simulated clock (success, failure
with automatic rollback, StopDeployment, the ready wait, the termination wait)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack, step_until

ROLE = "arn:aws:iam::123456789012:role/codedeploy"


@dataclass
class Blue:
    """A CODE_DEPLOY service behind a production listener, with its deployment group."""

    stack: Stack
    codedeploy: Any
    blue: str  # target group ARNs
    green: str
    listener: str
    v1: str

    def deploy(self, task_definition: str, **kwargs: Any) -> str:
        spec = {
            "version": 0.0,
            "Resources": [
                {
                    "TargetService": {
                        "Type": "AWS::ECS::Service",
                        "Properties": {
                            "TaskDefinition": task_definition,
                            "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 8080},
                        },
                    }
                }
            ],
        }
        answer = self.codedeploy.create_deployment(
            applicationName="shop",
            deploymentGroupName="web",
            revision={
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": json.dumps(spec)},
            },
            **kwargs,
        )
        deployment_id: str = answer["deploymentId"]
        return deployment_id

    def info(self, deployment_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.codedeploy.get_deployment(deploymentId=deployment_id)[
            "deploymentInfo"
        ]
        return found

    def status(self, deployment_id: str) -> str:
        return str(self.info(deployment_id)["status"])

    def task_sets(self) -> list[tuple[str, str, str]]:
        """(status, task definition, target group ARN) of each task set."""
        svc = self.stack.service("web")
        assert svc["deployments"] == []
        return sorted(
            (t["status"], t["taskDefinition"], t["loadBalancers"][0]["targetGroupArn"])
            for t in svc["taskSets"]
        )


def _blue_green(
    handle: SandboxHandle,
    stack: Stack,
    *,
    ready: dict[str, Any] | None = None,
    termination_minutes: int = 0,
    config: str | None = None,
    rollback: bool = False,
) -> Blue:
    blue = stack.add_target_group("web-blue")
    green = stack.add_target_group("web-green")
    balancer = stack.elbv2.create_load_balancer(
        Name="shop", Subnets=stack.subnets, SecurityGroups=[stack.security_group]
    )["LoadBalancers"][0]["LoadBalancerArn"]
    listener = stack.elbv2.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}],
    )["Listeners"][0]["ListenerArn"]
    v1 = stack.task_definition()
    stack.ecs.create_service(
        cluster="shop",
        serviceName="web",
        taskDefinition=v1,
        desiredCount=2,
        launchType="FARGATE",
        deploymentController={"type": "CODE_DEPLOY"},
        loadBalancers=[{"targetGroupArn": blue, "containerName": "web", "containerPort": 8080}],
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": stack.subnets,
                "securityGroups": [stack.security_group],
            }
        },
    )
    codedeploy = handle.client("codedeploy")
    codedeploy.create_application(applicationName="shop", computePlatform="ECS")
    group: dict[str, Any] = {
        "applicationName": "shop",
        "deploymentGroupName": "web",
        "serviceRoleArn": ROLE,
        "deploymentStyle": {
            "deploymentType": "BLUE_GREEN",
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
        },
        "ecsServices": [{"serviceName": "web", "clusterName": "shop"}],
        "loadBalancerInfo": {
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": "web-blue"}, {"name": "web-green"}],
                    "prodTrafficRoute": {"listenerArns": [listener]},
                }
            ]
        },
        "blueGreenDeploymentConfiguration": {
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": termination_minutes,
            },
            "deploymentReadyOption": ready or {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
        },
    }
    if config:
        group["deploymentConfigName"] = config
    if rollback:
        group["autoRollbackConfiguration"] = {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}
    codedeploy.create_deployment_group(**group)
    handle.control.advance(60)
    return Blue(stack, codedeploy, blue, green, listener, v1)


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return str(err["Code"]), str(err["Message"])


# -- the ECS side ----------------------------------------------------------------------


def test_a_code_deploy_service_runs_a_primary_task_set_and_no_deployments(
    paused: SandboxHandle, stack: Stack
) -> None:
    app = _blue_green(paused, stack)
    svc = stack.service("web")
    assert svc["deployments"] == []
    (task_set,) = svc["taskSets"]
    assert task_set["status"] == "PRIMARY"
    assert task_set["taskDefinition"] == app.v1
    assert task_set["loadBalancers"][0]["targetGroupArn"] == app.blue
    assert (task_set["runningCount"], task_set["stabilityStatus"]) == (2, "STEADY_STATE")
    assert svc["taskDefinition"] == app.v1
    assert svc["runningCount"] == 2


@pytest.mark.parametrize(
    ("field", "what"),
    [
        ("taskDefinition", "task definition"),
        ("loadBalancers", "load balancers"),
        ("networkConfiguration", "network parameters"),
        ("platformVersion", "platform version"),
    ],
)
def test_update_service_refuses_what_needs_a_code_deploy_deployment(
    paused: SandboxHandle, stack: Stack, field: str, what: str
) -> None:
    app = _blue_green(paused, stack)
    value: Any = {
        "taskDefinition": app.v1,
        "loadBalancers": [
            {"targetGroupArn": app.blue, "containerName": "web", "containerPort": 8080}
        ],
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": stack.subnets}},
        "platformVersion": "1.4.0",
    }[field]
    with pytest.raises(ClientError) as exc:
        stack.ecs.update_service(cluster="shop", service="web", **{field: value})
    assert _error(exc) == (
        "InvalidParameterException",
        f"Unable to update {what} on services with a CODE_DEPLOY deployment controller. "
        "Use AWS CodeDeploy to trigger a new deployment.",
    )


def test_update_service_changes_the_count_and_settings_it_may(
    paused: SandboxHandle, stack: Stack
) -> None:
    _blue_green(paused, stack)
    stack.ecs.update_service(
        cluster="shop",
        service="web",
        desiredCount=3,
        healthCheckGracePeriodSeconds=45,
        deploymentConfiguration={"maximumPercent": 150},
    )
    paused.control.advance(60)
    svc = stack.service("web")
    assert svc["desiredCount"] == 3
    assert svc["healthCheckGracePeriodSeconds"] == 45
    assert svc["deploymentConfiguration"]["maximumPercent"] == 150
    assert svc["deploymentConfiguration"]["minimumHealthyPercent"] == 100
    assert svc["taskSets"][0]["runningCount"] == 3


# -- deployment groups --------------------------------------------------------------------


def test_a_deployment_group_needs_a_code_deploy_service(
    paused: SandboxHandle, stack: Stack
) -> None:
    stack.add_target_group()
    stack.create_service("api", stack.task_definition(), desired=1)
    codedeploy = paused.client("codedeploy")
    codedeploy.create_application(applicationName="shop", computePlatform="ECS")
    with pytest.raises(ClientError) as exc:
        codedeploy.create_deployment_group(
            applicationName="shop",
            deploymentGroupName="api",
            serviceRoleArn=ROLE,
            deploymentStyle={
                "deploymentType": "BLUE_GREEN",
                "deploymentOption": "WITH_TRAFFIC_CONTROL",
            },
            ecsServices=[{"serviceName": "api", "clusterName": "shop"}],
        )
    assert _error(exc)[0] == "InvalidECSServiceException"


def test_deployment_groups_are_listed_and_described(paused: SandboxHandle, stack: Stack) -> None:
    app = _blue_green(paused, stack, termination_minutes=5)
    assert app.codedeploy.list_applications()["applications"] == ["shop"]
    (info,) = app.codedeploy.batch_get_applications(applicationNames=["shop"])["applicationsInfo"]
    assert info["computePlatform"] == "ECS"
    assert app.codedeploy.list_deployment_groups(applicationName="shop")["deploymentGroups"] == [
        "web"
    ]
    answer = app.codedeploy.batch_get_deployment_groups(
        applicationName="shop", deploymentGroupNames=["web", "nope"]
    )
    (group,) = answer["deploymentGroupsInfo"]
    assert group["ecsServices"] == [{"serviceName": "web", "clusterName": "shop"}]
    assert group["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    blue_green = group["blueGreenDeploymentConfiguration"]
    assert (
        blue_green["terminateBlueInstancesOnDeploymentSuccess"]["terminationWaitTimeInMinutes"] == 5
    )
    assert "nope" in answer["errorMessage"]


# -- deployments --------------------------------------------------------------------------


def test_a_deployment_replaces_the_task_set_through_the_other_target_group(
    paused: SandboxHandle, stack: Stack
) -> None:
    app = _blue_green(paused, stack, termination_minutes=10)
    v2 = stack.task_definition(image="shop/web:2")
    deployment = app.deploy(v2)
    assert app.status(deployment) == "Created"

    paused.control.advance(5)
    assert app.status(deployment) == "InProgress"
    assert app.task_sets() == sorted([("PRIMARY", app.v1, app.blue), ("ACTIVE", v2, app.green)])
    replacement = next(t for t in stack.service("web")["taskSets"] if t["taskDefinition"] == v2)
    assert replacement["startedBy"] == "CODE_DEPLOY"
    assert replacement["externalId"] == deployment

    # Healthy in the green target group: production moves there, blue waits out the
    # termination wait.
    step_until(paused, lambda: stack.service("web")["taskDefinition"] == v2, step=5)
    info = app.info(deployment)
    assert (info["status"], info["instanceTerminationWaitTimeStarted"]) == ("InProgress", True)
    assert app.task_sets() == sorted([("ACTIVE", app.v1, app.blue), ("PRIMARY", v2, app.green)])
    target = app.codedeploy.get_deployment_target(deploymentId=deployment, targetId="shop:web")
    weights = {
        s["taskSetLabel"]: s["trafficWeight"]
        for s in target["deploymentTarget"]["ecsTarget"]["taskSetsInfo"]
    }
    assert weights == {"Blue": 0.0, "Green": 100.0}

    paused.control.advance(600)
    info = app.info(deployment)
    assert info["status"] == "Succeeded"
    assert info["deploymentOverview"]["Succeeded"] == 1
    assert "errorInformation" not in info
    assert app.task_sets() == [("PRIMARY", v2, app.green)]

    # The next deployment goes back to the blue target group.
    v3 = stack.task_definition(image="shop/web:3")
    app.deploy(v3)
    paused.control.advance(5)
    assert ("ACTIVE", v3, app.blue) in app.task_sets()


def test_continue_deployment_ends_the_termination_wait(paused: SandboxHandle, stack: Stack) -> None:
    app = _blue_green(paused, stack, termination_minutes=60)
    v2 = stack.task_definition(image="shop/web:2")
    deployment = app.deploy(v2)
    step_until(paused, lambda: app.info(deployment)["instanceTerminationWaitTimeStarted"])
    app.codedeploy.continue_deployment(
        deploymentId=deployment, deploymentWaitType="TERMINATION_WAIT"
    )
    assert app.status(deployment) == "Succeeded"
    assert app.task_sets() == [("PRIMARY", v2, app.green)]


def test_a_group_has_one_deployment_at_a_time(paused: SandboxHandle, stack: Stack) -> None:
    app = _blue_green(paused, stack)
    first = app.deploy(stack.task_definition(image="shop/web:2"))
    with pytest.raises(ClientError) as exc:
        app.deploy(stack.task_definition(image="shop/web:3"))
    code, message = _error(exc)
    assert code == "DeploymentLimitExceededException"
    assert first in message


def test_a_broken_release_fails_and_codedeploy_rolls_it_back(
    paused: SandboxHandle, stack: Stack
) -> None:
    app = _blue_green(paused, stack, rollback=True)
    paused.control.break_service("web")
    v2 = stack.task_definition(image="shop/web:2")
    deployment = app.deploy(v2)
    paused.control.advance(600)
    assert app.status(deployment) == "InProgress"
    assert stack.service("web")["taskDefinition"] == app.v1  # production never moved

    step_until(paused, lambda: app.status(deployment) != "InProgress", step=60)
    info = app.info(deployment)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "TIMEOUT"
    assert "replacement task set to become healthy" in info["errorInformation"]["message"]
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    rollback = app.info(rollback_id)
    assert rollback["creator"] == "codeDeployRollback"
    assert rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == deployment

    step_until(paused, lambda: app.status(rollback_id) == "Succeeded")
    assert app.task_sets() == [("PRIMARY", app.v1, app.blue)]


def test_a_failure_without_automatic_rollback_leaves_the_task_sets(
    paused: SandboxHandle, stack: Stack
) -> None:
    app = _blue_green(paused, stack)
    v2 = stack.task_definition(image="shop/web:2", env={"SANDBOX_CRASH": "1"})
    deployment = app.deploy(v2)
    step_until(paused, lambda: app.status(deployment) == "Failed", step=60, limit=7200)
    info = app.info(deployment)
    assert info["status"] == "Failed"
    assert "rollbackInfo" not in info
    assert app.task_sets() == sorted([("PRIMARY", app.v1, app.blue), ("ACTIVE", v2, app.green)])


@pytest.mark.parametrize("roll_back", [True, False])
def test_stop_deployment(paused: SandboxHandle, stack: Stack, roll_back: bool) -> None:
    app = _blue_green(paused, stack, termination_minutes=30)
    v2 = stack.task_definition(image="shop/web:2")
    deployment = app.deploy(v2)
    step_until(paused, lambda: stack.service("web")["taskDefinition"] == v2)  # traffic moved
    answer = app.codedeploy.stop_deployment(deploymentId=deployment, autoRollbackEnabled=roll_back)
    assert answer["status"] == ("Pending" if roll_back else "Succeeded")
    info = app.info(deployment)
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "MANUAL_STOP"
    if not roll_back:
        assert "rollbackInfo" not in info
        return
    # Production goes back to the original task set at once; the replacement goes.
    assert stack.service("web")["taskDefinition"] == app.v1
    paused.control.advance(30)
    assert app.status(info["rollbackInfo"]["rollbackDeploymentId"]) == "Succeeded"
    assert app.task_sets() == [("PRIMARY", app.v1, app.blue)]
    with pytest.raises(ClientError) as exc:
        app.codedeploy.stop_deployment(deploymentId=deployment)
    assert _error(exc)[0] == "DeploymentAlreadyCompletedException"


def test_the_ready_wait_holds_until_continue_deployment(
    paused: SandboxHandle, stack: Stack
) -> None:
    app = _blue_green(
        paused, stack, ready={"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30}
    )
    v2 = stack.task_definition(image="shop/web:2")
    deployment = app.deploy(v2)
    with pytest.raises(ClientError) as exc:
        app.codedeploy.continue_deployment(deploymentId=deployment, deploymentWaitType="READY_WAIT")
    assert _error(exc)[0] == "DeploymentIsNotInReadyStateException"
    step_until(paused, lambda: app.status(deployment) == "Ready")
    info = app.info(deployment)
    assert info["deploymentOverview"]["Ready"] == 1
    paused.control.advance(600)
    assert app.status(deployment) == "Ready"
    assert stack.service("web")["taskDefinition"] == app.v1
    app.codedeploy.continue_deployment(deploymentId=deployment, deploymentWaitType="READY_WAIT")
    paused.control.advance(5)
    assert app.status(deployment) == "Succeeded"
    assert stack.service("web")["taskDefinition"] == v2


def test_a_ready_wait_nobody_continues_stops_the_deployment(
    paused: SandboxHandle, stack: Stack
) -> None:
    app = _blue_green(
        paused, stack, ready={"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 10}
    )
    deployment = app.deploy(stack.task_definition(image="shop/web:2"))
    step_until(paused, lambda: app.status(deployment) == "Ready")
    paused.control.advance(10 * 60)
    info = app.info(deployment)
    assert info["status"] == "Stopped"
    assert "ready wait" in info["errorInformation"]["message"]
    paused.control.advance(30)
    assert app.task_sets() == [("PRIMARY", app.v1, app.blue)]


def test_a_linear_configuration_moves_traffic_in_steps(paused: SandboxHandle, stack: Stack) -> None:
    app = _blue_green(paused, stack, config="CodeDeployDefault.ECSLinear10PercentEvery1Minutes")
    deployment = app.deploy(stack.task_definition(image="shop/web:2"))
    paused.control.advance(5)

    def green() -> float:
        target = app.codedeploy.get_deployment_target(deploymentId=deployment, targetId="shop:web")[
            "deploymentTarget"
        ]["ecsTarget"]
        return float(
            next(s for s in target["taskSetsInfo"] if s["taskSetLabel"] == "Green")["trafficWeight"]
        )

    step_until(paused, lambda: green() > 0, step=5)
    assert green() == 10.0
    paused.control.advance(60)
    assert green() == 20.0
    paused.control.advance(8 * 60)
    assert app.status(deployment) == "Succeeded"


def test_an_appspec_naming_a_container_the_task_definition_lacks_fails(
    paused: SandboxHandle, stack: Stack
) -> None:
    app = _blue_green(paused, stack)
    v2 = stack.task_definition(image="shop/web:2", port=9090)
    deployment = app.deploy(v2)
    paused.control.advance(5)
    info = app.info(deployment)
    assert info["status"] == "Failed"
    assert info["errorInformation"] == {
        "code": "ECS_UPDATE_ERROR",
        "message": "The container web does not have a port mapping of 8080.",
    }


def test_an_unknown_deployment_is_said_so(paused: SandboxHandle) -> None:
    codedeploy = paused.client("codedeploy")
    with pytest.raises(ClientError) as exc:
        codedeploy.get_deployment(deploymentId="d-NOTTHERE")
    assert _error(exc)[0] == "DeploymentDoesNotExistException"
