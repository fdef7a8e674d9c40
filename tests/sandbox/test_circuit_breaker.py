"""The deployment circuit breaker, tripped by a release whose container crashes (SANDBOX_CRASH=1)."""

from __future__ import annotations

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack


def _release(stack: Stack, rollback: bool) -> tuple[str, str, str, str]:
    stack.add_target_group()
    v1 = stack.task_definition()
    stack.create_service(
        "shop-web", v1, desired=2, minimum=100, maximum=200, circuit_breaker=(True, rollback)
    )
    stack.handle.control.settle()
    good = stack.service("shop-web")["deployments"][0]["id"]
    v2 = stack.task_definition(env={"SANDBOX_CRASH": "1"}, image="shop/web:broken")
    bad = stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)[
        "service"
    ]["deployments"][0]["id"]
    return v1, v2, good, bad


def test_crashing_release_is_rolled_back(paused: SandboxHandle, stack: Stack) -> None:
    v1, v2, good, bad = _release(stack, rollback=True)
    assert paused.control.settle()

    svc = stack.service("shop-web")
    assert svc["taskDefinition"] == v1
    [rollback] = svc["deployments"]
    assert rollback["id"] not in (good, bad)
    assert (rollback["rolloutState"], rollback["taskDefinition"]) == ("COMPLETED", v1)
    messages = stack.messages("shop-web")
    assert (
        f"(service shop-web) (deployment {bad}) deployment failed: tasks failed to start."
        in messages
    )
    assert f"(service shop-web) rolling back to deployment {good}." in messages
    assert messages[0] == "(service shop-web) has reached a steady state."
    assert messages.index(
        f"(service shop-web) rolling back to deployment {good}."
    ) > messages.index(f"(service shop-web) (deployment {rollback['id']}) deployment completed.")

    crashed = [
        t for t in stack.tasks("shop-web", desired="STOPPED") if t["taskDefinitionArn"] == v2
    ]
    # Tasks start (and crash) two at a time, so the breaker trips at 4, past the
    # threshold for 2 tasks: max(ceil(2 * 0.5), 3) = 3.
    assert len(crashed) == 4
    for task in crashed:
        assert task["stoppedReason"] == "Essential container in task exited"
        assert task["stopCode"] == "EssentialContainerExited"
        assert task["containers"][0]["exitCode"] == 1
        assert task["lastStatus"] == "STOPPED"
        assert "startedAt" not in task  # it never reached RUNNING

    listed = stack.ecs.list_service_deployments(cluster="shop", service="shop-web")[
        "serviceDeployments"
    ]
    assert [d["status"] for d in listed] == ["ROLLBACK_SUCCESSFUL", "SUCCESSFUL"]
    [described] = stack.ecs.describe_service_deployments(
        serviceDeploymentArns=[listed[0]["serviceDeploymentArn"]]
    )["serviceDeployments"]
    assert described["deploymentCircuitBreaker"] == {
        "status": "TRIGGERED",
        "failureCount": 4,
        "threshold": 3,
    }
    assert (
        described["rollback"]["reason"] == "ECS deployment circuit breaker: tasks failed to start."
    )
    assert described["rollback"]["serviceRevisionArn"].endswith(good.split("/")[-1])


def test_without_rollback_the_deployment_stays_failed(paused: SandboxHandle, stack: Stack) -> None:
    _, v2, good, bad = _release(stack, rollback=False)
    paused.control.advance(600)

    svc = stack.service("shop-web")
    assert svc["taskDefinition"] == v2
    primary, old = svc["deployments"]
    assert (primary["id"], primary["rolloutState"]) == (bad, "FAILED")
    assert primary["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert primary["failedTasks"] == 4
    assert (old["id"], old["runningCount"]) == (good, 2)  # the old tasks keep serving
    stopped = len(stack.tasks("shop-web", desired="STOPPED"))

    paused.control.advance(1200)  # a failed deployment launches no more tasks
    assert len(stack.tasks("shop-web", desired="STOPPED")) == stopped
    assert stack.service("shop-web")["deployments"][0]["failedTasks"] == 4
    assert not any("rolling back" in m for m in stack.messages("shop-web"))
    [record, _] = stack.ecs.list_service_deployments(cluster="shop", service="shop-web")[
        "serviceDeployments"
    ]
    assert (record["status"], record["statusReason"]) == (
        "STOPPED",
        "ECS deployment circuit breaker: tasks failed to start.",
    )


def test_unhealthy_release_trips_the_breaker_too(paused: SandboxHandle, stack: Stack) -> None:
    stack.add_target_group(interval=5)
    v1 = stack.task_definition()
    stack.create_service("shop-web", v1, desired=2, circuit_breaker=(True, True))
    paused.control.settle()
    v2 = stack.task_definition(env={"SANDBOX_UNHEALTHY": "1"}, image="shop/web:sick")
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)
    assert paused.control.settle()
    assert stack.service("shop-web")["taskDefinition"] == v1
    reasons = {
        t["stoppedReason"]
        for t in stack.tasks("shop-web", desired="STOPPED")
        if t["taskDefinitionArn"] == v2
    }
    assert reasons == {f"Task failed ELB health checks in (target-group {stack.target_group_arn})"}


def test_a_failing_first_deployment_has_nothing_to_roll_back_to(
    paused: SandboxHandle, stack: Stack
) -> None:
    broken = stack.task_definition(env={"SANDBOX_CRASH": "true"})
    stack.create_service(
        "shop-web", broken, desired=1, load_balancer=False, circuit_breaker=(True, True)
    )
    paused.control.advance(600)
    [deployment] = stack.service("shop-web")["deployments"]
    assert (deployment["rolloutState"], deployment["failedTasks"]) == ("FAILED", 3)
    assert stack.service("shop-web")["taskDefinition"] == broken
    assert not any("rolling back" in m for m in stack.messages("shop-web"))
    assert stack.tasks("shop-web") == []
    [record] = stack.ecs.list_service_deployments(cluster="shop", service="shop-web")[
        "serviceDeployments"
    ]
    assert record["status"] == "STOPPED"
