"""What ECS refuses about a deployment strategy, found before any AWS call.

blue_green, linear and canary move listener traffic between two target groups, so
every load balancer entry needs the second one, the listener rule and the role; the
shift and bake times are whole minutes (ECS takes `...InMinutes`), the shares
multiples of 0.1 within ECS's ranges. A `test_http` check needs a test listener rule
to go through. Sources: the ECS API reference (DeploymentConfiguration,
LinearConfiguration, CanaryConfiguration, AdvancedConfiguration,
DeploymentLifecycleHook, DeploymentLifecycleHookTimeoutConfiguration).
"""

from __future__ import annotations

from typing import Any

from ecsdeploy.errors import Problem

from .durations import format_duration, parse_duration
from .loader import KeyPath, Positions

MAX_BAKE_MINUTES = 1440  # bakeTimeInMinutes, stepBakeTimeInMinutes, canaryBakeTimeInMinutes
MAX_HOOK_MINUTES = 1440  # a Lambda hook waits 1 to 1440 minutes (a PAUSE hook up to 20160)
_SHIFTING = ("blue_green", "linear", "canary")
_ADVANCED = ("alternate_target_group", "production_listener_rule", "role")
_EXAMPLES = {
    "alternate_target_group": "shop-web-green",
    "production_listener_rule": "arn:aws:elasticloadbalancing:...:listener-rule/app/...",
    "role": "ecs-infrastructure-for-load-balancers",
}


def strategy_problems(svc: dict[str, Any], base: KeyPath, positions: Positions) -> list[Problem]:
    problems: list[Problem] = []
    dep = svc.get("deployment") if isinstance(svc.get("deployment"), dict) else {}
    assert isinstance(dep, dict)
    strategy = dep.get("strategy", "rolling")
    if not isinstance(strategy, str):
        return problems
    shifting = strategy in _SHIFTING
    where = (*base, "deployment", "strategy")

    for block in ("linear", "canary"):
        if block in dep and strategy != block:
            problems.append(
                Problem(
                    f"`deployment.{block}` with `strategy: {strategy}`: it configures the "
                    f"{block} strategy only",
                    positions.locate((*base, "deployment", block), key=True),
                    f"write `strategy: {block}`, or remove `{block}`",
                )
            )
    if "bake_time" in dep and not shifting:
        problems.append(
            Problem(
                "`deployment.bake_time` with a rolling deployment: only blue_green, linear "
                "and canary keep both revisions running after the traffic moved",
                positions.locate((*base, "deployment", "bake_time"), key=True),
                "write `strategy: blue_green` (or linear, canary), or remove `bake_time`",
            )
        )

    for path, minimum, maximum in (
        (("bake_time",), 0, MAX_BAKE_MINUTES),
        (("linear", "step_bake_time"), 0, MAX_BAKE_MINUTES),
        (("canary", "bake_time"), 0, MAX_BAKE_MINUTES),
    ):
        problems += _minutes(dep, path, minimum, maximum, (*base, "deployment"), positions)
    for path, low in ((("linear", "step_percent"), 3.0), (("canary", "percent"), 0.1)):
        value = _get(dep, path)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        if abs(value * 10 - round(value * 10)) > 1e-9 or value < low:
            problems.append(
                Problem(
                    f"`{path[-1]}: {value}`: ECS takes a multiple of 0.1 from {low:g} to 100",
                    positions.locate((*base, "deployment", *path)),
                    f"e.g. `{path[-1]}: {round(max(value, low), 1):g}`",
                )
            )

    for i, hook in enumerate(dep.get("hooks") or []):
        if isinstance(hook, dict):
            problems += _minutes(
                hook,
                ("timeout",),
                1,
                MAX_HOOK_MINUTES,
                (*base, "deployment", "hooks", i),
                positions,
            )

    if shifting and svc.get("scheduling_strategy") == "DAEMON":
        problems.append(
            Problem(
                f"`strategy: {strategy}` with `scheduling_strategy: DAEMON`: a daemon runs one "
                "task per instance and has no second set of tasks to move traffic to",
                positions.locate(where),
                "use `strategy: rolling` for a DAEMON service",
            )
        )

    entries = _entries(svc, base)
    if shifting and not entries and not isinstance(svc.get("service_connect"), dict):
        problems.append(
            Problem(
                f"`strategy: {strategy}` needs a load balancer to move traffic with",
                positions.locate(where),
                "add `load_balancers` entries with `target_group`, `alternate_target_group`, "
                "`production_listener_rule` and `role`",
            )
        )
    for at, entry in entries:
        if shifting:
            missing = [k for k in _ADVANCED if not entry.get(k)]
            if missing:
                problems.append(
                    Problem(
                        f"`strategy: {strategy}` needs {', '.join(f'`{k}`' for k in missing)} "
                        "in every load balancer entry: ECS registers the new tasks in the "
                        "alternate target group and moves the production listener rule's "
                        "traffic to it with the role",
                        positions.locate(at, key=True),
                        "e.g. " + ", ".join(f"`{k}: {_EXAMPLES[k]}`" for k in missing),
                    )
                )
            if entry.get("alternate_target_group") and entry.get(
                "alternate_target_group"
            ) == entry.get("target_group"):
                problems.append(
                    Problem(
                        "`alternate_target_group` is the entry's `target_group`: ECS needs a "
                        "second target group for the new tasks",
                        positions.locate((*at, "alternate_target_group")),
                        "create a second target group behind the same load balancer",
                    )
                )
            rules = (entry.get("production_listener_rule"), entry.get("test_listener_rule"))
            if rules[0] and rules[0] == rules[1]:
                problems.append(
                    Problem(
                        "`test_listener_rule` is the `production_listener_rule`: test traffic "
                        "would be production traffic",
                        positions.locate((*at, "test_listener_rule")),
                        "give the test listener rule (e.g. on port 8443) its own ARN",
                    )
                )
        else:
            given = [k for k in (*_ADVANCED, "test_listener_rule") if entry.get(k) is not None]
            if given:
                problems.append(
                    Problem(
                        f"{', '.join(f'`{k}`' for k in given)} with a rolling deployment: "
                        "only blue_green, linear and canary move traffic between target groups",
                        positions.locate((*at, given[0]), key=True),
                        "write `deployment.strategy: blue_green` (or linear, canary), or "
                        f"remove {'it' if len(given) == 1 else 'them'}",
                    )
                )
        checks = entry.get("checks")
        if isinstance(checks, dict) and "test_http" in checks:
            if not shifting:
                problems.append(
                    Problem(
                        "`checks.test_http` with a rolling deployment: there is no test "
                        "traffic before production traffic moves",
                        positions.locate((*at, "checks", "test_http"), key=True),
                        "write `deployment.strategy: blue_green` (or linear, canary), or "
                        "check with `checks.http`",
                    )
                )
            elif not entry.get("test_listener_rule"):
                problems.append(
                    Problem(
                        "`checks.test_http` needs `test_listener_rule`: its request goes "
                        "through the test listener, which only reaches the new revision "
                        "when ECS moves the test rule's traffic",
                        positions.locate((*at, "checks", "test_http"), key=True),
                        "add `test_listener_rule` (the ARN of the test listener's rule)",
                    )
                )
    return problems


