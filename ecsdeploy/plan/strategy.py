"""ECS's deployment strategies in the API's shape: what deploy.yaml asks, what the live
service has, compared in one normal form. Pure: names become ARNs from the account
and Region the live state shows, nothing is looked up here.

blue_green, linear and canary are ECS's own (deploymentConfiguration.strategy): ECS
moves listener traffic from the target group serving production to the alternate one.
Which of the two serves production changes with every deployment, so an entry's pair
of target groups is compared as a pair, in either order.

`checks.test_http` becomes a PAUSE lifecycle hook after the test traffic shift: ECS
holds the deployment there until apply, having checked the new revision through the
test listener, answers CONTINUE (or ROLLBACK). ecsdeploy owns the PAUSE hook at that
stage: it adds it while a `test_http` check exists and removes it when none does. So
that a deployment started elsewhere (the console, another tool) never waits long for
an answer nobody gives, the hook times out within minutes with ROLLBACK: such a
deployment is rolled back unless someone answers it (the console's Continue button,
or `aws ecs continue-service-deployment`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ecsdeploy.config.model import HttpCheck, LifecycleHook, Service

# ECS's defaults for what DescribeServices may leave out (API reference).
HOOK_TIMEOUT_MINUTES = 1440
HOOK_TIMEOUT_ACTION = "ROLLBACK"
PAUSE_STAGE = "POST_TEST_TRAFFIC_SHIFT"
# Minutes ECS holds a deployment at ecsdeploy's pause hook beyond what the checks take:
# time for apply to see the pause (its polls, a slow or retried connection).
PAUSE_MARGIN_MINUTES = 15

_STRATEGIES = {
    "rolling": "ROLLING",
    "blue_green": "BLUE_GREEN",
    "linear": "LINEAR",
    "canary": "CANARY",
}


def api_strategy(service: Service) -> str:
    return _STRATEGIES[service.deployment.strategy]


def ecs_controlled(service: Service, live: Mapping[str, Any] | None = None) -> bool:
    """Whether ECS deploys the service itself (deploymentController ECS, the default):
    CODE_DEPLOY and EXTERNAL services take no deployment strategy."""
    wanted = service.service_overrides.get("deploymentController")
    kind = (wanted or (live or {}).get("deploymentController") or {}).get("type", "ECS")
    return bool(kind == "ECS")


class ArnBase:
    """The partition, Region and account of the service's cluster, for ARNs of names."""

    def __init__(self, some_arn: str | None) -> None:
        parts = (some_arn or "").split(":")
        self.known = len(parts) >= 5 and parts[0] == "arn"
        self.partition = parts[1] if self.known else "aws"
        self.region = parts[3] if self.known else ""
        self.account = parts[4] if self.known else ""

    def role(self, name: str) -> str:
        if name.startswith("arn:") or not self.known:
            return name
        return f"arn:{self.partition}:iam::{self.account}:role/{name}"

    def function(self, name: str) -> str:
        if name.startswith("arn:") or not self.known:
            return name
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{name}"


def pause_minutes(checks: list[HttpCheck]) -> int:
    """How long ECS holds a deployment for the test checks: what they may take, rounded
    up to minutes, plus a margin."""
    seconds = sum(c.attempts * (c.interval + c.timeout) for c in checks)
    return max(1, math.ceil(seconds / 60)) + PAUSE_MARGIN_MINUTES


def test_checks(service: Service) -> list[HttpCheck]:
    return [lb.checks.test_http for lb in service.load_balancers if lb.checks.test_http]


def own_pause_hook(service: Service) -> dict[str, Any] | None:
    """The PAUSE hook apply answers after checking the test listener, if any check."""
    checks = test_checks(service)
    if not checks or not service.deployment.traffic_shifting:
        return None
    return {
        "targetType": "PAUSE",
        "lifecycleStages": [PAUSE_STAGE],
        "timeoutConfiguration": {
            "timeoutInMinutes": pause_minutes(checks),
            "action": "ROLLBACK",
        },
    }


def is_own_pause(hook: Mapping[str, Any]) -> bool:
    """ecsdeploy's PAUSE hook: a PAUSE hook at the stage after the test traffic shift."""
    return hook.get("targetType") == "PAUSE" and list(hook.get("lifecycleStages") or []) == [
        PAUSE_STAGE
    ]


