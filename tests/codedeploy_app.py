"""A CODE_DEPLOY service to test with: the fargate sample, deployed by CodeDeploy.

Its deploy.yaml names the deployment controller in `service_overrides`; seeding creates
the service with it, its second target group and the CodeDeploy application and
deployment group (both `billing-api`, as the service).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.apps import App, copy_fargate_for_sandbox, seed_app

SERVICE = "billing-api"
CLUSTER = "billing"


def codedeploy_app(
    handle: Any, dest: Path, *, timeout: str = "20m", codedeploy: str = "", seed: bool = True
) -> App:
    """The fargate sample as a CODE_DEPLOY service (fast polls), seeded unless `seed` is
    False; `codedeploy` is a `deployment.codedeploy` block's body, if any."""
    folder = copy_fargate_for_sandbox(dest)
    deploy = folder / "deploy.yaml"
    text = deploy.read_text()
    block = f"      codedeploy: {codedeploy}\n" if codedeploy else ""
    old = "      circuit_breaker: {enable: true, rollback: true}\n      timeout: 20m\n"
    assert old in text
    text = text.replace(
        old,
        "      circuit_breaker: false\n"
        f"      timeout: {timeout}\n"
        "      poll_interval: 100ms\n" + block,
    )
    text = text.replace(
        "    keep_revisions: 10\n",
        "    keep_revisions: 10\n"
        "    service_overrides:\n"
        "      deploymentController: {type: CODE_DEPLOY}\n",
    )
    deploy.write_text(text)
    if not seed:
        return App(folder, handle.endpoint_url)
    return seed_app(handle, folder)


def describe(handle: Any) -> dict[str, Any]:
    found: dict[str, Any] = handle.client("ecs").describe_services(
        cluster=CLUSTER, services=[SERVICE]
    )["services"][0]
    return found


def revision(handle: Any) -> str:
    """`family:N` of the task definition the service runs (its PRIMARY task set's)."""
    return str(describe(handle)["taskDefinition"]).rsplit("/", 1)[-1]


def deployments(handle: Any) -> list[dict[str, Any]]:
    """The group's CodeDeploy deployments, newest first (GetDeployment's answers)."""
    cd = handle.client("codedeploy")
    ids = cd.list_deployments(applicationName=SERVICE, deploymentGroupName=SERVICE)["deployments"]
    return [cd.get_deployment(deploymentId=i)["deploymentInfo"] for i in ids]
