"""ECS's live state as typed values: a service, its deployments, its deployment history.

DescribeServices and DescribeServiceDeployments answer with nested dicts; these
wrappers are where the tool decides what those dicts mean (is this deployment the
primary one, done, failed, rolled back?), so observe, wait, staleness and the
executor ask the same questions the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def timestamp(value: Any) -> float:
    """Seconds since the epoch of an API time (datetime, number or ISO text); 0 if none."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return 0.0
    return 0.0


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class Deployment:
    """One entry of a service's `deployments` (DescribeServices)."""

    id: str
    status: str  # PRIMARY, ACTIVE, INACTIVE
    task_definition: str | None
    rollout_state: str | None  # IN_PROGRESS, COMPLETED, FAILED; None without the breaker
    rollout_state_reason: str | None
    desired: int
    running: int
    pending: int
    failed_tasks: int
    created_at: float  # seconds since the epoch

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Deployment:
        return cls(
            id=str(data.get("id") or ""),
            status=str(data.get("status") or ""),
            task_definition=data.get("taskDefinition"),
            rollout_state=data.get("rolloutState"),
            rollout_state_reason=data.get("rolloutStateReason"),
            desired=_int(data.get("desiredCount")),
            running=_int(data.get("runningCount")),
            pending=_int(data.get("pendingCount")),
            failed_tasks=_int(data.get("failedTasks")),
            created_at=timestamp(data.get("createdAt")),
        )

    @property
    def is_primary(self) -> bool:
        return self.status == "PRIMARY"

    @property
    def failed(self) -> bool:
        return self.rollout_state == "FAILED"

    @property
    def in_progress(self) -> bool:
        return self.rollout_state == "IN_PROGRESS"

    @property
    def completed(self) -> bool:
        """COMPLETED, or no rollout state at all (a service without the circuit breaker)."""
        return self.rollout_state in (None, "COMPLETED")

    @property
    def state(self) -> str:
        """For progress lines: the rollout state, else the status."""
        return self.rollout_state or self.status


@dataclass(frozen=True)
class EcsService:
    """A service as DescribeServices shows it, with the questions the tool asks of it."""

    arn: str
    name: str
    cluster_arn: str | None
    task_definition: str | None
    desired: int
    running: int
    deployments: tuple[Deployment, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> EcsService:
        return cls(
            arn=str(data.get("serviceArn") or ""),
            name=str(data.get("serviceName") or ""),
            cluster_arn=data.get("clusterArn"),
            task_definition=data.get("taskDefinition"),
            desired=_int(data.get("desiredCount")),
            running=_int(data.get("runningCount")),
            deployments=tuple(Deployment.from_api(d) for d in data.get("deployments") or []),
            raw=data,
        )

    @property
    def primary(self) -> Deployment | None:
        return next((d for d in self.deployments if d.is_primary), None)

    @property
    def rolling_out(self) -> bool:
        """A rollout is under way: more than one deployment, or the primary in progress."""
        primary = self.primary
        return len(self.deployments) > 1 or (primary is not None and primary.in_progress)

    def deployment_of(self, task_definition: str) -> Deployment | None:
        """The newest deployment of `task_definition`, if ECS still lists one."""
        mine = [d for d in self.deployments if d.task_definition == task_definition]
        return max(mine, key=lambda d: d.created_at, default=None)

    def settled_on(self, deployment: Deployment) -> bool:
        """`deployment` is the only one, primary, complete, and every task runs."""
        return (
            deployment.completed
            and len(self.deployments) == 1
            and deployment.is_primary
            and deployment.running == self.desired
            and self.running == self.desired
        )

    def failure_of(
        self, task_definition: str, show: Callable[[str | None], str] = str
    ) -> str | None:
        """Why the rollout of `task_definition` has failed already, if ECS says so: its
        deployment FAILED, or ECS dropped it for another revision. None otherwise."""
        ours = self.deployment_of(task_definition)
        if ours is not None and ours.failed:
            return f"the deployment failed: {ours.rollout_state_reason or 'no reason given'}"
        primary = self.primary
        if ours is None and primary is not None and primary.task_definition != task_definition:
            return f"ECS went back to {show(primary.task_definition)}"
        return None

    @property
    def task_definitions_in_use(self) -> set[str]:
        """Revisions this service runs or is moving to or from (a CODE_DEPLOY or EXTERNAL
        service: those of its task sets)."""
        found = {d.task_definition for d in self.deployments if d.task_definition}
        for task_set in self.raw.get("taskSets") or []:
            if isinstance(task_set, Mapping) and task_set.get("taskDefinition"):
                found.add(str(task_set["taskDefinition"]))
        if self.task_definition:
            found.add(self.task_definition)
        return found


@dataclass(frozen=True)
class LifecycleHookState:
    """One of a service deployment's lifecycle hooks (lifecycleHookDetails)."""

    hook_id: str
    target_type: str  # AWS_LAMBDA or PAUSE
    target_arn: str | None
    status: str  # AWAITING_ACTION, IN_PROGRESS, SUCCEEDED, FAILED, TIMED_OUT
    expires_at: float | None
    timeout_action: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> LifecycleHookState:
        expires = data.get("expiresAt")
        return cls(
            hook_id=str(data.get("hookId") or ""),
            target_type=str(data.get("targetType") or "AWS_LAMBDA"),
            target_arn=data.get("targetArn"),
            status=str(data.get("status") or ""),
            expires_at=None if expires is None else timestamp(expires),
            timeout_action=data.get("timeoutAction"),
        )


@dataclass(frozen=True)
class ServiceDeployment:
    """A record of ECS's deployment history (DescribeServiceDeployments)."""

    arn: str
    status: str  # PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED, ROLLBACK_*, ...
    status_reason: str | None
    created_at: float
    # Where a blue_green, linear or canary deployment is (PRE_SCALE_UP ... CLEAN_UP).
    lifecycle_stage: str | None = None
    hooks: tuple[LifecycleHookState, ...] = ()
    triggered_alarms: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ServiceDeployment:
        alarms = data.get("alarms") or {}
        return cls(
            arn=str(data.get("serviceDeploymentArn") or ""),
            status=str(data.get("status") or ""),
            status_reason=data.get("statusReason"),
            created_at=timestamp(data.get("createdAt")),
            lifecycle_stage=data.get("lifecycleStage"),
            hooks=tuple(
                LifecycleHookState.from_api(h)
                for h in data.get("lifecycleHookDetails") or []
                if isinstance(h, Mapping)
            ),
            triggered_alarms=tuple(str(a) for a in alarms.get("triggeredAlarmNames") or []),
        )

    def awaiting_pause(self) -> LifecycleHookState | None:
        """A PAUSE hook waiting for ContinueServiceDeployment."""
        return next(
            (h for h in self.hooks if h.target_type == "PAUSE" and h.status == "AWAITING_ACTION"),
            None,
        )

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESSFUL"

    @property
    def rolled_back(self) -> bool:
        return self.status.startswith("ROLLBACK")

    @property
    def stopped(self) -> bool:
        return self.status in ("STOPPED", "STOP_REQUESTED")

    @property
    def finished(self) -> bool:
        return self.status not in ("", "PENDING", "IN_PROGRESS")

    def describe(self) -> str:
        """`service deployment ROLLBACK_SUCCESSFUL: reason`."""
        reason = f": {self.status_reason}" if self.status_reason else ""
        return f"service deployment {self.status}{reason}"
