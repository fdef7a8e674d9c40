"""CODE_DEPLOY services in deploy.yaml and in the plan: what validate refuses offline, how
plan finds the CodeDeploy deployment group (and says why it cannot), the `codedeploy`
step it writes (AppSpec, CreateDeployment input) and the plan file that carries it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.apps import REV_A, ROOT, App, copy_sample
from tests.codedeploy_app import CLUSTER, SERVICE, codedeploy_app, describe, revision

ROLE = "arn:aws:iam::123456789012:role/codedeploy"


def _plan_json(app: App, tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "plan.json"
    result = app.run("plan", *args, "--out", str(out))
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def _steps(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["kind"]: s for s in plan["services"][0]["steps"]}


# -- the plan ------------------------------------------------------------------------------


def test_a_new_revision_plans_a_codedeploy_deployment(sandbox: Any, tmp_path: Path) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    result = app.run("plan")
    assert result.exit_code == 0, result.output
    out = result.output
    assert (
        "~ deploy through CodeDeploy (application billing-api, deployment group billing-api)" in out
    )
    assert "taskDefinition: billing-api:1 -> billing-api:(new)" in out
    assert (
        'AppSpec TargetService: {"LoadBalancerInfo": {"ContainerName": "api", '
        '"ContainerPort": 8000}, "PlatformVersion": "LATEST", '
        '"TaskDefinition": "(the revision registered above)"}'
    ) in out
    assert "rolls back on: DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_REQUEST" in out
    assert "blue/green deployment by CodeDeploy, in stages:" in out
    assert "update service" not in out  # nothing for UpdateService
    assert "Plan: 1 image to push, 1 task definition to register, 1 service to update" in out

    plan = _plan_json(app, tmp_path)
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(plan)]
    assert errors == []
    steps = _steps(plan)
    assert list(steps) == ["image", "register", "codedeploy", "wait"]
    deploy = steps["codedeploy"]
    assert deploy["codedeploy"] == {
        "application": SERVICE,
        "deployment_group": SERVICE,
        "ready_wait_seconds": None,
    }
    props = deploy["appspec"]["Resources"][0]["TargetService"]["Properties"]
    assert props["TaskDefinition"] is None
    assert deploy["request"]["applicationName"] == SERVICE
    assert "revision" not in deploy["request"]
    wait = steps["wait"]
    assert (wait["strategy"], wait["codedeploy"]["deployment_group"]) == ("codedeploy", SERVICE)


def test_the_plan_file_is_applied_as_planned(sandbox: Any, tmp_path: Path) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    out = tmp_path / "plan.json"
    assert app.run("plan", "--out", str(out)).exit_code == 0
    (app.dir / "deploy.yaml").unlink()  # apply needs nothing but the file
    result = App(app.dir, app.endpoint_url).run("apply", str(out), "--yes")
    assert result.exit_code == 0, result.output
    assert revision(sandbox) == "billing-api:2"


def test_a_network_change_goes_in_the_appspec(sandbox: Any, tmp_path: Path) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    live = describe(sandbox)["networkConfiguration"]["awsvpcConfiguration"]
    text = app.deploy_yaml.read_text().replace(
        "    desired_count: 3\n",
        "    network: {assign_public_ip: true}\n    desired_count: 3\n",
    )
    app.deploy_yaml.write_text(text)
    plan = _plan_json(app, tmp_path, "--revision", REV_A)  # the same task definition
    steps = _steps(plan)
    assert "register" not in steps and "update_service" not in steps
    deploy = steps["codedeploy"]
    assert [c["field"] for c in deploy["changes"]] == [
        "networkConfiguration.awsvpcConfiguration.assignPublicIp"
    ]
    props = deploy["appspec"]["Resources"][0]["TargetService"]["Properties"]
    assert props["TaskDefinition"].endswith("task-definition/billing-api:1")
    assert props["NetworkConfiguration"] == {
        "AwsvpcConfiguration": {
            "Subnets": live["subnets"],
            "SecurityGroups": live["securityGroups"],
            "AssignPublicIp": "ENABLED",
        }
    }
    result = app.run("apply", "--yes", revision=REV_A)
    assert result.exit_code == 0, result.output
    (task_set,) = describe(sandbox)["taskSets"]
    assert task_set["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "ENABLED"
    assert "No changes." in app.run("plan", revision=REV_A).output


def test_a_setting_neither_ecs_nor_codedeploy_changes_is_a_plan_error(
    sandbox: Any, tmp_path: Path
) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    app.edit(
        "deploy.yaml",
        "    keep_revisions: 10\n",
        "    keep_revisions: 10\n    availability_zone_rebalancing: DISABLED\n",
    )
    result = app.run("plan", revision=REV_A)
    assert result.exit_code == 1, result.output
    assert (
        "service `api`: ECS cannot change availabilityZoneRebalancing of a CODE_DEPLOY "
        "service: UpdateService does not take it, nor does a CodeDeploy deployment"
    ) in result.output


# -- finding the deployment group ------------------------------------------------------------


def _second_group(sandbox: Any, application: str, group: str, *, service: str = SERVICE) -> None:
    cd = sandbox.client("codedeploy")
    cd.create_application(applicationName=application, computePlatform="ECS")
    cd.create_deployment_group(
        applicationName=application,
        deploymentGroupName=group,
        serviceRoleArn=ROLE,
        deploymentStyle={
            "deploymentType": "BLUE_GREEN",
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
        },
        ecsServices=[{"serviceName": service, "clusterName": CLUSTER}],
        loadBalancerInfo={
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": SERVICE}, {"name": f"{SERVICE}-green"}],
                    "prodTrafficRoute": {"listenerArns": ["arn:aws:elasticloadbalancing:x"]},
                }
            ]
        },
    )


def _name_group(app: App, codedeploy: str) -> None:
    """deploy.yaml's `deployment.codedeploy`, given after seeding (seeding would make it)."""
    app.edit(
        "deploy.yaml",
        "      poll_interval: 100ms\n",
        f"      poll_interval: 100ms\n      codedeploy: {codedeploy}\n",
    )


