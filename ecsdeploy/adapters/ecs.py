"""Amazon ECS: services, task definitions, tasks and container instances."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

from .aws import AwsClients, call

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
        self._td_lock = threading.Lock()

    @property
    def _ecs(self) -> Any:
        return self._clients.client("ecs")

    # --- clusters and services --------------------------------------------------------

    def existing_clusters(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        names = list(dict.fromkeys(names))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(names), 100):
            resp = call(
                "ecs:DescribeClusters",
                self._ecs.describe_clusters,
                clusters=names[start : start + 100],
            )
            for cluster in resp.get("clusters", []):
                if cluster.get("status") in ("ACTIVE", "PROVISIONING"):
                    found[cluster["clusterName"]] = cluster
        return found

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

    def describe_task_definition(self, arn: str) -> dict[str, Any]:
        """The task definition (describe shape, tags included); each ARN described once."""
        with self._td_lock:
            cached = self._td_cache.get(arn)
        if cached is not None:
            return cached
        resp = call(
            "ecs:DescribeTaskDefinition",
            self._ecs.describe_task_definition,
            taskDefinition=arn,
            include=["TAGS"],
        )
        td: dict[str, Any] = dict(resp["taskDefinition"])
        if resp.get("tags"):
            td["tags"] = resp["tags"]
        with self._td_lock:
            self._td_cache[td["taskDefinitionArn"]] = td
            self._td_cache[arn] = td
        return td

    def active_revisions(self, family: str) -> list[str]:
        """ACTIVE revisions of exactly this family, newest first."""
        arns: list[str] = []
        kwargs: dict[str, Any] = {
            "familyPrefix": family,
            "status": "ACTIVE",
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
