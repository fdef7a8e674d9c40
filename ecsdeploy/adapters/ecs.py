"""Amazon ECS: services, task definitions, tasks and container instances."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from typing import Any

from ecsdeploy.errors import OperationError

from .aws import AwsClients, call, error_code

DESCRIBE_BATCH = 10  # DescribeServices takes at most 10 services per call

_ARN_FAMILY = re.compile(r"task-definition/([^:/]+):(\d+)$")


def family_and_revision(arn: str) -> tuple[str, int]:
    """`arn:…:task-definition/shop-web:42` -> ("shop-web", 42)."""
    found = _ARN_FAMILY.search(arn)
    if not found:
        raise ValueError(f"not a task definition ARN: {arn}")
    return found.group(1), int(found.group(2))


def short_arn(arn: str | None) -> str:
    """`shop-web:42` from a task definition ARN, for people."""
    if not arn:
        return "(none)"
    try:
        family, revision = family_and_revision(arn)
    except ValueError:
        return arn
    return f"{family}:{revision}"


class EcsAdapter:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients
        self._td_cache: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        # One DescribeClusters per question, however many threads ask it at once.
        self._clusters: dict[tuple[str, ...], Future[dict[str, dict[str, Any]]]] = {}

    @property
    def _ecs(self) -> Any:
        return self._clients.client("ecs")

    # --- clusters and services --------------------------------------------------------

    @property
    def region(self) -> str:
        return self._clients.region

    def existing_clusters(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Cluster name -> DescribeClusters' entry, for those that exist.

        Asked twice (apply's lock and its observation ask at the same moment), the
        adapter calls once: clusters come and go far slower than a command runs.
        """
        key = tuple(sorted(set(names)))
        with self._lock:
            answer = self._clusters.get(key)
            asking = answer is None
            if answer is None:
                answer = self._clusters[key] = Future()
        if not asking:
            return answer.result()
        try:
            found = self._describe_clusters(key)
        except BaseException as exc:
            with self._lock:
                del self._clusters[key]  # the next one asks again
            answer.set_exception(exc)
            raise
        answer.set_result(found)
        return found

    def _describe_clusters(self, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(names), 100):
            resp = call(
                "ecs:DescribeClusters",
                self._ecs.describe_clusters,
                clusters=list(names[start : start + 100]),
            )
            for cluster in resp.get("clusters", []):
                if cluster.get("status") in ("ACTIVE", "PROVISIONING"):
                    found[cluster["clusterName"]] = cluster
        return found

    def cluster_arns(self, limit: int = 100) -> list[str]:
        """The ARNs of the clusters there are (ListClusters), up to about `limit`."""
        arns: list[str] = []
        kwargs: dict[str, Any] = {"maxResults": 100}
        while len(arns) < limit:
            resp = call("ecs:ListClusters", self._ecs.list_clusters, **kwargs)
            arns += resp.get("clusterArns", [])
            token = resp.get("nextToken")
            if not token:
                break
            kwargs["nextToken"] = token
        return arns

    def list_service_arns(self, cluster: str) -> list[str]:
        arns: list[str] = []
        kwargs: dict[str, Any] = {"cluster": cluster, "maxResults": 100}
        while True:
            resp = call("ecs:ListServices", self._ecs.list_services, **kwargs)
            arns += resp.get("serviceArns", [])
            token = resp.get("nextToken")
            if not token:
                return arns
            kwargs["nextToken"] = token

    def describe_services_batch(self, cluster: str, names: list[str]) -> list[dict[str, Any]]:
        """One DescribeServices call (at most 10 names); missing services are left out."""
        assert len(names) <= DESCRIBE_BATCH
        resp = call(
            "ecs:DescribeServices",
            self._ecs.describe_services,
            cluster=cluster,
            services=names,
            include=["TAGS"],
        )
        return [s for s in resp.get("services", []) if s.get("status") != "INACTIVE"]

    # --- task definitions -------------------------------------------------------------

    def described(self, arn: str) -> bool:
        """Whether `describe_task_definition(arn)` would answer from the cache."""
        with self._lock:
            return arn in self._td_cache

    def describe_task_definition(self, arn: str) -> dict[str, Any]:
        """The task definition (describe shape, tags included); each ARN described once."""
        with self._lock:
            cached = self._td_cache.get(arn)
        if cached is not None:
            return cached
        td = self._describe(arn)
        with self._lock:
            self._td_cache[td["taskDefinitionArn"]] = td
            self._td_cache[arn] = td
        return td

    def latest_revision(self, family: str) -> str | None:
        """The family's newest ACTIVE revision, described in one call (kept in the cache)."""
        try:
            td = self._describe(family)
        except OperationError as exc:
            # ECS says ClientException "Unable to describe task definition."; moto differs.
            code = error_code(exc)
            missing = "unable to describe task definition" in exc.message.lower()
            if code == "TaskDefinitionNotFoundException" or (code == "ClientException" and missing):
                return None
            raise
        if td.get("status") != "ACTIVE":  # moto answers the newest of any status
            found = self.active_revisions(family)
            return found[0] if found else None
        arn = str(td["taskDefinitionArn"])
        with self._lock:
            self._td_cache[arn] = td
        return arn

    def _describe(self, reference: str) -> dict[str, Any]:
        """DescribeTaskDefinition of an ARN, `family:revision` or family, tags included."""
        resp = call(
            "ecs:DescribeTaskDefinition",
            self._ecs.describe_task_definition,
            taskDefinition=reference,
            include=["TAGS"],
        )
        td: dict[str, Any] = dict(resp["taskDefinition"])
        if resp.get("tags"):
            td["tags"] = resp["tags"]
        return td

    def active_revisions(self, family: str) -> list[str]:
        """ACTIVE revisions of exactly this family, newest first."""
        return self.revisions(family, "ACTIVE")

    def revisions(self, family: str, status: str = "ACTIVE") -> list[str]:
        """Revisions of exactly this family with `status` (ACTIVE, INACTIVE), newest first."""
        arns: list[str] = []
        kwargs: dict[str, Any] = {
            "familyPrefix": family,
            "status": status,
            "sort": "DESC",
            "maxResults": 100,
        }
        while True:
            resp = call("ecs:ListTaskDefinitions", self._ecs.list_task_definitions, **kwargs)
            for arn in resp.get("taskDefinitionArns", []):
                # familyPrefix is a prefix: `web` also lists `web-worker`.
                if family_and_revision(arn)[0] == family:
                    arns.append(arn)
            token = resp.get("nextToken")
            if not token:
                break
            kwargs["nextToken"] = token
        arns.sort(key=lambda a: family_and_revision(a)[1], reverse=True)
        return arns