def test_a_named_deployment_group_is_used(sandbox: Any, tmp_path: Path) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    _name_group(app, "{application: billing-api, deployment_group: billing-api}")
    _second_group(sandbox, "other", "other")  # also names the service: not looked at
    sandbox.control.reset_calls()
    plan = _plan_json(app, tmp_path)
    assert _steps(plan)["codedeploy"]["codedeploy"]["application"] == SERVICE
    calls = sandbox.control.calls()
    assert "codedeploy:ListApplications" not in calls
    assert "codedeploy:ListDeploymentGroups" not in calls


def test_two_groups_deploying_the_service_is_a_plan_error(sandbox: Any, tmp_path: Path) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    _second_group(sandbox, "other", "other")
    result = app.run("plan")
    assert result.exit_code == 1, result.output
    assert (
        "service `api`: 2 CodeDeploy deployment groups deploy ECS service "
        "billing:billing-api: billing-api/billing-api, other/other"
    ) in result.output
    assert "name the service's CodeDeploy application and deployment group in " in result.output


def test_no_group_deploying_the_service_is_a_plan_error(sandbox: Any, tmp_path: Path) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    # Another CODE_DEPLOY service, which no deployment group deploys.
    ecs = sandbox.client("ecs")
    current = describe(sandbox)
    ecs.create_service(
        cluster=CLUSTER,
        serviceName="billing-api-2",
        taskDefinition=current["taskDefinition"],
        desiredCount=1,
        launchType="FARGATE",
        deploymentController={"type": "CODE_DEPLOY"},
        loadBalancers=current["loadBalancers"],
        networkConfiguration=current["networkConfiguration"],
    )
    app.edit("deploy.yaml", "    name: billing-api\n", "    name: billing-api-2\n")
    result = app.run("plan")
    assert result.exit_code == 1, result.output
    assert (
        "service `api`: no CodeDeploy deployment group deploys ECS service "
        "billing:billing-api-2 (looked in the ECS applications (billing-api))"
    ) in result.output


