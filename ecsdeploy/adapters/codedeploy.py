"""CodeDeploy: finding the deployment group of a CODE_DEPLOY service, and its deployments.

plan reads applications and deployment groups (ListApplications, BatchGetApplications,
ListDeploymentGroups, BatchGetDeploymentGroups, ListDeployments); apply creates a
deployment with an AppSpec, follows it (GetDeployment) and stops it (StopDeployment).
`CodeDeployDeployment` is where the tool decides what GetDeployment's answer means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecsdeploy.errors import OperationError

from .aws import AwsClients, call, error_code
from .ecs_state import timestamp

BATCH = 100  # names per BatchGetApplications / BatchGetDeploymentGroups
# Deployments still going (GetDeployment's status); Succeeded, Failed, Stopped end one.
ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")
APPLICATION_MISSING = ("ApplicationDoesNotExistException",)


@dataclass(frozen=True)
class CodeDeployDeployment:
    """GetDeployment's `deploymentInfo`, with the questions apply asks of it."""

    id: str
    status: str  # Created, Queued, InProgress, Baking, Ready, Succeeded, Failed, Stopped
    error_code: str | None
    error_message: str | None
    rollback_id: str | None  # the deployment that rolls this one back
    rollback_message: str | None
    creator: str
    # deploymentOverview: how many targets are in each state (an ECS deployment has one).
    overview: Mapping[str, int]
    termination_wait_started: bool
    created_at: float
    completed_at: float | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CodeDeployDeployment:
        error = data.get("errorInformation") or {}
        rollback = data.get("rollbackInfo") or {}
        completed = data.get("completeTime")
        overview = data.get("deploymentOverview") or {}
        return cls(
            id=str(data.get("deploymentId") or ""),
            status=str(data.get("status") or ""),
            error_code=error.get("code"),
            error_message=error.get("message"),
            rollback_id=rollback.get("rollbackDeploymentId"),
            rollback_message=rollback.get("rollbackMessage"),
            creator=str(data.get("creator") or ""),
            overview={str(k): int(v or 0) for k, v in overview.items()},
            termination_wait_started=bool(data.get("instanceTerminationWaitTimeStarted")),
            created_at=timestamp(data.get("createTime")),
            completed_at=None if completed is None else timestamp(completed),
        )

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "Succeeded"

    @property
    def error(self) -> str | None:
        """`TIMEOUT: the message`, CodeDeploy's errorInformation."""
        if not self.error_code and not self.error_message:
            return None
        return f"{self.error_code or 'error'}: {self.error_message or 'no message'}"

    def describe(self) -> str:
        """`CodeDeploy deployment d-X Failed: TIMEOUT: message`."""
        error = self.error
        return f"CodeDeploy deployment {self.id} {self.status}" + (f": {error}" if error else "")


class CodeDeployAdapter:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    @property
    def _cd(self) -> Any:
        return self._clients.client("codedeploy")

    # -- reading applications and deployment groups ----------------------------------------

    def application_names(self) -> list[str]:
        names: list[str] = []
        token: str | None = None
        while True:
            kwargs = {"nextToken": token} if token else {}
            resp = call("codedeploy:ListApplications", self._cd.list_applications, **kwargs)
            names += [str(n) for n in resp.get("applications") or []]
            token = resp.get("nextToken")
            if not token:
                return names

    def ecs_applications(self, names: list[str]) -> list[str]:
        """Of `names`, the applications whose compute platform is ECS."""
        found: list[str] = []
        for start in range(0, len(names), BATCH):
            resp = call(
                "codedeploy:BatchGetApplications",
                self._cd.batch_get_applications,
                applicationNames=names[start : start + BATCH],
            )
            found += [
                str(a["applicationName"])
                for a in resp.get("applicationsInfo") or []
                if a.get("computePlatform") == "ECS"
            ]
        return found

    def group_names(self, application: str) -> list[str] | None:
        """The deployment groups of `application`; None when the application does not exist."""
        names: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"applicationName": application}
            if token:
                kwargs["nextToken"] = token
            try:
                resp = call(
                    "codedeploy:ListDeploymentGroups", self._cd.list_deployment_groups, **kwargs
                )
            except OperationError as exc:
                if error_code(exc) in APPLICATION_MISSING:
                    return None
                raise
            names += [str(n) for n in resp.get("deploymentGroups") or []]
            token = resp.get("nextToken")
            if not token:
                return names

    def groups(self, application: str, names: list[str]) -> list[dict[str, Any]]:
        """BatchGetDeploymentGroups' entries (those that exist) of `names` in `application`."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(names), BATCH):
            resp = call(
                "codedeploy:BatchGetDeploymentGroups",
                self._cd.batch_get_deployment_groups,
                applicationName=application,
                deploymentGroupNames=names[start : start + BATCH],
            )
            found += [dict(g) for g in resp.get("deploymentGroupsInfo") or []]
        return found

    def active_deployments(self, application: str, group: str) -> list[str]:
        """The group's deployments still going, newest first."""
        resp = call(
            "codedeploy:ListDeployments",
            self._cd.list_deployments,
            applicationName=application,
            deploymentGroupName=group,
            includeOnlyStatuses=list(ACTIVE_STATUSES),
        )
        return [str(d) for d in resp.get("deployments") or []]

    # -- deployments -------------------------------------------------------------------

    def create_deployment(self, request: Mapping[str, Any]) -> str:
        resp = call("codedeploy:CreateDeployment", self._cd.create_deployment, **dict(request))
        return str(resp["deploymentId"])

    def deployment(self, deployment_id: str) -> CodeDeployDeployment:
        resp = call("codedeploy:GetDeployment", self._cd.get_deployment, deploymentId=deployment_id)
        return CodeDeployDeployment.from_api(resp.get("deploymentInfo") or {})

    def stop(self, deployment_id: str) -> str:
        """StopDeployment with automatic rollback; CodeDeploy's status of the stop."""
        resp = call(
            "codedeploy:StopDeployment",
            self._cd.stop_deployment,
            deploymentId=deployment_id,
            autoRollbackEnabled=True,
        )
        return str(resp.get("status") or "")
