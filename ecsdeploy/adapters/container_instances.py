"""Container instances as the ecs.config roll-out changes them: one instance described,
the service tasks on it, its attribute, and ACTIVE/DRAINING.

Beside `instances.py` (the read-only listing verify uses).
"""

from __future__ import annotations

from typing import Any

from ecsdeploy.errors import OperationError

from .aws import AwsClients, call


class ContainerInstances:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    @property
    def _ecs(self) -> Any:
        return self._clients.client("ecs")

    # -- reads -------------------------------------------------------------------------

    def describe(self, cluster: str, instance_arn: str) -> dict[str, Any]:
        resp = call(
            "ecs:DescribeContainerInstances",
            self._ecs.describe_container_instances,
            cluster=cluster,
            containerInstances=[instance_arn],
        )
        found = resp.get("containerInstances") or []
        if not found:
            raise OperationError(f"container instance {instance_arn} is gone from {cluster}")
        described: dict[str, Any] = found[0]
        return described

    def service_tasks_on(self, cluster: str, instance_arn: str) -> dict[str, str]:
        """Task ARN -> service name of the service tasks still wanted on the instance."""
        arns: list[str] = []
        kwargs: dict[str, Any] = {
            "cluster": cluster,
            "containerInstance": instance_arn,
            "desiredStatus": "RUNNING",
        }
        while True:
            resp = call("ecs:ListTasks", self._ecs.list_tasks, **kwargs)
            arns += resp.get("taskArns") or []
            token = resp.get("nextToken")
            if not token:
                break
            kwargs["nextToken"] = token
        found: dict[str, str] = {}
        for start in range(0, len(arns), 100):
            resp = call(
                "ecs:DescribeTasks",
                self._ecs.describe_tasks,
                cluster=cluster,
                tasks=arns[start : start + 100],
            )
            for task in resp.get("tasks") or []:
                group = str(task.get("group") or "")
                # Only service tasks are replaced by draining; a standalone task stays.
                if group.startswith("service:"):
                    found[str(task["taskArn"])] = group.split(":", 1)[1]
        return found

    # -- writes ------------------------------------------------------------------------

    def put_attribute(self, cluster: str, instance_arn: str, name: str, value: str) -> None:
        call(
            f"ecs:PutAttributes {name}",
            self._ecs.put_attributes,
            cluster=cluster,
            attributes=[{"name": name, "value": value, "targetId": instance_arn}],
        )

    def delete_attribute(self, cluster: str, instance_arn: str, name: str, value: str) -> None:
        call(
            f"ecs:DeleteAttributes {name}",
            self._ecs.delete_attributes,
            cluster=cluster,
            attributes=[{"name": name, "value": value, "targetId": instance_arn}],
        )

    def set_state(self, cluster: str, instance_arn: str, status: str) -> None:
        resp = call(
            f"ecs:UpdateContainerInstancesState {status}",
            self._ecs.update_container_instances_state,
            cluster=cluster,
            containerInstances=[instance_arn],
            status=status,
        )
        for failure in resp.get("failures") or []:
            raise OperationError(
                f"ecs:UpdateContainerInstancesState {status} failed for "
                f"{failure.get('arn')}: {failure.get('reason')} {failure.get('detail') or ''}"
            )
