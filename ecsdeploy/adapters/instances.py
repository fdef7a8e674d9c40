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
