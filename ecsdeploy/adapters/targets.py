"""Elastic Load Balancing target health: where a service's tasks are registered, and how."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecsdeploy.errors import OperationError

from .aws import AwsClients, call


@dataclass(frozen=True)
class TargetState:
    id: str  # an EC2 instance id (bridge/host) or an IP address (awsvpc)
    port: int
    state: str  # initial, healthy, unhealthy, draining, unused, unavailable
    reason: str | None = None
    description: str | None = None


class Targets:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients
        self._arns: dict[str, str] = {}

    def arn(self, name_or_arn: str) -> str:
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        if name_or_arn not in self._arns:
            resp = call(
                f"elbv2:DescribeTargetGroups {name_or_arn}",
                self._clients.client("elbv2").describe_target_groups,
                Names=[name_or_arn],
            )
            groups = resp.get("TargetGroups") or []
            if not groups:
                raise OperationError(f"target group {name_or_arn} does not exist")
            self._arns[name_or_arn] = groups[0]["TargetGroupArn"]
        return self._arns[name_or_arn]

    def health(self, target_group: str) -> list[TargetState]:
        resp: dict[str, Any] = call(
            "elbv2:DescribeTargetHealth",
            self._clients.client("elbv2").describe_target_health,
            TargetGroupArn=self.arn(target_group),
        )
        return [
            TargetState(
                id=d["Target"]["Id"],
                port=int(d["Target"].get("Port") or 0),
                state=d["TargetHealth"]["State"],
                reason=d["TargetHealth"].get("Reason"),
                description=d["TargetHealth"].get("Description"),
            )
            for d in resp.get("TargetHealthDescriptions", [])
        ]

    def forward_weights(self, rule_or_listener: str) -> dict[str, int]:
        """Target group ARN -> weight of the forward action of a listener rule (an ALB's)
        or a listener (an NLB's): where a blue/green deployment sends the traffic now.
        Empty when the rule forwards nowhere it can tell."""
        elb = self._clients.client("elbv2")
        if ":listener-rule/" in rule_or_listener:
            resp = call("elbv2:DescribeRules", elb.describe_rules, RuleArns=[rule_or_listener])
            found = resp.get("Rules") or []
            actions = found[0].get("Actions") if found else []
        else:
            resp = call(
                "elbv2:DescribeListeners", elb.describe_listeners, ListenerArns=[rule_or_listener]
            )
            found = resp.get("Listeners") or []
            actions = found[0].get("DefaultActions") if found else []
        weights: dict[str, int] = {}
        for action in actions or []:
            if action.get("Type") != "forward":
                continue
            groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
            if groups:
                for g in groups:
                    weights[str(g["TargetGroupArn"])] = int(g.get("Weight", 1))
            elif action.get("TargetGroupArn"):
                weights[str(action["TargetGroupArn"])] = 1
        return weights
