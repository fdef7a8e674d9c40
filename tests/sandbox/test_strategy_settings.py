"""Deployment strategies in CreateService/UpdateService: what ECS refuses, and what it reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack, Wiring, add_blue_green


@pytest.fixture
def wiring(stack: Stack) -> Wiring:
    return add_blue_green(stack)


def _refusal(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def _pause(stage: str) -> dict[str, Any]:
    return {"targetType": "PAUSE", "lifecycleStages": [stage]}


LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:shop-check"

# (deploymentConfiguration additions, advancedConfiguration changes or None for the
# wiring's own, the message ECS answers with).
REFUSED: list[tuple[str, dict[str, Any], dict[str, Any] | None, str]] = [
    (
        "bake time missing",
        {"bakeTimeInMinutes": None},
        None,
        "bakeTimeInMinutes is required when the deployment strategy is BLUE_GREEN.",
    ),
    (
        "bake time too long",
        {"bakeTimeInMinutes": 1441},
        None,
        "bakeTimeInMinutes must be between 0 and 1440.",
    ),
    (
        "pause at test traffic shift",
        {"lifecycleHooks": [_pause("TEST_TRAFFIC_SHIFT")]},
        None,
        "Invalid lifecycle stage provided for Pause Hook",
    ),
    (
        "pause at production traffic shift",
        {"lifecycleHooks": [_pause("PRODUCTION_TRAFFIC_SHIFT")]},
        None,
        "Invalid lifecycle stage provided for Pause Hook",
    ),
    (
        "lambda without target",
        {"lifecycleHooks": [{"targetType": "AWS_LAMBDA", "lifecycleStages": ["PRE_SCALE_UP"]}]},
        None,
        "hookTargetArn is required for an AWS_LAMBDA lifecycle hook.",
    ),
    (
        "unknown target type",
        {"lifecycleHooks": [{"targetType": "SNS", "lifecycleStages": ["PRE_SCALE_UP"]}]},
        None,
        "Invalid targetType. Valid values are: AWS_LAMBDA, PAUSE",
    ),
    (
        "lambda timeout over a day",
        {
            "lifecycleHooks": [
                {
                    "hookTargetArn": LAMBDA,
                    "lifecycleStages": ["PRE_SCALE_UP"],
                    "timeoutConfiguration": {"timeoutInMinutes": 1441},
                }
            ]
        },
        None,
        "timeoutInMinutes of a AWS_LAMBDA lifecycle hook must be between 1 and 1440.",
    ),
    (
        "linear configuration with blue/green",
        {"linearConfiguration": {"stepPercent": 20.0}},
        None,
        "linearConfiguration is only valid when the deployment strategy is LINEAR.",
    ),
    (
        "canary configuration with blue/green",
        {"canaryConfiguration": {"canaryPercent": 20.0}},
        None,
        "canaryConfiguration is only valid when the deployment strategy is CANARY.",
    ),
    (
        "linear step too small",
        {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2.5}},
        None,
        "stepPercent must be a multiple of 0.1 from 3 to 100.",
    ),
    (
        "canary share not a tenth",
        {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 5.05}},
        None,
        "canaryPercent must be a multiple of 0.1 from 0.1 to 100.",
    ),
    (
        "unknown strategy",
        {"strategy": "RED_BLACK"},
        None,
        "Invalid strategy RED_BLACK. Valid values are: ROLLING, BLUE_GREEN, LINEAR, CANARY",
    ),
    (
        "no advanced configuration",
        {},
        {},
        "advancedConfiguration field is required for all loadBalancers when using a non-ROLLING "
        "deployment strategy",
    ),
    (
        "alternate is the primary",
        {},
        {"alternateTargetGroupArn": "<blue>"},
        "Duplicate targetGroupArn found: <blue>",
    ),
    (
        "alternate not found",
        {},
        {"alternateTargetGroupArn": "<gone>"},
        "alternateTargetGroupArn <gone> was not found.",
    ),
    (
        "same rule twice",
        {},
        {"testListenerRule": "<production>"},
        "The following rules cannot be used as both production and test listener rules: "
        "<production>",
    ),
    (
        "a listener instead of its rule",
        {},
        {"productionListenerRule": "<listener>"},
        "productionListenerRule has an invalid ARN format. Must be RuleArn for ALB or "
        "ListenerArn for NLB. Got: <listener>",
    ),
    (
        "no test rule while production forwards to one group",
        {},
        {"productionListenerRule": "<test>", "testListenerRule": None},
        "For Application LoadBalancer, testListenerRule is required when productionListenerRule "
        "is not associated with both targetGroup and alternateTargetGroup",
    ),
    (
        "no role",
        {},
        {"roleArn": None},
        "roleArn is required in advancedConfiguration.",
    ),
]


@pytest.mark.parametrize(
    ("config", "advanced", "message"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_create_service_refuses_what_ecs_refuses(
    paused: SandboxHandle,
    stack: Stack,
    wiring: Wiring,
    config: dict[str, Any],
    advanced: dict[str, Any] | None,
    message: str,
) -> None:
    names = {
        "<blue>": wiring.blue,
        "<gone>": wiring.green.replace("shop-green", "shop-gone"),
        "<production>": wiring.production_rule,
        "<test>": wiring.test_rule,
        "<listener>": wiring.production_rule.replace(":listener-rule/", ":listener/").rsplit(
            "/", 1
        )[0],
    }
    for key, value in names.items():
        message = message.replace(key, value)
    deployment: dict[str, Any] = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5} | config
    deployment = {k: v for k, v in deployment.items() if v is not None}
    adv: dict[str, Any] = wiring.advanced()
    if advanced is not None:
        adv = adv | {k: names.get(v, v) for k, v in advanced.items()}
        adv = {k: v for k, v in adv.items() if v is not None}
    code, said = _refusal(
        lambda: stack.create_service(
            "shop-web",
            stack.task_definition(),
            desired=1,
            deployment=deployment,
            advanced=adv if advanced != {} else None,
        )
    )
    assert (code, said) == ("InvalidParameterException", message)
    # Refused before anything was created.
    assert stack.ecs.list_services(cluster="shop")["serviceArns"] == []


def test_update_service_checks_the_strategy_against_the_service(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    stack.create_service("shop-web", stack.task_definition(), desired=1)
    paused.control.settle()

    def update(**params: Any) -> Any:
        return stack.ecs.update_service(cluster="shop", service="shop-web", **params)

    # A rolling service without advancedConfiguration cannot simply turn blue/green.
    assert _refusal(
        lambda: update(deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5})
    ) == (
        "InvalidParameterException",
        "advancedConfiguration field is required for all loadBalancers when using a non-ROLLING "
        "deployment strategy",
    )
    # Either all load balancers have advancedConfiguration or none.
    plain = {"targetGroupArn": wiring.blue, "containerName": "web", "containerPort": 8080}
    assert _refusal(
        lambda: update(
            loadBalancers=[plain | {"advancedConfiguration": wiring.advanced()}, plain],
        )
    ) == (
        "InvalidParameterException",
        "Either all or none of the provided loadBalancers must have advancedConfiguration defined",
    )
    # With it, it can: the change of load balancers starts a deployment, blue/green.
    update(
        deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0},
        loadBalancers=[plain | {"advancedConfiguration": wiring.advanced()}],
    )
    assert paused.control.settle()
    assert stack.service("shop-web")["loadBalancers"][0]["targetGroupArn"] == wiring.green
    # Strategy settings of another strategy are refused on update too.
    assert _refusal(
        lambda: update(deploymentConfiguration={"canaryConfiguration": {"canaryPercent": 10.0}})
    )[1] == ("canaryConfiguration is only valid when the deployment strategy is CANARY.")


def test_describe_services_reports_the_strategy_with_ecs_defaults(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    created = stack.create_service(
        "shop-web",
        stack.task_definition(),
        desired=1,
        deployment={
            "strategy": "LINEAR",
            "lifecycleHooks": [_pause("POST_TEST_TRAFFIC_SHIFT")],
        },
        advanced=wiring.advanced(),
    )
    config = created["deploymentConfiguration"]
    assert config["strategy"] == "LINEAR"
    assert config["linearConfiguration"] == {"stepPercent": 10.0, "stepBakeTimeInMinutes": 6}
    assert "bakeTimeInMinutes" not in config
    assert config["lifecycleHooks"] == [
        _pause("POST_TEST_TRAFFIC_SHIFT")
        | {"timeoutConfiguration": {"timeoutInMinutes": 1440, "action": "ROLLBACK"}}
    ]
    stack.ecs.update_service(
        cluster="shop",
        service="shop-web",
        deploymentConfiguration={
            "strategy": "CANARY",
            "canaryConfiguration": {"canaryPercent": 20},
        },
    )
    config = stack.service("shop-web")["deploymentConfiguration"]
    assert config["strategy"] == "CANARY"
    assert config["canaryConfiguration"] == {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 10}
    assert "linearConfiguration" not in config
    # The hooks stay until an update sends others.
    assert len(config["lifecycleHooks"]) == 1
    stack.ecs.update_service(
        cluster="shop", service="shop-web", deploymentConfiguration={"lifecycleHooks": []}
    )
    assert stack.service("shop-web")["deploymentConfiguration"]["lifecycleHooks"] == []
    # A rolling service created without a strategy reports none, as before.
    rolling = stack.create_service("shop-api", stack.task_definition("shop-api"), desired=1)
    assert "strategy" not in rolling["deploymentConfiguration"]
