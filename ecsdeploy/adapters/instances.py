"""ECS container instances of a cluster, with what is left on them (read-only).

A module of its own, beside `ecs.py`, so the placement facts verify needs stay
apart from the service and task-definition calls.
"""

from __future__ import annotations

from typing import Any

from .aws import AwsClients, call

DESCRIBE_INSTANCES_BATCH = 100  # DescribeContainerInstances takes at most 100


class InstancesAdapter:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    @property
    def _ecs(self) -> Any:
        return self._clients.client("ecs")

    def container_instances(self, cluster: str) -> list[dict[str, Any]]:
        """Every container instance of the cluster (any status), described."""
        arns: list[str] = []
        kwargs: dict[str, Any] = {"cluster": cluster, "maxResults": 100}
        while True:
            resp = call("ecs:ListContainerInstances", self._ecs.list_container_instances, **kwargs)
            arns += resp.get("containerInstanceArns") or []
            token = resp.get("nextToken")
            if not token:
                break
            kwargs["nextToken"] = token
        found: list[dict[str, Any]] = []
        for start in range(0, len(arns), DESCRIBE_INSTANCES_BATCH):
            resp = call(
                "ecs:DescribeContainerInstances",
                self._ecs.describe_container_instances,
                cluster=cluster,
                containerInstances=arns[start : start + DESCRIBE_INSTANCES_BATCH],
            )
            found += resp.get("containerInstances") or []
        return found

    def capacity_providers(self, cluster: str) -> tuple[list[str], list[str], dict[str, bool]]:
        """The cluster's capacity providers, its default strategy's providers, and for each
        Auto Scaling group provider whether managed scaling is on (ECS then adds
        instances for tasks it cannot place). FARGATE and FARGATE_SPOT are ECS's own."""
        resp = call("ecs:DescribeClusters", self._ecs.describe_clusters, clusters=[cluster])
        found = (resp.get("clusters") or [{}])[0]
        providers = [str(p) for p in found.get("capacityProviders") or []]
        default = [
            str(i.get("capacityProvider"))
            for i in found.get("defaultCapacityProviderStrategy") or []
        ]
        groups = [p for p in providers if p not in ("FARGATE", "FARGATE_SPOT")]
        scaling: dict[str, bool] = {}
        if groups:
            described = call(
                "ecs:DescribeCapacityProviders",
                self._ecs.describe_capacity_providers,
                capacityProviders=groups,
            )
            for cp in described.get("capacityProviders") or []:
                managed = (cp.get("autoScalingGroupProvider") or {}).get("managedScaling") or {}
                scaling[str(cp.get("name"))] = managed.get("status") == "ENABLED"
        return providers, default, scaling
