"""The typed view of DescribeServices: what the tool decides from a service's deployments."""

from __future__ import annotations

from typing import Any

from ecsdeploy.adapters.ecs_state import Deployment, EcsService, ServiceDeployment

TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:{}"


def deployment(n: int, status: str, rollout: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"ecs-svc/{n}",
        "status": status,
        "taskDefinition": TD.format(n),
        "rolloutState": rollout,
        "desiredCount": 2,
        "runningCount": extra.get("running", 2),
        "createdAt": 1_700_000_000 + n,
        **{k: v for k, v in extra.items() if k != "running"},
    }


def service(*deployments: dict[str, Any], running: int = 2) -> EcsService:
    return EcsService.from_api(
        {
            "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/main/web",
            "serviceName": "web",
            "taskDefinition": deployments[0]["taskDefinition"],
            "desiredCount": 2,
            "runningCount": running,
            "deployments": list(deployments),
        }
    )


def test_a_settled_service() -> None:
    svc = service(deployment(2, "PRIMARY", "COMPLETED"))
    primary = svc.primary
    assert primary is not None and primary.completed and not primary.failed
    assert svc.settled_on(primary)
    assert not svc.rolling_out
    assert svc.failure_of(TD.format(2)) is None


def test_a_rollout_under_way() -> None:
    svc = service(deployment(3, "PRIMARY", "IN_PROGRESS"), deployment(2, "ACTIVE", "COMPLETED"))
    assert svc.rolling_out
    ours = svc.deployment_of(TD.format(3))
    assert ours is not None and not svc.settled_on(ours)
    assert svc.task_definitions_in_use == {TD.format(3), TD.format(2)}


def test_failures_ecs_reports() -> None:
    failed = service(
        deployment(3, "PRIMARY", "FAILED", rolloutStateReason="tasks failed to start"),
        deployment(2, "ACTIVE", "COMPLETED"),
    )
    assert failed.failure_of(TD.format(3)) == "the deployment failed: tasks failed to start"
    # ECS's circuit breaker already went back to :2: the deployment of :3 is gone.
    back = service(deployment(2, "PRIMARY", "COMPLETED"))
    assert back.failure_of(TD.format(3), lambda a: str(a).rsplit("/", 1)[-1]) == (
        "ECS went back to web:2"
    )


def test_no_rollout_state_counts_as_completed() -> None:
    """A service without the circuit breaker reports no rolloutState."""
    assert Deployment.from_api(deployment(1, "PRIMARY", None)).completed


def test_service_deployment_verdicts() -> None:
    record = ServiceDeployment.from_api(
        {"serviceDeploymentArn": "arn:x", "status": "ROLLBACK_SUCCESSFUL", "statusReason": "why"}
    )
    assert record.rolled_back and record.finished and not record.succeeded
    assert record.describe() == "service deployment ROLLBACK_SUCCESSFUL: why"
    assert not ServiceDeployment.from_api({"status": "IN_PROGRESS"}).finished


def test_a_code_deploy_service_uses_the_revisions_of_its_task_sets() -> None:
    """Its `deployments` are empty; during a CodeDeploy deployment both task sets run."""
    svc = EcsService.from_api(
        {
            "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/main/web",
            "serviceName": "web",
            "taskDefinition": TD.format(2),
            "deploymentController": {"type": "CODE_DEPLOY"},
            "deployments": [],
            "taskSets": [
                {"status": "PRIMARY", "taskDefinition": TD.format(2)},
                {"status": "ACTIVE", "taskDefinition": TD.format(3)},
            ],
        }
    )
    assert svc.primary is None
    assert svc.task_definitions_in_use == {TD.format(2), TD.format(3)}