class EcsWriter:
    """The ECS calls that change something; kept apart so reading code cannot write."""

    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    @property
    def _ecs(self) -> Any:
        return self._clients.client("ecs")

    def register_task_definition(self, td: dict[str, Any]) -> str:
        resp = call(
            f"ecs:RegisterTaskDefinition {td.get('family')}",
            self._ecs.register_task_definition,
            **td,
        )
        arn: str = resp["taskDefinition"]["taskDefinitionArn"]
        return arn

    def update_service(self, cluster: str, service: str, **fields: Any) -> dict[str, Any]:
        resp = call(
            f"ecs:UpdateService {service}",
            self._ecs.update_service,
            cluster=cluster,
            service=service,
            **fields,
        )
        updated: dict[str, Any] = resp["service"]
        return updated

    def continue_service_deployment(self, deployment_arn: str, hook_id: str, action: str) -> None:
        """Answer a PAUSE lifecycle hook: CONTINUE to the next stage, or ROLLBACK."""
        call(
            f"ecs:ContinueServiceDeployment {action}",
            self._ecs.continue_service_deployment,
            serviceDeploymentArn=deployment_arn,
            hookId=hook_id,
            action=action,
        )

    def stop_service_deployment(self, deployment_arn: str) -> None:
        """Stop a service deployment and roll it back (traffic back to the old revision)."""
        call(
            "ecs:StopServiceDeployment",
            self._ecs.stop_service_deployment,
            serviceDeploymentArn=deployment_arn,
            stopType="ROLLBACK",
        )

    def create_service(self, cluster: str, service: str, **fields: Any) -> dict[str, Any]:
        resp = call(
            f"ecs:CreateService {service}",
            self._ecs.create_service,
            cluster=cluster,
            serviceName=service,
            **fields,
        )
        created: dict[str, Any] = resp["service"]
        return created

    def send_service_request(self, request: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
        """A plan's CreateService or UpdateService input, sent as it is."""
        name = request.get("serviceName" if create else "service")
        operation = "CreateService" if create else "UpdateService"
        resp = call(
            f"ecs:{operation} {name}",
            self._ecs.create_service if create else self._ecs.update_service,
            **request,
        )
        service: dict[str, Any] = resp["service"]
        return service

    def deregister_task_definition(self, arn: str) -> None:
        call(
            f"ecs:DeregisterTaskDefinition {short_arn(arn)}",
            self._ecs.deregister_task_definition,
            taskDefinition=arn,
        )

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        call(
            "ecs:TagResource",
            self._ecs.tag_resource,
            resourceArn=arn,
            tags=[{"key": k, "value": v} for k, v in tags.items()],
        )

    def untag(self, arn: str, keys: list[str]) -> None:
        call("ecs:UntagResource", self._ecs.untag_resource, resourceArn=arn, tagKeys=keys)


class EcsReader(EcsAdapter):
    """The reads a deployment needs while it runs: one service, its tasks and deployments."""

    def describe_service(self, cluster: str, name: str) -> dict[str, Any] | None:
        found = self.describe_services_batch(cluster, [name])
        return found[0] if found else None

    def tags(self, arn: str) -> dict[str, str]:
        resp = call("ecs:ListTagsForResource", self._ecs.list_tags_for_resource, resourceArn=arn)
        return {t["key"]: t["value"] for t in resp.get("tags", [])}

    def list_tasks(
        self,
        cluster: str,
        service: str,
        *,
        desired_status: str = "RUNNING",
        started_by: str | None = None,
    ) -> list[str]:
        kwargs: dict[str, Any] = {"cluster": cluster, "desiredStatus": desired_status}
        # ListTasks takes serviceName or startedBy, not both.
        if started_by:
            kwargs["startedBy"] = started_by
        else:
            kwargs["serviceName"] = service
        arns: list[str] = []
        while True:
            resp = call("ecs:ListTasks", self._ecs.list_tasks, **kwargs)
            arns += resp.get("taskArns", [])
            token = resp.get("nextToken")
            if not token:
                return arns
            kwargs["nextToken"] = token

    def describe_tasks(self, cluster: str, arns: list[str]) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = []
        for start in range(0, len(arns), 100):
            resp = call(
                "ecs:DescribeTasks",
                self._ecs.describe_tasks,
                cluster=cluster,
                tasks=arns[start : start + 100],
            )
            tasks += resp.get("tasks", [])
        return tasks

    def instance_ids(self, cluster: str, container_instances: list[str]) -> dict[str, str]:
        """Container instance ARN -> EC2 instance id."""
        if not container_instances:
            return {}
        resp = call(
            "ecs:DescribeContainerInstances",
            self._ecs.describe_container_instances,
            cluster=cluster,
            containerInstances=container_instances,
        )
        return {
            ci["containerInstanceArn"]: ci.get("ec2InstanceId", "")
            for ci in resp.get("containerInstances", [])
        }

    def service_deployments(
        self, cluster: str, service: str, since: Any
    ) -> list[dict[str, Any]] | None:
        """The service's deployments since `since` (ListServiceDeployments), or None where
        the API is missing (an older endpoint): callers fall back to DescribeServices."""
        from .aws import error_code

        try:
            listed = call(
                "ecs:ListServiceDeployments",
                self._ecs.list_service_deployments,
                cluster=cluster,
                service=service,
                createdAt={"after": since},
            )
            arns = [d["serviceDeploymentArn"] for d in listed.get("serviceDeployments", [])]
            if not arns:
                return []
            described = call(
                "ecs:DescribeServiceDeployments",
                self._ecs.describe_service_deployments,
                serviceDeploymentArns=arns[:20],
            )
        except OperationError as exc:
            if error_code(exc) in _MISSING_API or error_code(exc) is None:
                return None
            raise
        deployments: list[dict[str, Any]] = described.get("serviceDeployments", [])
        return deployments

    def succeeded_task_definitions(self, cluster: str, service: str) -> set[str] | None:
        """Task definitions a deployment of the service completed on (ECS's deployment
        history: SUCCESSFUL service deployments, their target revisions); None where
        the API is missing."""
        from .aws import error_code

        arns: list[str] = []
        kwargs: dict[str, Any] = {
            "cluster": cluster,
            "service": service,
            "status": ["SUCCESSFUL"],
            "maxResults": 100,
        }
        try:
            for _ in range(HISTORY_PAGES):
                listed = call(
                    "ecs:ListServiceDeployments", self._ecs.list_service_deployments, **kwargs
                )
                arns += [
                    d["targetServiceRevisionArn"]
                    for d in listed.get("serviceDeployments", [])
                    if d.get("targetServiceRevisionArn")
                ]
                if not listed.get("nextToken"):
                    break
                kwargs["nextToken"] = listed["nextToken"]
            found: set[str] = set()
            unique = sorted(set(arns))
            for start in range(0, len(unique), 20):
                described = call(
                    "ecs:DescribeServiceRevisions",
                    self._ecs.describe_service_revisions,
                    serviceRevisionArns=unique[start : start + 20],
                )
                found |= {
                    str(r["taskDefinition"])
                    for r in described.get("serviceRevisions", [])
                    if r.get("taskDefinition")
                }
        except OperationError as exc:
            if error_code(exc) in _MISSING_API or error_code(exc) is None:
                return None
            raise
        return found


# What an endpoint without the service-deployment API answers (older regions, emulators).
HISTORY_PAGES = 5  # pages of ListServiceDeployments read (100 deployments a page)


_MISSING_API = {"UnknownOperationException", "InvalidAction", "NotImplemented", "404"}
