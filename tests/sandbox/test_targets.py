"""Load-balancer targets: initial -> healthy, unhealthy -> draining -> gone, on ELB's timings."""

from __future__ import annotations

from typing import Any

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack

PROVISION = 2  # PROVISIONING -> PENDING
START = 10  # PENDING -> RUNNING (the default; SANDBOX_START_SECONDS changes it)


def _health(stack: Stack) -> list[dict[str, Any]]:
    assert stack.target_group_arn
    rows: list[dict[str, Any]] = stack.elbv2.describe_target_health(
        TargetGroupArn=stack.target_group_arn
    )["TargetHealthDescriptions"]
    return rows


def test_target_goes_initial_then_healthy(paused: SandboxHandle, stack: Stack) -> None:
    stack.add_target_group(interval=10, healthy=3)
    td = stack.task_definition()
    stack.create_service("shop-web", td, desired=1)
    paused.control.advance(PROVISION + START - 1)
    assert _health(stack) == []
    task = stack.tasks("shop-web")[0]
    assert task["lastStatus"] == "PENDING"

    paused.control.advance(1.5)  # registered when the task is RUNNING
    [row] = _health(stack)
    assert row["TargetHealth"] == {
        "State": "initial",
        "Reason": "Elb.RegistrationInProgress",
        "Description": "Target registration is in progress",
    }
    ip = stack.tasks("shop-web")[0]["attachments"][0]["details"][0]["value"]
    assert row["Target"]["Id"] == ip and row["Target"]["Port"] == 8080

    paused.control.advance(3 * 10 - 1)  # HealthyThresholdCount x interval, not yet
    assert _health(stack)[0]["TargetHealth"]["State"] == "initial"
    paused.control.advance(1)
    assert _health(stack)[0]["TargetHealth"] == {"State": "healthy"}
    assert stack.steady("shop-web")


def test_unhealthy_target_drains_and_goes(paused: SandboxHandle, stack: Stack) -> None:
    stack.add_target_group(interval=10, unhealthy=2, deregistration_delay=40)
    td = stack.task_definition(env={"SANDBOX_UNHEALTHY": "1"})
    stack.create_service("shop-web", td, desired=1, grace=60)
    paused.control.advance(PROVISION + START + 2 * 10 + 1)  # UnhealthyThresholdCount x interval
    [row] = _health(stack)
    assert row["TargetHealth"] == {
        "State": "unhealthy",
        "Reason": "Target.FailedHealthChecks",
        "Description": "Health checks failed",
    }
    first = stack.tasks("shop-web")[0]
    assert first["lastStatus"] == "RUNNING"  # within the grace period ECS leaves it be

    paused.control.advance(60 - 2 * 10)  # the grace period ends: ECS stops the task
    [row] = _health(stack)
    assert row["TargetHealth"] == {
        "State": "draining",
        "Reason": "Target.DeregistrationInProgress",
        "Description": "Target deregistration is in progress",
    }
    [stopping] = stack.ecs.describe_tasks(cluster="shop", tasks=[first["taskArn"]])["tasks"]
    assert (stopping["lastStatus"], stopping["desiredStatus"]) == ("DEACTIVATING", "STOPPED")
    assert stopping["stoppedReason"] == (
        f"Task failed ELB health checks in (target-group {stack.target_group_arn})"
    )

    paused.control.advance(40)  # deregistration_delay.timeout_seconds
    assert first["taskArn"] not in {
        r["Target"]["Id"] for r in _health(stack) if r["TargetHealth"]["State"] == "draining"
    }
    paused.control.advance(5)
    [stopped] = stack.ecs.describe_tasks(cluster="shop", tasks=[first["taskArn"]])["tasks"]
    assert stopped["lastStatus"] == "STOPPED"
    assert stopped["stopCode"] == "ServiceSchedulerInitiated"
    messages = stack.messages("shop-web")
    unhealthy = [m for m in messages if "is unhealthy in" in m]
    assert unhealthy[-1] == (
        f"(service shop-web) (task {first['taskArn'].split('/')[-1]}) (port 8080) is unhealthy in "
        f"(target-group {stack.target_group_arn}) due to (reason Health checks failed)."
    )
    assert (
        f"(service shop-web) deregistered 1 targets in (target-group {stack.target_group_arn})"
        in messages
    )


def test_target_filter_reports_unregistered_targets(paused: SandboxHandle, stack: Stack) -> None:
    stack.add_target_group()
    stack.create_service("shop-web", stack.task_definition(), desired=1)
    paused.control.settle()
    assert stack.target_group_arn
    rows = stack.elbv2.describe_target_health(
        TargetGroupArn=stack.target_group_arn, Targets=[{"Id": "10.9.9.9", "Port": 8080}]
    )["TargetHealthDescriptions"]
    assert rows[0]["TargetHealth"]["State"] == "unused"
    assert rows[0]["TargetHealth"]["Reason"] == "Target.NotRegistered"
