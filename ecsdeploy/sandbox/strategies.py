"""What CreateService and UpdateService refuse about a deployment strategy, in ECS's words.

The strategy (ROLLING, BLUE_GREEN, LINEAR, CANARY), bakeTimeInMinutes,
linearConfiguration, canaryConfiguration, lifecycleHooks and each load balancer's
advancedConfiguration, checked as ECS checks them before it accepts a call: an
InvalidParameterException with a message. Where the ECS developer guide
("Troubleshooting Amazon ECS blue/green deployments") quotes ECS's message, that
is the wording; where ECS documents the rule (the API reference's ranges and
"must provide") but not its message, the wording is the sandbox's own, marked
`# own wording`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecsdeploy.sandbox.backends import ForwardingRule
from ecsdeploy.sandbox.model import (
    HOOK_STAGES,
    NO_PAUSE_STAGES,
    STRATEGIES,
    AdvancedConfig,
    DeploymentConfig,
    LoadBalancerBinding,
)

MAX_BAKE_MINUTES = 1440  # bakeTimeInMinutes, stepBakeTimeInMinutes, canaryBakeTimeInMinutes
MAX_LAMBDA_HOOK_MINUTES = 1440  # the ECS developer guide, Lambda hooks
MAX_PAUSE_HOOK_MINUTES = 20160  # the ECS developer guide, pause hooks (14 days)
MAX_HOOKS_PER_TYPE = 10  # pause hooks and Lambda hooks, each, per service

RuleLookup = Callable[[str], ForwardingRule | None]
TargetGroupLookup = Callable[[str], bool]


def advanced_from_api(raw: Any) -> AdvancedConfig | None:
    if not isinstance(raw, dict):
        return None
    return AdvancedConfig(
        alternate_target_group_arn=str(raw.get("alternateTargetGroupArn") or ""),
        production_listener_rule=_str_or_none(raw.get("productionListenerRule")),
        test_listener_rule=_str_or_none(raw.get("testListenerRule")),
        role_arn=_str_or_none(raw.get("roleArn")),
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def refusal(
    params: dict[str, Any],
    *,
    current: DeploymentConfig,
    bindings: tuple[LoadBalancerBinding, ...],
    daemon: bool,
    controller: str,
    rule: RuleLookup,
    target_group_exists: TargetGroupLookup,
) -> str | None:
    """Why ECS refuses the call (InvalidParameterException's message), or None.

    `current` is the service's deployment configuration before the call (ECS's defaults
    for CreateService), `bindings` its load balancers after it.
    """
    raw = params.get("deploymentConfiguration") or {}
    if not isinstance(raw, dict):
        return None
    sent = raw.get("strategy")
    if sent is not None and sent not in STRATEGIES:
        # own wording
        return f"Invalid strategy {sent}. Valid values are: {', '.join(STRATEGIES)}"
    why = _numbers(raw)
    if why is not None:
        return why
    cfg = current.merged(raw)
    strategy = cfg.effective_strategy
    for key, needs in (("linearConfiguration", "LINEAR"), ("canaryConfiguration", "CANARY")):
        if key in raw and strategy != needs:
            # own wording; the API reference: "Only valid when the deployment strategy is ..."
            return f"{key} is only valid when the deployment strategy is {needs}."
    if cfg.shifting:
        if controller != "ECS":
            # own wording
            return (
                f"The {strategy} deployment strategy is only supported with the ECS "
                "deployment controller."
            )
        if daemon:
            # own wording
            return (
                f"The {strategy} deployment strategy is not supported for services using "
                "the DAEMON scheduling strategy."
            )
        if strategy == "BLUE_GREEN" and cfg.bake_time is None:
            # own wording; the API reference: "You must provide this parameter when you use
            # the BLUE_GREEN deployment strategy."
            return "bakeTimeInMinutes is required when the deployment strategy is BLUE_GREEN."
    if "lifecycleHooks" in raw:
        why = _hooks(raw.get("lifecycleHooks"))
        if why is not None:
            return why
    return _load_balancers(
        params.get("loadBalancers"), bindings, cfg.shifting, rule, target_group_exists
    )


def _numbers(raw: dict[str, Any]) -> str | None:
    bake = raw.get("bakeTimeInMinutes")
    if bake is not None and not 0 <= int(bake) <= MAX_BAKE_MINUTES:
        return f"bakeTimeInMinutes must be between 0 and {MAX_BAKE_MINUTES}."  # own wording
    for key, percent_name, minutes_name, low in (
        ("linearConfiguration", "stepPercent", "stepBakeTimeInMinutes", 3.0),
        ("canaryConfiguration", "canaryPercent", "canaryBakeTimeInMinutes", 0.1),
    ):
        block = raw.get(key)
        if not isinstance(block, dict):
            continue
        percent = block.get(percent_name)
        if percent is not None:
            value = float(percent)
            if abs(value * 10 - round(value * 10)) > 1e-9 or not low <= value <= 100.0:
                # own wording; the API reference gives the range
                return f"{percent_name} must be a multiple of 0.1 from {low:g} to 100."
        minutes = block.get(minutes_name)
        if minutes is not None and not 0 <= int(minutes) <= MAX_BAKE_MINUTES:
            return f"{minutes_name} must be between 0 and {MAX_BAKE_MINUTES}."  # own wording
    return None


def _hooks(raw: Any) -> str | None:
    counts = {"AWS_LAMBDA": 0, "PAUSE": 0}
    for hook in raw or []:
        if not isinstance(hook, dict):
            continue
        kind = hook.get("targetType") or "AWS_LAMBDA"
        if kind not in counts:
            return "Invalid targetType. Valid values are: AWS_LAMBDA, PAUSE"
        counts[kind] += 1
        stages = hook.get("lifecycleStages") or []
        if not stages:
            return "lifecycleStages is required for a lifecycle hook."  # own wording
        for stage in stages:
            if stage not in HOOK_STAGES:
                # own wording
                return (
                    f"Invalid lifecycle stage {stage}. Valid values are: {', '.join(HOOK_STAGES)}"
                )
            if kind == "PAUSE" and stage in NO_PAUSE_STAGES:
                return "Invalid lifecycle stage provided for Pause Hook"
        if kind == "AWS_LAMBDA" and not hook.get("hookTargetArn"):
            # own wording; the API reference: "You must provide this parameter when
            # configuring an AWS_LAMBDA lifecycle hook."
            return "hookTargetArn is required for an AWS_LAMBDA lifecycle hook."
        timeout = hook.get("timeoutConfiguration") or {}
        minutes = timeout.get("timeoutInMinutes")
        most = MAX_PAUSE_HOOK_MINUTES if kind == "PAUSE" else MAX_LAMBDA_HOOK_MINUTES
        if minutes is not None and not 1 <= int(minutes) <= most:
            # own wording
            return f"timeoutInMinutes of a {kind} lifecycle hook must be between 1 and {most}."
        action = timeout.get("action")
        if action is not None and action not in ("ROLLBACK", "CONTINUE"):
            # own wording
            return f"Invalid timeout action {action}. Valid values are: ROLLBACK, CONTINUE"
    for kind, count in counts.items():
        if count > MAX_HOOKS_PER_TYPE:
            # own wording
            return f"A service can have at most {MAX_HOOKS_PER_TYPE} {kind} lifecycle hooks."
    return None


def _load_balancers(
    raw: Any,
    bindings: tuple[LoadBalancerBinding, ...],
    shifting: bool,
    rule: RuleLookup,
    target_group_exists: TargetGroupLookup,
) -> str | None:
    if isinstance(raw, list):
        advanced = [isinstance(lb, dict) and "advancedConfiguration" in lb for lb in raw]
        if any(advanced) and not all(advanced):
            return (
                "Either all or none of the provided loadBalancers must have "
                "advancedConfiguration defined"
            )
    if shifting and any(lb.advanced is None for lb in bindings):
        return (
            "advancedConfiguration field is required for all loadBalancers when using a "
            "non-ROLLING deployment strategy"
        )
    seen: set[str] = set()
    for lb in bindings:
        adv = lb.advanced
        if adv is None:
            continue
        if not adv.alternate_target_group_arn:
            return "alternateTargetGroupArn is required in advancedConfiguration."  # own
        for tg in (lb.target_group_arn, adv.alternate_target_group_arn):
            if tg in seen:
                return f"Duplicate targetGroupArn found: {tg}"
            seen.add(tg)
        if not target_group_exists(adv.alternate_target_group_arn):
            # own wording
            return f"alternateTargetGroupArn {adv.alternate_target_group_arn} was not found."
        if not adv.production_listener_rule:
            return "productionListenerRule is required in advancedConfiguration."  # own
        if not adv.role_arn:
            return "roleArn is required in advancedConfiguration."  # own wording
        if adv.production_listener_rule == adv.test_listener_rule:
            return (
                "The following rules cannot be used as both production and test listener "
                f"rules: {adv.production_listener_rule}"
            )
        found: dict[str, ForwardingRule] = {}
        for name, arn in (
            ("productionListenerRule", adv.production_listener_rule),
            ("testListenerRule", adv.test_listener_rule),
        ):
            if arn is None:
                continue
            info = rule(arn)
            if info is None:
                return f"{name} {arn} was not found."  # own wording
            if info.listener != (info.load_balancer_type == "network"):
                return (
                    f"{name} has an invalid ARN format. Must be RuleArn for ALB or "
                    f"ListenerArn for NLB. Got: {arn}"
                )
            found[name] = info
        production = found["productionListenerRule"]
        both = {lb.target_group_arn, adv.alternate_target_group_arn}
        if (
            production.load_balancer_type == "application"
            and adv.test_listener_rule is None
            and not both <= {tg for tg, _ in production.forward}
        ):
            return (
                "For Application LoadBalancer, testListenerRule is required when "
                "productionListenerRule is not associated with both targetGroup and "
                "alternateTargetGroup"
            )
    return None
