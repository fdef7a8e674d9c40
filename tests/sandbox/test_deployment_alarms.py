"""Deployment alarms on a rolling deployment: an alarm in ALARM fails it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack, step_until


def _alarm(handle: SandboxHandle, name: str, state: str) -> None:
    cloudwatch = handle.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="CPUUtilization",
        Namespace="AWS/ECS",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=90,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def _latest(stack: Stack) -> dict[str, Any]:
    listed = stack.ecs.list_service_deployments(cluster="shop", service="shop-web")
    arn = listed["serviceDeployments"][0]["serviceDeploymentArn"]
    found: dict[str, Any] = stack.ecs.describe_service_deployments(serviceDeploymentArns=[arn])[
        "serviceDeployments"
    ][0]
    return found


@pytest.mark.parametrize("rollback", [True, False])
def test_an_alarm_fails_a_rolling_deployment(
    paused: SandboxHandle, stack: Stack, rollback: bool
) -> None:
    _alarm(paused, "shop-cpu", "OK")
    stack.add_target_group()
    v1 = stack.task_definition()
    stack.create_service(
        "shop-web",
        v1,
        desired=2,
        deployment={"alarms": {"alarmNames": ["shop-cpu"], "enable": True, "rollback": rollback}},
    )
    paused.control.settle()
    assert _latest(stack)["alarms"] == {"status": "MONITORING_COMPLETE", "alarmNames": ["shop-cpu"]}
    v2 = stack.task_definition(image="shop/web:2")
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)
    paused.control.advance(5)
    _alarm(paused, "shop-cpu", "ALARM")
    paused.control.advance(1)
    failed = _latest(stack)
    assert failed["alarms"]["triggeredAlarmNames"] == ["shop-cpu"]
    assert failed["alarms"]["status"] == "TRIGGERED"
    assert "shop-cpu" in failed["statusReason"]
    if rollback:
        assert failed["status"] == "ROLLBACK_IN_PROGRESS"
        step_until(paused, lambda: stack.steady("shop-web"))
        assert stack.service("shop-web")["taskDefinition"] == v1
        assert _latest(stack)["status"] == "ROLLBACK_SUCCESSFUL"
    else:
        assert failed["status"] == "STOPPED"
        assert stack.service("shop-web")["deployments"][0]["rolloutState"] == "FAILED"


def test_an_alarm_in_alarm_before_the_deployment_is_ignored(
    paused: SandboxHandle, stack: Stack
) -> None:
    _alarm(paused, "shop-cpu", "ALARM")
    stack.create_service(
        "shop-web",
        stack.task_definition(),
        desired=1,
        load_balancer=False,
        deployment={"alarms": {"alarmNames": ["shop-cpu"], "enable": True, "rollback": True}},
    )
    assert paused.control.settle()
    assert _latest(stack)["status"] == "SUCCESSFUL"