@pytest.mark.parametrize(
    ("codedeploy", "message"),
    [
        ("{application: nope}", "service `api`: CodeDeploy application nope does not exist"),
        (
            "{application: billing-api, deployment_group: nope}",
            "service `api`: deployment group nope of CodeDeploy application billing-api "
            "does not exist",
        ),
        (
            "{application: empty}",
            "service `api`: no CodeDeploy deployment group deploys ECS service "
            "billing:billing-api (looked in application empty)",
        ),
    ],
    ids=["no-application", "no-group", "none-in-the-application"],
)
def test_a_named_group_that_is_not_there_is_a_plan_error(
    sandbox: Any, tmp_path: Path, codedeploy: str, message: str
) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    _name_group(app, codedeploy)
    sandbox.client("codedeploy").create_application(applicationName="empty", computePlatform="ECS")
    result = app.run("plan")
    assert result.exit_code == 1, result.output
    assert message in result.output


def test_without_a_deployment_to_make_no_group_is_needed(sandbox: Any, tmp_path: Path) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    _name_group(app, "{application: nope}")
    result = app.run("plan", revision=REV_A)  # what runs already
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("No changes.")


def test_a_group_named_for_a_service_ecs_deploys_is_a_plan_error(
    sandbox: Any, tmp_path: Path
) -> None:
    from tests.apps import seed_app

    folder = copy_sample("quickstart", tmp_path)
    app = seed_app(sandbox, folder)
    app.edit(
        "deploy.yaml",
        "      minimum_healthy_percent: 50\n",
        "      minimum_healthy_percent: 50\n      codedeploy: {application: shop}\n",
    )
    result = app.run("plan", "--service", "web")
    assert result.exit_code == 1, result.output
    assert (
        "service `web`: deploy.yaml names a CodeDeploy deployment group but web's deployment "
        "controller is not CODE_DEPLOY: ECS deploys it"
    ) in result.output


# -- validate, offline -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "message", "line"),
    [
        (
            (
                "      deploymentController: {type: CODE_DEPLOY}\n",
                "      deploymentController: {type: ECS}\n",
            ),
            "`deployment.codedeploy` with deployment controller ECS: CodeDeploy deploys only "
            "a service whose deployment controller is CODE_DEPLOY",
            "codedeploy:",
        ),
        (
            (
                "      poll_interval: 100ms\n",
                "      poll_interval: 100ms\n      strategy: canary\n",
            ),
            "`strategy: canary` for a CODE_DEPLOY service: its deployments are CodeDeploy's",
            "strategy: canary",
        ),
    ],
    ids=["codedeploy-for-an-ecs-service", "ecs-strategy"],
)
def test_validate_refuses_what_codedeploy_cannot_deploy(
    sandbox: Any, tmp_path: Path, edit: tuple[str, str], message: str, line: str
) -> None:
    app = codedeploy_app(sandbox, tmp_path, codedeploy="{application: billing-api}", seed=False)
    app.edit("deploy.yaml", *edit)
    result = app.run("validate")
    assert result.exit_code == 3, result.output
    assert message in result.output
    # At the key it is about: deploy.yaml's line is quoted.
    assert line in result.output


def test_another_deployment_under_way_is_a_plan_error(sandbox: Any, tmp_path: Path) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    sandbox.control.speed = 0  # the deployment below stays under way
    running = describe(sandbox)["taskDefinition"]
    spec = {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": running,
                        "LoadBalancerInfo": {"ContainerName": "api", "ContainerPort": 8000},
                    },
                }
            }
        ],
    }
    deployment = sandbox.client("codedeploy").create_deployment(
        applicationName=SERVICE,
        deploymentGroupName=SERVICE,
        revision={
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": json.dumps(spec)},
        },
    )["deploymentId"]
    sandbox.control.advance(5)
    result = app.run("plan")  # a new revision: a second deployment
    assert result.exit_code == 1, result.output
    assert (
        f"service `api`: CodeDeploy deployment {deployment} of billing-api:1 is under way in "
        "deployment group billing-api/billing-api; CodeDeploy starts another one when it has "
        f"ended (wait for it, or stop it: aws deploy stop-deployment --deployment-id {deployment} "
        "--auto-rollback-enabled)"
    ) in result.output
