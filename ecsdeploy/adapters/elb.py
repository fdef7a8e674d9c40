"""Elastic Load Balancing v2: target groups, their attributes, the listeners forwarding to
them, and the listener rules (or listeners) blue/green deployments move traffic with.

Read-only; verify uses it to know whether a service's target groups exist, how
they check health and drain, whether any listener sends traffic to them, and
what the production and test listener rules forward to.
"""

from __future__ import annotations

import threading
from typing import Any

from ecsdeploy.errors import OperationError

from .aws import AwsClients, call, error_code

NOT_FOUND = ("TargetGroupNotFound", "TargetGroupNotFoundException")
# DescribeRules / DescribeListeners by ARN: not there, or not an ARN of that kind at all.
RULE_NOT_FOUND = ("RuleNotFound", "RuleNotFoundException", "ValidationError")
LISTENER_NOT_FOUND = ("ListenerNotFound", "ListenerNotFoundException", "ValidationError")


def target_group_name(reference: str) -> str:
    """`arn:…:targetgroup/NAME/0123abcd` or a plain name -> NAME."""
    if reference.startswith("arn:") and "targetgroup/" in reference:
        return reference.split("targetgroup/", 1)[1].split("/")[0]
    return reference


class ElbAdapter:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients
        self._lock = threading.Lock()
        self._listeners: dict[str, list[dict[str, Any]]] = {}

    @property
    def _elb(self) -> Any:
        return self._clients.client("elbv2")

    def target_group(self, reference: str) -> dict[str, Any] | None:
        """DescribeTargetGroups' entry for a name or ARN; None when there is none."""
        kwargs: dict[str, Any] = (
            {"TargetGroupArns": [reference]}
            if reference.startswith("arn:")
            else {"Names": [reference]}
        )
        try:
            resp = call("elbv2:DescribeTargetGroups", self._elb.describe_target_groups, **kwargs)
        except OperationError as exc:
            if error_code(exc) in NOT_FOUND:
                return None
            raise
        groups = resp.get("TargetGroups") or []
        return dict(groups[0]) if groups else None

    def attributes(self, arn: str) -> dict[str, str]:
        resp = call(
            "elbv2:DescribeTargetGroupAttributes",
            self._elb.describe_target_group_attributes,
            TargetGroupArn=arn,
        )
        return {a["Key"]: str(a.get("Value", "")) for a in resp.get("Attributes") or []}

    def listeners(self, load_balancer_arn: str) -> list[dict[str, Any]]:
        """The load balancer's listeners (each load balancer described once)."""
        with self._lock:
            cached = self._listeners.get(load_balancer_arn)
        if cached is not None:
            return cached
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"LoadBalancerArn": load_balancer_arn}
        while True:
            resp = call("elbv2:DescribeListeners", self._elb.describe_listeners, **kwargs)
            found += resp.get("Listeners") or []
            marker = resp.get("NextMarker")
            if not marker:
                break
            kwargs["Marker"] = marker
        with self._lock:
            self._listeners[load_balancer_arn] = found
        return found

    def rule(self, arn: str) -> dict[str, Any] | None:
        """DescribeRules' entry for one listener rule ARN; None when there is none."""
        try:
            resp = call("elbv2:DescribeRules", self._elb.describe_rules, RuleArns=[arn])
        except OperationError as exc:
            if error_code(exc) in RULE_NOT_FOUND:
                return None
            raise
        rules = resp.get("Rules") or []
        return dict(rules[0]) if rules else None

    def listener(self, arn: str) -> dict[str, Any] | None:
        """DescribeListeners' entry for one listener ARN; None when there is none."""
        try:
            resp = call("elbv2:DescribeListeners", self._elb.describe_listeners, ListenerArns=[arn])
        except OperationError as exc:
            if error_code(exc) in LISTENER_NOT_FOUND:
                return None
            raise
        listeners = resp.get("Listeners") or []
        return dict(listeners[0]) if listeners else None

    def forwards(self, rule_or_listener: str) -> dict[str, int] | None:
        """Where a listener rule (an ALB's) or a listener (an NLB's) forwards now: target
        group ARN -> weight (see `forward_weights`); None when there is no such rule."""
        if ":listener-rule/" in rule_or_listener:
            rule = self.rule(rule_or_listener)
            return None if rule is None else forward_weights(rule.get("Actions") or [])
        listener = self.listener(rule_or_listener)
        return None if listener is None else forward_weights(listener.get("DefaultActions") or [])

    def rules(self, listener_arn: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"ListenerArn": listener_arn}
        while True:
            resp = call("elbv2:DescribeRules", self._elb.describe_rules, **kwargs)
            found += resp.get("Rules") or []
            marker = resp.get("NextMarker")
            if not marker:
                break
            kwargs["Marker"] = marker
        return found

    def forwarding_listeners(self, target_group: dict[str, Any]) -> tuple[str, ...]:
        """ARNs of listeners whose default action or a rule forwards to the target group."""
        arn = target_group["TargetGroupArn"]
        found: list[str] = []
        for lb_arn in target_group.get("LoadBalancerArns") or []:
            for listener in self.listeners(lb_arn):
                if _forwards(listener.get("DefaultActions") or [], arn) or any(
                    _forwards(rule.get("Actions") or [], arn)
                    for rule in self.rules(listener["ListenerArn"])
                ):
                    found.append(listener["ListenerArn"])
        return tuple(found)


def _forwards(actions: list[dict[str, Any]], target_group_arn: str) -> bool:
    for action in actions:
        if action.get("Type") != "forward":
            continue
        if action.get("TargetGroupArn") == target_group_arn:
            return True
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        if any(g.get("TargetGroupArn") == target_group_arn for g in groups):
            return True
    return False


def forward_weights(actions: list[dict[str, Any]]) -> dict[str, int]:
    """Target group ARN -> weight of the forward actions among `actions`: one target group
    (TargetGroupArn) or several with weights (ForwardConfig); a weight left out is 1, as
    Elastic Load Balancing takes it."""
    weights: dict[str, int] = {}
    for action in actions:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        for group in groups:
            weights[str(group["TargetGroupArn"])] = int(group.get("Weight", 1))
        if not groups and action.get("TargetGroupArn"):
            weights[str(action["TargetGroupArn"])] = 1
    return weights