def _entries(svc: dict[str, Any], base: KeyPath) -> list[tuple[KeyPath, dict[str, Any]]]:
    if isinstance(svc.get("load_balancer"), dict):
        return [((*base, "load_balancer"), svc["load_balancer"])]
    entries = svc.get("load_balancers")
    if not isinstance(entries, list):
        return []
    return [((*base, "load_balancers", i), e) for i, e in enumerate(entries) if isinstance(e, dict)]


def _get(d: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = d
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _minutes(
    d: dict[str, Any],
    path: tuple[str, ...],
    minimum: int,
    maximum: int,
    prefix: KeyPath,
    positions: Positions,
) -> list[Problem]:
    """A duration ECS takes in whole minutes, within [minimum, maximum] minutes."""
    value = _get(d, path)
    if value is None:
        return []
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        return [Problem(str(exc), positions.locate((*prefix, *path)))]
    name = path[-1]
    if seconds % 60:
        return [
            Problem(
                f"`{name}: {value}` is not a whole number of minutes: ECS takes minutes",
                positions.locate((*prefix, *path)),
                f"e.g. `{name}: {format_duration(max(60, round(seconds / 60) * 60))}`",
            )
        ]
    minutes = int(seconds // 60)
    if not minimum <= minutes <= maximum:
        return [
            Problem(
                f"`{name}: {value}` is out of range: ECS takes {minimum} to {maximum} "
                f"minutes ({format_duration(maximum * 60)})",
                positions.locate((*prefix, *path)),
            )
        ]
    return []


def codedeploy_problems(svc: dict[str, Any], base: KeyPath, positions: Positions) -> list[Problem]:
    """`deployment.codedeploy` against the deployment controller deploy.yaml names
    (`service_overrides.deploymentController`; the live one is checked by plan): CodeDeploy
    deploys a CODE_DEPLOY service through one target group pair, with its own traffic
    shifting, so ECS's strategies and a second load balancer entry do not apply."""
    problems: list[Problem] = []
    dep = svc.get("deployment") if isinstance(svc.get("deployment"), dict) else {}
    assert isinstance(dep, dict)
    overrides = svc.get("service_overrides")
    controller = None
    if isinstance(overrides, dict) and isinstance(overrides.get("deploymentController"), dict):
        controller = overrides["deploymentController"].get("type")
    if "codedeploy" in dep and controller not in (None, "CODE_DEPLOY"):
        problems.append(
            Problem(
                f"`deployment.codedeploy` with deployment controller {controller}: CodeDeploy "
                "deploys only a service whose deployment controller is CODE_DEPLOY",
                positions.locate((*base, "deployment", "codedeploy"), key=True),
                "remove `deployment.codedeploy`, or set `service_overrides.deploymentController"
                ".type: CODE_DEPLOY` (ECS takes it when the service is created)",
            )
        )
    if controller != "CODE_DEPLOY" and "codedeploy" not in dep:
        return problems
    strategy = dep.get("strategy", "rolling")
    if strategy != "rolling":
        problems.append(
            Problem(
                f"`strategy: {strategy}` for a CODE_DEPLOY service: its deployments are "
                "CodeDeploy's, which shift traffic as the deployment group's configuration says",
                positions.locate((*base, "deployment", "strategy")),
                "remove `strategy` (choose linear or canary shifting in the CodeDeploy "
                "deployment group, e.g. CodeDeployDefault.ECSLinear10PercentEvery1Minutes)",
            )
        )
    entries = _entries(svc, base)
    if len(entries) > 1:
        problems.append(
            Problem(
                "a CODE_DEPLOY service has one load balancer entry: CodeDeploy moves one "
                "target group pair's traffic",
                positions.locate(entries[1][0], key=True),
                "keep one entry in `load_balancers`",
            )
        )
    return problems
