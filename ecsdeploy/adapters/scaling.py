"""Application Auto Scaling for an ECS service's desired count: its scalable target,
target-tracking policies and scheduled actions, read and written.

An ECS service is the resource `service/<cluster>/<service>` in the `ecs` namespace,
dimension `ecs:service:DesiredCount`. Reads are batched where the API allows it
(DescribeScalableTargets takes 50 resource ids a call).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecsdeploy.errors import OperationError
from ecsdeploy.scaling import DIMENSION, NAMESPACE, NO_SCALING, ScalingState

from .aws import AwsClients, call, error_code

TARGETS_BATCH = 50  # ResourceIds per DescribeScalableTargets
NOT_FOUND = "ObjectNotFoundException"


class ScalingAdapter:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    @property
    def _aas(self) -> Any:
        return self._clients.client("application-autoscaling")

    # -- reads ------------------------------------------------------------------------

    def targets(self, resource_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Resource id -> its scalable target, for those that have one."""
        found: dict[str, dict[str, Any]] = {}
        ids = sorted(set(resource_ids))
        for start in range(0, len(ids), TARGETS_BATCH):
            kwargs: dict[str, Any] = {
                "ServiceNamespace": NAMESPACE,
                "ScalableDimension": DIMENSION,
                "ResourceIds": ids[start : start + TARGETS_BATCH],
            }
            while True:
                resp = call(
                    "application-autoscaling:DescribeScalableTargets",
                    self._aas.describe_scalable_targets,
                    **kwargs,
                )
                for target in resp.get("ScalableTargets") or []:
                    if target.get("ResourceId") in kwargs["ResourceIds"]:
                        found[str(target["ResourceId"])] = dict(target)
                token = resp.get("NextToken")
                if not token:
                    break
                kwargs["NextToken"] = token
        return found

    def policies(self, rid: str) -> list[dict[str, Any]]:
        return self._pages(
            "DescribeScalingPolicies",
            self._aas.describe_scaling_policies,
            "ScalingPolicies",
            rid,
        )

    def scheduled_actions(self, rid: str) -> list[dict[str, Any]]:
        return self._pages(
            "DescribeScheduledActions",
            self._aas.describe_scheduled_actions,
            "ScheduledActions",
            rid,
        )

    def _pages(self, operation: str, fn: Any, key: str, rid: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "ServiceNamespace": NAMESPACE,
            "ResourceId": rid,
            "ScalableDimension": DIMENSION,
        }
        while True:
            resp = call(f"application-autoscaling:{operation}", fn, **kwargs)
            # Only this resource's: a filter is a filter, whatever answers it.
            found += [dict(e) for e in resp.get(key) or [] if e.get("ResourceId") == rid]
            token = resp.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token

    def state(self, rid: str, target: Mapping[str, Any] | None = None) -> ScalingState:
        """The service's scaling; `target` when DescribeScalableTargets was already read
        (policies and scheduled actions exist only on a registered target)."""
        if target is None:
            target = self.targets([rid]).get(rid)
        if target is None:
            return NO_SCALING
        return ScalingState(
            target=target,
            policies=tuple(self.policies(rid)),
            scheduled=tuple(self.scheduled_actions(rid)),
        )

    # -- writes -----------------------------------------------------------------------

    def register(self, request: Mapping[str, Any]) -> None:
        call(
            "application-autoscaling:RegisterScalableTarget",
            self._aas.register_scalable_target,
            **request,
        )

    def put_policy(self, request: Mapping[str, Any]) -> None:
        call(
            f"application-autoscaling:PutScalingPolicy {request.get('PolicyName')}",
            self._aas.put_scaling_policy,
            **request,
        )

    def put_scheduled_action(self, request: Mapping[str, Any]) -> None:
        call(
            f"application-autoscaling:PutScheduledAction {request.get('ScheduledActionName')}",
            self._aas.put_scheduled_action,
            **request,
        )

    def delete_policy(self, request: Mapping[str, Any]) -> bool:
        """False when it was gone already (a re-run converges)."""
        return self._delete(
            f"DeleteScalingPolicy {request.get('PolicyName')}",
            self._aas.delete_scaling_policy,
            request,
        )

    def delete_scheduled_action(self, request: Mapping[str, Any]) -> bool:
        return self._delete(
            f"DeleteScheduledAction {request.get('ScheduledActionName')}",
            self._aas.delete_scheduled_action,
            request,
        )

    @staticmethod
    def _delete(what: str, fn: Any, request: Mapping[str, Any]) -> bool:
        try:
            call(f"application-autoscaling:{what}", fn, **request)
        except OperationError as exc:
            if error_code(exc) == NOT_FOUND:
                return False
            raise
        return True
