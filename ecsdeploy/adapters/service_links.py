"""Whether what a service's settings name exists: CloudWatch alarms (deployment alarms)
and Cloud Map namespaces (Service Connect).

Read-only: DescribeAlarms, GetNamespace and ListNamespaces.
"""

from __future__ import annotations

from ecsdeploy.errors import OperationError

from .aws import AwsClients, call, error_code


def namespace_id(ref: str) -> str | None:
    """The namespace ID (`ns-…`) in a Cloud Map namespace ARN; None for a name."""
    if ref.startswith("arn:") and ":namespace/" in ref:
        return ref.rsplit("/", 1)[-1] or None
    return None


class ServiceLinksAdapter:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    def alarm_exists(self, name: str) -> bool:
        """A metric or composite alarm of that name exists."""
        cloudwatch = self._clients.client("cloudwatch")
        resp = call(
            f"cloudwatch:DescribeAlarms {name}",
            cloudwatch.describe_alarms,
            AlarmNames=[name],
            AlarmTypes=["MetricAlarm", "CompositeAlarm"],
        )
        return bool(resp.get("MetricAlarms") or resp.get("CompositeAlarms"))

    def namespace_exists(self, ref: str) -> bool:
        """A Cloud Map namespace exists, given by ARN (GetNamespace) or by name
        (ListNamespaces, every page)."""
        sd = self._clients.client("servicediscovery")
        ns_id = namespace_id(ref)
        if ns_id is not None:
            try:
                call(f"servicediscovery:GetNamespace {ns_id}", sd.get_namespace, Id=ns_id)
            except OperationError as exc:
                if error_code(exc) == "NamespaceNotFound":
                    return False
                raise
            return True
        kwargs: dict[str, object] = {}
        while True:
            resp = call("servicediscovery:ListNamespaces", sd.list_namespaces, **kwargs)
            if any(n.get("Name") == ref for n in resp.get("Namespaces") or []):
                return True
            token = resp.get("NextToken")
            if not token:
                return False
            kwargs["NextToken"] = token
