"""ECS's BLUE_GREEN strategy on the sandbox: stages, listener rules, hooks, rollbacks."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from ecsdeploy.sandbox.control import SandboxClient
from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack, Wiring, add_blue_green, forward_weights, step_until

HOST = "shop.example.com"
TEST_HOST = "test.shop.example.com"


@pytest.fixture
def wiring(stack: Stack) -> Wiring:
    return add_blue_green(stack)


def _create(
    stack: Stack,
    wiring: Wiring,
    *,
    desired: int = 2,
    deployment: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    test: bool = True,
) -> dict[str, Any]:
    config: dict[str, Any] = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5}
    return stack.create_service(
        "shop-web",
        stack.task_definition(env=env),
        desired=desired,
        deployment=config | (deployment or {}),
        advanced=wiring.advanced(test=test),
    )


def _latest(stack: Stack) -> dict[str, Any]:
    listed = stack.ecs.list_service_deployments(cluster="shop", service="shop-web")
    arn = listed["serviceDeployments"][0]["serviceDeploymentArn"]
    found: dict[str, Any] = stack.ecs.describe_service_deployments(serviceDeploymentArns=[arn])[
        "serviceDeployments"
    ][0]
    return found


def _healthy_in(stack: Stack, target_group: str) -> int:
    rows = stack.elbv2.describe_target_health(TargetGroupArn=target_group)
    return sum(
        1 for r in rows["TargetHealthDescriptions"] if r["TargetHealth"]["State"] == "healthy"
    )


def _get(handle: SandboxHandle, host: str) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.get(f"{handle.endpoint_url}/", headers={"Host": host}, timeout=10)


def _settled_on(stack: Stack, handle: SandboxHandle, status: str = "SUCCESSFUL") -> None:
    step_until(handle, lambda: _latest(stack)["status"] == status and stack.steady("shop-web"))


def test_a_release_walks_the_stages_and_moves_test_then_production_traffic(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    created = _create(stack, wiring)
    assert created["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    assert created["deploymentConfiguration"]["bakeTimeInMinutes"] == 5
    assert created["loadBalancers"][0]["advancedConfiguration"] == wiring.advanced()
    # The first deployment goes to the alternate target group too, then takes production.
    _settled_on(stack, paused)
    assert forward_weights(stack, wiring.production_rule) == {wiring.blue: 0, wiring.green: 100}
    lb = stack.service("shop-web")["loadBalancers"][0]
    assert lb["targetGroupArn"] == wiring.green
    assert lb["advancedConfiguration"]["alternateTargetGroupArn"] == wiring.blue
    assert _healthy_in(stack, wiring.green) == 2

    paused.control.http_route_rule(HOST, wiring.production_rule)
    SandboxClient(paused.endpoint_url).http_route_rule(TEST_HOST, wiring.test_rule)
    assert _get(paused, HOST).json()["taskDefinition"] == "shop-web:1"

    v2 = stack.task_definition(image="shop/web:2")
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)
    stages: list[str] = []
    answers: list[tuple[str, str, str]] = []

    def each() -> None:
        stage = _latest(stack).get("lifecycleStage", "")
        if not stages or stages[-1] != stage:
            stages.append(stage)
        answers.append(
            (
                stage,
                _get(paused, HOST).json()["taskDefinition"],
                _get(paused, TEST_HOST).json()["taskDefinition"],
            )
        )

    each()
    step_until(paused, lambda: _latest(stack)["status"] == "SUCCESSFUL", step=10, each=each)
    # Stages with nothing to wait for pass at once; hooks make them visible (below).
    assert stages == ["SCALE_UP", "BAKE_TIME", "CLEAN_UP"]
    # Production stayed on v1 until the shift; test traffic reached v2 first.
    for stage, production, test in answers:
        if stage == "SCALE_UP":
            assert production == test == "shop-web:1"
        if stage == "BAKE_TIME":
            assert production == test == "shop-web:2"
    assert forward_weights(stack, wiring.production_rule) == {wiring.blue: 100, wiring.green: 0}
    assert forward_weights(stack, wiring.test_rule) == {wiring.blue: 100, wiring.green: 0}
    history = SandboxClient(paused.endpoint_url).rule_history(wiring.production_rule)
    assert [h["weights"] for h in history] == [
        {wiring.blue: 0, wiring.green: 100},
        {wiring.blue: 100, wiring.green: 0},
    ]
    assert [h["stage"] for h in history] == ["PRODUCTION_TRAFFIC_SHIFT"] * 2
    step_until(paused, lambda: stack.steady("shop-web"))
    assert {t["taskDefinitionArn"] for t in stack.tasks("shop-web")} == {v2}
    assert stack.service("shop-web")["loadBalancers"][0]["targetGroupArn"] == wiring.blue


def _pause_at(stage: str, minutes: int = 60, action: str = "ROLLBACK") -> dict[str, Any]:
    return {
        "targetType": "PAUSE",
        "lifecycleStages": [stage],
        "timeoutConfiguration": {"timeoutInMinutes": minutes, "action": action},
    }


def _awaiting(stack: Stack) -> str | None:
    for hook in _latest(stack).get("lifecycleHookDetails", []):
        if hook["status"] == "AWAITING_ACTION":
            return str(hook["hookId"])
    return None


def test_a_broken_release_is_caught_on_the_test_listener_and_rolled_back(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    _create(stack, wiring, deployment={"lifecycleHooks": [_pause_at("POST_TEST_TRAFFIC_SHIFT")]})
    # The first deployment pauses too: let it go on.
    step_until(paused, lambda: _awaiting(stack) is not None)
    first = _latest(stack)
    stack.ecs.continue_service_deployment(
        serviceDeploymentArn=first["serviceDeploymentArn"], hookId=_awaiting(stack)
    )
    _settled_on(stack, paused)
    v1 = stack.service("shop-web")["taskDefinition"]
    production = stack.service("shop-web")["loadBalancers"][0]["targetGroupArn"]
    paused.control.rule_history(wiring.production_rule)
    before = len(paused.control.rule_history(wiring.production_rule))
    paused.control.http_route_rule(HOST, wiring.production_rule)
    paused.control.http_route_rule(TEST_HOST, wiring.test_rule)

    broken = stack.task_definition(image="shop/web:2", env={"SANDBOX_HTTP_STATUS": "500"})
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=broken)
    step_until(paused, lambda: _awaiting(stack) is not None)
    waiting = _latest(stack)
    assert waiting["status"] == "IN_PROGRESS"
    assert waiting["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    [hook] = [h for h in waiting["lifecycleHookDetails"] if h["status"] == "AWAITING_ACTION"]
    assert hook["hookId"].startswith("ecs-pause-") and len(hook["hookId"]) == len("ecs-pause-") + 43
    assert hook["targetType"] == "PAUSE" and "targetArn" not in hook
    assert hook["timeoutAction"] == "ROLLBACK"
    # The new revision answers 500 through the test listener; production is untouched.
    assert _get(paused, TEST_HOST).status_code == 500
    assert _get(paused, HOST).status_code == 200
    assert _get(paused, HOST).json()["taskDefinition"] == "shop-web:1"

    stack.ecs.continue_service_deployment(
        serviceDeploymentArn=waiting["serviceDeploymentArn"],
        hookId=hook["hookId"],
        action="ROLLBACK",
    )
    assert _latest(stack)["status"] == "ROLLBACK_REQUESTED"
    paused.control.advance(1)
    rolling_back = _latest(stack)
    assert rolling_back["status"] == "ROLLBACK_IN_PROGRESS"
    # Traffic went back at once; the new tasks drain.
    assert forward_weights(stack, wiring.test_rule)[production] == 100
    assert _get(paused, TEST_HOST).json()["taskDefinition"] == "shop-web:1"
    _settled_on(stack, paused, "ROLLBACK_SUCCESSFUL")
    done = _latest(stack)
    assert done["rollback"]["serviceRevisionArn"] == first["targetServiceRevision"]["arn"]
    assert "ROLLBACK" in done["statusReason"] and "POST_TEST_TRAFFIC_SHIFT" in done["statusReason"]
    assert [h["status"] for h in done["lifecycleHookDetails"]] == ["FAILED"]
    assert "finishedAt" in done
    service = stack.service("shop-web")
    assert service["taskDefinition"] == v1
    assert {t["taskDefinitionArn"] for t in stack.tasks("shop-web")} == {v1}
    assert service["loadBalancers"][0]["targetGroupArn"] == production
    # The production rule never forwarded a request to the broken revision's target group.
    for change in paused.control.rule_history(wiring.production_rule)[before:]:
        assert all(w == 0 for tg, w in change["weights"].items() if tg != production)
    assert len(paused.control.rule_history(wiring.production_rule)) == before


def test_continue_goes_on_to_production(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    hooks = [_pause_at("PRE_SCALE_UP"), _pause_at("POST_PRODUCTION_TRAFFIC_SHIFT")]
    _create(stack, wiring, deployment={"lifecycleHooks": hooks})
    seen: list[str] = []
    for _ in range(2):
        step_until(paused, lambda: _awaiting(stack) is not None)
        waiting = _latest(stack)
        seen.append(waiting["lifecycleStage"])
        answer = stack.ecs.continue_service_deployment(
            serviceDeploymentArn=waiting["serviceDeploymentArn"],
            hookId=_awaiting(stack),
            action="CONTINUE",
        )
        assert answer["serviceDeploymentArn"] == waiting["serviceDeploymentArn"]
    assert seen == ["PRE_SCALE_UP", "POST_PRODUCTION_TRAFFIC_SHIFT"]
    # No green task before PRE_SCALE_UP was continued; at POST_PRODUCTION all serve.
    _settled_on(stack, paused)
    done = _latest(stack)
    assert [h["status"] for h in done["lifecycleHookDetails"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert done["lifecycleStage"] == "CLEAN_UP"


def test_a_pause_hook_times_out_into_its_action(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    hooks = [
        _pause_at("POST_SCALE_UP", minutes=10, action="CONTINUE"),
        _pause_at("POST_TEST_TRAFFIC_SHIFT", minutes=5, action="ROLLBACK"),
    ]
    _create(stack, wiring, deployment={"lifecycleHooks": hooks})
    step_until(paused, lambda: _awaiting(stack) is not None)
    started = _latest(stack)
    [first] = started["lifecycleHookDetails"]
    assert first["timeoutAction"] == "CONTINUE"
    expires = first["expiresAt"].timestamp()
    now = paused.control.clock_status()["timestamp"]
    assert now + 595 <= expires <= now + 600  # 10 minutes from when it started
    paused.control.advance(600)
    later = _latest(stack)
    assert [h["status"] for h in later["lifecycleHookDetails"]] == ["TIMED_OUT", "AWAITING_ACTION"]
    assert later["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    paused.control.advance(300)
    # The first deployment has nothing to roll back to.
    failed = _latest(stack)
    assert failed["status"] == "ROLLBACK_FAILED"
    assert failed["statusReason"] == (
        "Service deployment rolled back because POST_TEST_TRAFFIC_SHIFT pause hook timed out."
    )
    assert [h["status"] for h in failed["lifecycleHookDetails"]] == ["TIMED_OUT", "TIMED_OUT"]


def test_continue_service_deployment_refuses_what_ecs_refuses(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    _create(stack, wiring, deployment={"lifecycleHooks": [_pause_at("POST_SCALE_UP")]})
    step_until(paused, lambda: _awaiting(stack) is not None)
    arn = _latest(stack)["serviceDeploymentArn"]
    hook = _awaiting(stack)
    assert hook is not None

    def refused(**params: Any) -> tuple[str, str]:
        with pytest.raises(ClientError) as caught:
            stack.ecs.continue_service_deployment(**params)
        error = caught.value.response["Error"]
        return error["Code"], error["Message"]

    assert refused(serviceDeploymentArn=arn, hookId="pause-123") == (
        "InvalidParameterException",
        "Invalid hookId: hookId must follow the format: ecs-{hookType}-{id}",
    )
    assert refused(serviceDeploymentArn=arn, hookId="ecs-pause-nope") == (
        "InvalidParameterException",
        "Provided hookId is either completed, unavailable, or not associated with the given "
        "Resource ARN",
    )
    assert refused(serviceDeploymentArn=arn + "0", hookId=hook) == (
        "ServiceDeploymentNotFoundException",
        "The service deployment does not exist.",
    )
    stack.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook)
    # Continued already: the hook is completed.
    assert refused(serviceDeploymentArn=arn, hookId=hook)[1].startswith("Provided hookId")
    _settled_on(stack, paused)
    assert refused(serviceDeploymentArn=arn, hookId=hook) == (
        "InvalidParameterException",
        "Continuing a service deployment is not allowed for service deployment in terminal states.",
    )


def _release(stack: Stack, **env: str) -> str:
    v2 = stack.task_definition(image="shop/web:2", env=env or None)
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)
    return v2


LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:shop-smoke-test"


def test_lambda_hooks_answer_succeeded_unless_marked_failed(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    hook = {
        "hookTargetArn": LAMBDA,
        "roleArn": wiring.role,
        "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        "hookDetails": {"path": "/healthz"},
    }
    created = _create(stack, wiring, deployment={"lifecycleHooks": [hook]})
    # ECS's defaults, filled in: an AWS_LAMBDA hook of 24 hours that rolls back.
    assert created["deploymentConfiguration"]["lifecycleHooks"] == [
        hook
        | {
            "targetType": "AWS_LAMBDA",
            "timeoutConfiguration": {"timeoutInMinutes": 1440, "action": "ROLLBACK"},
        }
    ]
    step_until(paused, lambda: bool(_latest(stack).get("lifecycleHookDetails")))
    [running] = _latest(stack)["lifecycleHookDetails"]
    assert running["status"] == "IN_PROGRESS"
    assert running["hookId"].startswith("ecs-lambda-")
    assert running["targetArn"] == LAMBDA and running["targetType"] == "AWS_LAMBDA"
    _settled_on(stack, paused)
    assert [h["status"] for h in _latest(stack)["lifecycleHookDetails"]] == ["SUCCEEDED"]
    v1 = stack.service("shop-web")["taskDefinition"]
    production = stack.service("shop-web")["loadBalancers"][0]["targetGroupArn"]

    # Marked by its name here; the hook names the function by ARN.
    paused.control.hook_verdict("shop-smoke-test", "FAILED")
    _release(stack)
    _settled_on(stack, paused, "ROLLBACK_SUCCESSFUL")
    failed = _latest(stack)
    assert failed["statusReason"] == (
        "Service deployment rolled back because POST_TEST_TRAFFIC_SHIFT lifecycle hook(s) "
        f"failed. Lifecycle hook target {LAMBDA} returned FAILED status."
    )
    assert [h["status"] for h in failed["lifecycleHookDetails"]] == ["FAILED"]
    assert failed["rollback"]["reason"] == failed["statusReason"]
    assert stack.service("shop-web")["taskDefinition"] == v1
    assert forward_weights(stack, wiring.test_rule)[production] == 100
    assert forward_weights(stack, wiring.production_rule)[production] == 100


def test_a_lambda_that_stays_in_progress_times_out(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    hook = {
        "targetType": "AWS_LAMBDA",
        "hookTargetArn": LAMBDA,
        "lifecycleStages": ["PRE_SCALE_UP"],
        "timeoutConfiguration": {"timeoutInMinutes": 2, "action": "ROLLBACK"},
    }
    # Over HTTP, as a test in another process would.
    SandboxClient(paused.endpoint_url).hook_verdict(LAMBDA, "IN_PROGRESS")
    _create(stack, wiring, deployment={"lifecycleHooks": [hook]})
    paused.control.advance(90)
    assert [h["status"] for h in _latest(stack)["lifecycleHookDetails"]] == ["IN_PROGRESS"]
    assert stack.tasks("shop-web") == []  # nothing scales up before PRE_SCALE_UP is done
    paused.control.advance(31)
    failed = _latest(stack)
    assert [h["status"] for h in failed["lifecycleHookDetails"]] == ["TIMED_OUT"]
    assert failed["status"] == "ROLLBACK_FAILED"
    assert "PRE_SCALE_UP lifecycle hook timed out" in failed["statusReason"]


def _alarm(handle: SandboxHandle, name: str, state: str = "OK") -> None:
    cloudwatch = handle.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


@pytest.mark.parametrize("rollback", [True, False])
def test_an_alarm_during_the_bake_time_fails_the_deployment(
    paused: SandboxHandle, stack: Stack, wiring: Wiring, rollback: bool
) -> None:
    _alarm(paused, "shop-5xx")
    alarms = {"alarmNames": ["shop-5xx"], "enable": True, "rollback": rollback}
    _create(stack, wiring, deployment={"alarms": alarms})
    _settled_on(stack, paused)
    assert _latest(stack)["alarms"] == {"status": "MONITORING_COMPLETE", "alarmNames": ["shop-5xx"]}
    production = stack.service("shop-web")["loadBalancers"][0]["targetGroupArn"]
    v1 = stack.service("shop-web")["taskDefinition"]
    v2 = _release(stack)
    step_until(paused, lambda: _latest(stack).get("lifecycleStage") == "BAKE_TIME")
    assert _latest(stack)["alarms"]["status"] == "MONITORING"
    _alarm(paused, "shop-5xx", "ALARM")
    paused.control.advance(1)
    failed = _latest(stack)
    assert failed["alarms"] == {
        "status": "TRIGGERED",
        "alarmNames": ["shop-5xx"],
        "triggeredAlarmNames": ["shop-5xx"],
    }
    assert "shop-5xx" in failed["statusReason"]
    if rollback:
        _settled_on(stack, paused, "ROLLBACK_SUCCESSFUL")
        assert stack.service("shop-web")["taskDefinition"] == v1
        assert forward_weights(stack, wiring.production_rule)[production] == 100
    else:
        assert failed["status"] == "STOPPED" and "stoppedAt" in failed
        # Stopped where it was: production stays on the new revision, nothing rolls back.
        assert forward_weights(stack, wiring.production_rule)[production] == 0
        assert stack.service("shop-web")["deployments"][0]["rolloutState"] == "FAILED"
        assert stack.service("shop-web")["taskDefinition"] == v2


def test_an_alarm_already_in_alarm_is_ignored(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    _alarm(paused, "shop-5xx", "ALARM")
    alarms = {"alarmNames": ["shop-5xx"], "enable": True, "rollback": True}
    _create(stack, wiring, deployment={"alarms": alarms})
    _settled_on(stack, paused)


def test_failing_green_tasks_trip_the_circuit_breaker_before_any_traffic_moves(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    _create(
        stack, wiring, deployment={"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    )
    _settled_on(stack, paused)
    v1 = stack.service("shop-web")["taskDefinition"]
    before = len(paused.control.rule_history(wiring.production_rule))
    _release(stack, SANDBOX_CRASH="1")
    _settled_on(stack, paused, "ROLLBACK_SUCCESSFUL")
    failed = _latest(stack)
    assert failed["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert failed["statusReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert failed["lifecycleStage"] == "SCALE_UP"
    assert stack.service("shop-web")["taskDefinition"] == v1
    assert len(paused.control.rule_history(wiring.production_rule)) == before
    mine = failed["serviceDeploymentArn"]
    assert [
        h
        for h in paused.control.rule_history(wiring.test_rule)
        if h["serviceDeploymentArn"] == mine
    ] == []


def test_stop_service_deployment_rolls_back(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    _create(stack, wiring)
    _settled_on(stack, paused)
    first = _latest(stack)["serviceDeploymentArn"]
    v1 = stack.service("shop-web")["taskDefinition"]
    _release(stack)
    step_until(paused, lambda: _latest(stack).get("lifecycleStage") == "BAKE_TIME")
    arn = _latest(stack)["serviceDeploymentArn"]

    def refused(**params: Any) -> tuple[str, str]:
        with pytest.raises(ClientError) as caught:
            stack.ecs.stop_service_deployment(**params)
        return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]

    assert refused(serviceDeploymentArn=arn, stopType="ABORT")[0] == "InvalidParameterException"
    assert refused(serviceDeploymentArn=arn + "0", stopType="ROLLBACK")[0] == (
        "ServiceDeploymentNotFoundException"
    )
    assert refused(serviceDeploymentArn=first, stopType="ROLLBACK")[0] == "ConflictException"
    answer = stack.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert answer["serviceDeploymentArn"] == arn
    assert _latest(stack)["status"] == "ROLLBACK_REQUESTED"
    # Asking again while it rolls back is fine.
    stack.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    _settled_on(stack, paused, "ROLLBACK_SUCCESSFUL")
    assert stack.service("shop-web")["taskDefinition"] == v1
    assert _latest(stack)["rollback"]["reason"].startswith("Service deployment rolled back")


def test_a_newer_release_replaces_one_still_in_progress(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    hooks = [_pause_at("POST_TEST_TRAFFIC_SHIFT"), _pause_at("RECONCILE_SERVICE")]
    _create(stack, wiring, deployment={"lifecycleHooks": hooks})
    step_until(paused, lambda: _awaiting(stack) is not None)
    first = _latest(stack)
    stack.ecs.continue_service_deployment(
        serviceDeploymentArn=first["serviceDeploymentArn"], hookId=_awaiting(stack)
    )
    _settled_on(stack, paused)
    production = stack.service("shop-web")["loadBalancers"][0]["targetGroupArn"]
    _release(stack)
    step_until(paused, lambda: _awaiting(stack) is not None)
    second = _latest(stack)
    assert forward_weights(stack, wiring.test_rule)[production] == 0  # test traffic on v2

    v3 = stack.task_definition(image="shop/web:3")
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v3)
    [replaced] = stack.ecs.describe_service_deployments(
        serviceDeploymentArns=[second["serviceDeploymentArn"]]
    )["serviceDeployments"]
    assert replaced["status"] == "STOPPED"
    # Its pause hook, still waiting, is over too.
    assert [h["status"] for h in replaced["lifecycleHookDetails"]] == ["FAILED"]
    # Test traffic is back on what serves production; v3 first waits for v2's tasks to go.
    assert forward_weights(stack, wiring.test_rule)[production] == 100
    third = _latest(stack)
    assert third["lifecycleStage"] == "RECONCILE_SERVICE"
    for _ in range(2):
        step_until(paused, lambda: _awaiting(stack) is not None)
        stack.ecs.continue_service_deployment(
            serviceDeploymentArn=third["serviceDeploymentArn"], hookId=_awaiting(stack)
        )
    _settled_on(stack, paused)
    assert {t["taskDefinitionArn"] for t in stack.tasks("shop-web")} == {v3}
    assert stack.service("shop-web")["loadBalancers"][0]["targetGroupArn"] != production


def test_a_service_without_a_load_balancer_deploys_blue_green_without_traffic(
    paused: SandboxHandle, stack: Stack
) -> None:
    stack.create_service(
        "shop-web",
        stack.task_definition(),
        desired=2,
        load_balancer=False,
        deployment={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1},
    )
    _settled_on(stack, paused)
    v2 = _release(stack)
    step_until(paused, lambda: _latest(stack).get("lifecycleStage") == "BAKE_TIME")
    # Both revisions run through the bake time.
    assert len(stack.tasks("shop-web")) == 4
    _settled_on(stack, paused)
    assert {t["taskDefinitionArn"] for t in stack.tasks("shop-web")} == {v2}


def test_a_route_with_a_port_answers_on_that_port_only(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    _create(stack, wiring)
    _settled_on(stack, paused)
    paused.control.http_route(HOST, "shop", "shop-api")  # no such service: 503
    paused.control.http_route_rule(f"{HOST}:8443", wiring.test_rule)
    assert paused.control.responder.routes() == {
        HOST: {"cluster": "shop", "service": "shop-api"},
        f"{HOST}:8443": {"rule": wiring.test_rule},
    }
    assert _get(paused, f"{HOST}:8443").status_code == 200
    assert _get(paused, HOST).status_code == 503
    assert _get(paused, f"{HOST}:443").status_code == 503


def test_load_balancers_named_the_other_way_round_keep_production_where_it_is(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    _create(stack, wiring)
    _settled_on(stack, paused)
    assert stack.service("shop-web")["loadBalancers"][0]["targetGroupArn"] == wiring.green
    # As first written (blue first), without the test rule: a change, so a deployment.
    lb = {"targetGroupArn": wiring.blue, "containerName": "web", "containerPort": 8080}
    stack.ecs.update_service(
        cluster="shop",
        service="shop-web",
        loadBalancers=[lb | {"advancedConfiguration": wiring.advanced(test=False)}],
    )
    step_until(paused, lambda: _latest(stack).get("lifecycleStage") == "BAKE_TIME")
    # The new tasks went to the group not serving production, and production followed.
    assert _healthy_in(stack, wiring.blue) == 2
    assert forward_weights(stack, wiring.production_rule) == {wiring.blue: 100, wiring.green: 0}
    _settled_on(stack, paused)
    [described] = stack.service("shop-web")["loadBalancers"]
    assert described["targetGroupArn"] == wiring.blue
    assert described["advancedConfiguration"] == wiring.advanced(test=False) | {
        "alternateTargetGroupArn": wiring.green
    }
    # The same wiring again, either way round, changes nothing.
    reversed_lb = lb | {"targetGroupArn": wiring.green}
    reversed_adv = wiring.advanced(test=False) | {"alternateTargetGroupArn": wiring.blue}
    for entry in (
        lb | {"advancedConfiguration": described["advancedConfiguration"]},
        reversed_lb | {"advancedConfiguration": reversed_adv},
    ):
        stack.ecs.update_service(cluster="shop", service="shop-web", loadBalancers=[entry])
        assert len(stack.service("shop-web")["deployments"]) == 1
        assert stack.service("shop-web")["loadBalancers"] == [described]


def test_a_production_rule_serving_both_groups_rolls_the_deployment_back(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    _create(stack, wiring)
    _settled_on(stack, paused)
    production = stack.service("shop-web")["loadBalancers"][0]["targetGroupArn"]
    groups = [
        {"TargetGroupArn": wiring.blue, "Weight": 1},
        {"TargetGroupArn": wiring.green, "Weight": 1},
    ]
    stack.elbv2.modify_rule(
        RuleArn=wiring.production_rule,
        Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}],
    )
    _release(stack)
    paused.control.advance(1)
    failed = _latest(stack)
    assert failed["status"] in ("ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL")
    assert failed["statusReason"] == (
        "Service deployment rolled back because of invalid networking configuration. "
        f"productionListenerRule {wiring.production_rule} should have exactly one target group "
        "serving traffic but found 2 target groups which are serving traffic"
    )
    # Production goes back to the group that served it.
    assert forward_weights(stack, wiring.production_rule)[production] == 100
    _settled_on(stack, paused, "ROLLBACK_SUCCESSFUL")


def test_on_ec2_the_green_tasks_need_room_beside_the_blue_ones(
    paused: SandboxHandle, stack: Stack
) -> None:
    wiring = add_blue_green(stack, target_type="instance")
    stack.add_instances(1)
    td = stack.task_definition(network_mode="bridge", host_port=8080)
    stack.create_service(
        "shop-web",
        td,
        desired=1,
        launch_type="EC2",
        deployment={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0},
        advanced=wiring.advanced(),
    )
    _settled_on(stack, paused)
    v2 = stack.task_definition(image="shop/web:2", network_mode="bridge", host_port=8080)
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)
    paused.control.advance(60)
    # One instance, a static port held by the blue task: the green one cannot start.
    assert _latest(stack)["lifecycleStage"] == "SCALE_UP"
    assert any("unable to place a task" in m for m in stack.messages("shop-web"))
    stack.add_instances(1)
    _settled_on(stack, paused)
    [task] = stack.tasks("shop-web")
    assert task["taskDefinitionArn"] == v2


def test_the_control_endpoints_refuse_what_they_cannot_do(sandbox: SandboxHandle) -> None:
    session = requests.Session()
    session.trust_env = False
    base = f"{sandbox.endpoint_url}/_sandbox"
    bad_verdict = session.post(
        f"{base}/hooks", json={"function": "shop-smoke", "verdict": "MAYBE"}, timeout=10
    )
    assert bad_verdict.status_code == 400
    assert "SUCCEEDED, FAILED, IN_PROGRESS" in bad_verdict.json()["error"]
    bad_rule = session.post(f"{base}/http", json={"host": HOST, "rule": "prod"}, timeout=10)
    assert bad_rule.status_code == 400 and "listener rule ARN" in bad_rule.json()["error"]
    assert session.post(f"{base}/rules", json={}, timeout=10).status_code == 400
    session.post(f"{base}/hooks", json={"function": LAMBDA, "verdict": "FAILED"}, timeout=10)
    assert session.get(f"{base}/hooks", timeout=10).json() == {
        "verdicts": {"shop-smoke-test": "FAILED"}
    }
    session.post(f"{base}/hooks", json={"function": LAMBDA, "verdict": "SUCCEEDED"}, timeout=10)
    assert session.get(f"{base}/hooks", timeout=10).json() == {"verdicts": {}}
    # A rule ECS never changed has an empty history.
    unknown = session.post(f"{base}/rules", json={"rule": "arn:aws:x"}, timeout=10).json()
    assert unknown == {"history": []}