def _lambda_hook(hook: LifecycleHook, base: ArnBase) -> dict[str, Any]:
    out: dict[str, Any] = {
        "targetType": "AWS_LAMBDA",
        "hookTargetArn": base.function(hook.function),
        "roleArn": base.role(hook.role),
        "lifecycleStages": list(hook.stages),
    }
    if hook.timeout is not None or hook.on_timeout != "rollback":
        out["timeoutConfiguration"] = {
            "timeoutInMinutes": int((hook.timeout or HOOK_TIMEOUT_MINUTES * 60) // 60),
            "action": hook.on_timeout.upper(),
        }
    if hook.details is not None:
        out["hookDetails"] = dict(hook.details)
    return out


def desired_hooks(
    service: Service, live: Mapping[str, Any] | None, base: ArnBase
) -> list[dict[str, Any]] | None:
    """deploymentConfiguration.lifecycleHooks as apply sends them; None: not sent (no
    hook wanted and none live). Without `deployment.hooks` the live hooks stay, except
    ecsdeploy's own pause hook, which follows the `test_http` checks."""
    live_hooks = [
        h
        for h in ((live or {}).get("deploymentConfiguration") or {}).get("lifecycleHooks") or []
        if isinstance(h, Mapping)
    ]
    hooks = service.deployment.hooks
    if hooks is None:
        wanted = [dict(h) for h in live_hooks if not is_own_pause(h)]
    else:
        wanted = [_lambda_hook(h, base) for h in hooks]
    own = own_pause_hook(service)
    if own is not None:
        wanted.append(own)
    if not wanted and not live_hooks:
        return None
    return wanted


def comparable_hooks(hooks: Any) -> list[dict[str, Any]]:
    """Lifecycle hooks with ECS's defaults filled in, stages and hooks in one order."""
    out = []
    for h in hooks or []:
        if not isinstance(h, Mapping):
            continue
        timeout = h.get("timeoutConfiguration") or {}
        item: dict[str, Any] = {
            "targetType": h.get("targetType") or "AWS_LAMBDA",
            "lifecycleStages": sorted(str(s) for s in h.get("lifecycleStages") or []),
            "timeoutInMinutes": timeout.get("timeoutInMinutes") or HOOK_TIMEOUT_MINUTES,
            "timeoutAction": timeout.get("action") or HOOK_TIMEOUT_ACTION,
        }
        for key in ("hookTargetArn", "roleArn", "hookDetails"):
            if h.get(key) is not None and item["targetType"] != "PAUSE":
                item[key] = h[key]
        out.append(item)
    return sorted(out, key=lambda i: json.dumps(i, sort_keys=True, default=str))


def hook_text(hook: Mapping[str, Any]) -> str:
    """`post_scale_up: Lambda smoke-test (24h, then rollback)`: one hook, for people."""
    stages = ", ".join(s.lower() for s in hook.get("lifecycleStages") or [])
    minutes = hook.get("timeoutInMinutes", HOOK_TIMEOUT_MINUTES)
    action = str(hook.get("timeoutAction", HOOK_TIMEOUT_ACTION)).lower()
    if hook.get("targetType") == "PAUSE":
        what = "pause"
    else:
        what = "Lambda " + str(hook.get("hookTargetArn", "")).rsplit(":", 1)[-1]
    return f"{stages}: {what} ({minutes}m, then {action})"


def strategy_request(service: Service) -> dict[str, Any]:
    """deploymentConfiguration's strategy fields deploy.yaml sets, in the
    CreateService/UpdateService shape (the planner compares them dotted)."""
    dep = service.deployment
    out: dict[str, Any] = {"strategy": api_strategy(service)}
    if dep.bake_time is not None:
        out["bakeTimeInMinutes"] = int(dep.bake_time // 60)
    if dep.linear is not None:
        out["linearConfiguration"] = {
            "stepPercent": float(dep.linear.step_percent),
            "stepBakeTimeInMinutes": int(dep.linear.step_bake_time // 60),
        }
    if dep.canary is not None:
        out["canaryConfiguration"] = {
            "canaryPercent": float(dep.canary.percent),
            "canaryBakeTimeInMinutes": int(dep.canary.bake_time // 60),
        }
    return out


def live_strategy_value(deployment_configuration: Mapping[str, Any], field: str) -> object:
    """A strategy field of DescribeServices' deploymentConfiguration (`strategy`,
    `linearConfiguration.stepPercent`), with ECS's ROLLING when absent; numbers as the
    planner writes them."""
    value: Any = deployment_configuration
    for part in field.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if field == "strategy":
        return value or "ROLLING"
    if field.endswith("Percent") and isinstance(value, int | float):
        return float(value)
    return value


def stages(service: Service) -> tuple[str, ...]:
    """The lifecycle stages a deployment of the service goes through, for the plan."""
    dep = service.deployment
    if not dep.traffic_shifting:
        return ()
    test = any(lb.test_listener_rule for lb in service.load_balancers)
    out = ["scale up the new revision to the full count in the alternate target group"]
    if test:
        out.append("test traffic to the new revision")
    checks = test_checks(service)
    if checks:
        out.append(
            "pause: GET " + ", ".join(c.url for c in checks) + " through the test listener, "
            "then continue (or roll back)"
        )
    for hook in dep.hooks or ():
        names = ", ".join(s.lower() for s in hook.stages)
        out.append(f"Lambda {hook.function.rsplit(':', 1)[-1]} at {names}")
    if dep.strategy == "blue_green":
        out.append("all production traffic at once")
    elif dep.linear is not None:
        steps = math.ceil(100 / dep.linear.step_percent - 1e-9)
        out.append(
            f"production traffic in {steps} steps of {dep.linear.step_percent:g}%, "
            f"{_minutes(dep.linear.step_bake_time)} apart"
        )
    elif dep.canary is not None:
        out.append(
            f"{dep.canary.percent:g}% of production traffic, the rest after "
            f"{_minutes(dep.canary.bake_time)}"
        )
    out.append(f"bake {_minutes(dep.bake_time or 0)} with both revisions running")
    out.append("stop the old revision's tasks")
    return tuple(out)


def shift_bake(service: Service) -> float:
    """Seconds the production traffic shift waits by design: between linear steps (none
    after the last), or the canary's bake."""
    dep = service.deployment
    if dep.linear is not None:
        steps = math.ceil(100 / dep.linear.step_percent - 1e-9)
        return max(0, steps - 1) * dep.linear.step_bake_time
    if dep.canary is not None:
        return dep.canary.bake_time
    return 0.0


def _minutes(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
