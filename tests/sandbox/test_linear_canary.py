"""ECS's LINEAR and CANARY strategies on the sandbox: production traffic moves in steps."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from typing import Any

import pytest
import requests

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack, Wiring, add_blue_green, forward_weights, step_until

HOST = "shop.example.com"


@pytest.fixture
def wiring(stack: Stack) -> Wiring:
    return add_blue_green(stack)


def _latest(stack: Stack) -> dict[str, Any]:
    listed = stack.ecs.list_service_deployments(cluster="shop", service="shop-web")
    arn = listed["serviceDeployments"][0]["serviceDeploymentArn"]
    found: dict[str, Any] = stack.ecs.describe_service_deployments(serviceDeploymentArns=[arn])[
        "serviceDeployments"
    ][0]
    return found


def _answers(handle: SandboxHandle, count: int) -> Counter[str]:
    session = requests.Session()
    session.trust_env = False
    return Counter(
        session.get(f"{handle.endpoint_url}/", headers={"Host": HOST}, timeout=10).json()[
            "taskDefinition"
        ]
        for _ in range(count)
    )


def _serving_v1(stack: Stack, handle: SandboxHandle, wiring: Wiring) -> str:
    """A blue/green service on v1, steady; the target group serving production."""
    stack.create_service(
        "shop-web",
        stack.task_definition(),
        desired=2,
        deployment={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0},
        advanced=wiring.advanced(),
    )
    step_until(handle, lambda: _latest(stack)["status"] == "SUCCESSFUL")
    handle.control.http_route(HOST, "shop", "shop-web")  # follows the production rule
    return str(stack.service("shop-web")["loadBalancers"][0]["targetGroupArn"])


def _release(stack: Stack, config: dict[str, Any]) -> None:
    stack.ecs.update_service(
        cluster="shop",
        service="shop-web",
        taskDefinition=stack.task_definition(image="shop/web:2"),
        deploymentConfiguration=config,
    )


def test_linear_moves_production_in_equal_steps_with_a_bake_between(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    blue = _serving_v1(stack, paused, wiring)
    green = wiring.green if blue == wiring.blue else wiring.blue
    before = len(paused.control.rule_history(wiring.production_rule))
    _release(
        stack,
        {
            "strategy": "LINEAR",
            "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 1},
            "bakeTimeInMinutes": 2,
        },
    )
    step_until(paused, lambda: forward_weights(stack, wiring.production_rule)[green] == 25)
    assert _latest(stack)["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT"
    # A quarter of the requests reach the new revision, in a steady rhythm.
    assert _answers(paused, 8) == {"shop-web:1": 6, "shop-web:2": 2}
    step_until(paused, lambda: _latest(stack)["status"] == "SUCCESSFUL")
    history = paused.control.rule_history(wiring.production_rule)[before:]
    assert [h["weights"][green] for h in history] == [25, 50, 75, 100]
    assert [h["weights"][blue] for h in history] == [75, 50, 25, 0]
    times = [h["time"] for h in history]
    assert [round(b - a) for a, b in pairwise(times)] == [60, 60, 60]
    assert all(h["stage"] == "PRODUCTION_TRAFFIC_SHIFT" for h in history)


def test_a_pause_before_each_production_step_gets_a_hook_of_its_own(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    blue = _serving_v1(stack, paused, wiring)
    green = wiring.green if blue == wiring.blue else wiring.blue
    _release(
        stack,
        {
            "strategy": "LINEAR",
            "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 0},
            "lifecycleHooks": [
                {"targetType": "PAUSE", "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"]}
            ],
        },
    )
    shares: list[int] = []
    hook_ids: list[str] = []
    for _ in range(2):
        step_until(
            paused,
            lambda: any(
                h["status"] == "AWAITING_ACTION"
                for h in _latest(stack).get("lifecycleHookDetails", [])
            ),
        )
        waiting = _latest(stack)
        assert waiting["lifecycleStage"] == "PRE_PRODUCTION_TRAFFIC_SHIFT"
        shares.append(forward_weights(stack, wiring.production_rule)[green])
        hook = waiting["lifecycleHookDetails"][-1]
        hook_ids.append(hook["hookId"])
        stack.ecs.continue_service_deployment(
            serviceDeploymentArn=waiting["serviceDeploymentArn"], hookId=hook["hookId"]
        )
    assert shares == [0, 50]
    assert len(set(hook_ids)) == 2
    step_until(paused, lambda: _latest(stack)["status"] == "SUCCESSFUL")
    assert [h["status"] for h in _latest(stack)["lifecycleHookDetails"]] == ["SUCCEEDED"] * 2


def test_canary_moves_its_share_then_the_rest_after_the_canary_bake(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    blue = _serving_v1(stack, paused, wiring)
    green = wiring.green if blue == wiring.blue else wiring.blue
    before = len(paused.control.rule_history(wiring.production_rule))
    _release(
        stack,
        {
            "strategy": "CANARY",
            "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3},
            "bakeTimeInMinutes": 0,
        },
    )
    step_until(paused, lambda: forward_weights(stack, wiring.production_rule)[green] == 10)
    assert _answers(paused, 20) == {"shop-web:1": 18, "shop-web:2": 2}
    step_until(paused, lambda: _latest(stack)["status"] == "SUCCESSFUL")
    history = paused.control.rule_history(wiring.production_rule)[before:]
    assert [(h["weights"][blue], h["weights"][green]) for h in history] == [(90, 10), (0, 100)]
    assert round(history[1]["time"] - history[0]["time"]) == 180
    assert _answers(paused, 4) == {"shop-web:2": 4}


def test_a_share_in_tenths_is_written_in_tenths(
    paused: SandboxHandle, stack: Stack, wiring: Wiring
) -> None:
    blue = _serving_v1(stack, paused, wiring)
    green = wiring.green if blue == wiring.blue else wiring.blue
    _release(
        stack,
        {
            "strategy": "CANARY",
            "canaryConfiguration": {"canaryPercent": 2.5, "canaryBakeTimeInMinutes": 1},
            "bakeTimeInMinutes": 0,
        },
    )
    step_until(paused, lambda: forward_weights(stack, wiring.production_rule)[green] > 0)
    assert forward_weights(stack, wiring.production_rule) == {blue: 975, green: 25}
