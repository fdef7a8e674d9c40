"""Elastic Load Balancing target health: where a service's tasks are registered, and how."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecsdeploy.errors import OperationError

from .aws import AwsClients, call
from .elb import ElbAdapter


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
        """Target group ARN -> weight of a listener rule's (or an NLB listener's) forward
        action: where a blue/green deployment sends the traffic now. Empty when the rule
        is gone or forwards nowhere."""
        return ElbAdapter(self._clients).forwards(rule_or_listener) or {}
