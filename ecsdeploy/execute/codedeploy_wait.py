"""CODE_DEPLOY services: creating their CodeDeploy deployment, following it, judging it.

CodeDeploy runs the blue/green deployment itself (CodeDeploy User Guide, "Deployments on
an Amazon ECS compute platform"): a replacement task set of the new revision in the
group's other target group (Install), test traffic to it, production traffic (at once,
linear or canary, as the group's deployment configuration says), the original task set
kept for the group's termination wait, then removed. apply follows it with GetDeployment
and shows its status and overview live. Success is `Succeeded`; `Failed` and `Stopped`
are failures, with CodeDeploy's errorInformation as the reason, and a release CodeDeploy
rolled back (rollbackInfo names its rollback deployment, followed to its end) is reported
`rolled_back`, like a rolling release ECS rolled back.

A group with deploymentReadyOption STOP_DEPLOYMENT holds a deployment `Ready` until
someone starts the traffic reroute (ContinueDeployment READY_WAIT; the console's
"Reroute traffic"), or stops it when its wait time ends. That hold is the group's own
gate: apply waits through it (its deadline counts the wait time), says how to start the
reroute, and never starts it itself.

A deployment still going at the deadline, or when apply is interrupted (Ctrl-C), is
stopped with automatic rollback (StopDeployment autoRollbackEnabled), and apply says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ecsdeploy.adapters.codedeploy import CodeDeployAdapter, CodeDeployDeployment
from ecsdeploy.adapters.ecs import short_arn
from ecsdeploy.config.durations import format_duration
from ecsdeploy.errors import EcsDeployError
from ecsdeploy.plan.model import CodeDeployStep, WaitStep

from .wait import Cancelled, WaitOutcome, Watch

# After the deadline (or a failure), how long apply follows the rollback CodeDeploy runs.
ROLLBACK_GRACE = 600.0
_PHASES = {
    "Created": "created",
    "Queued": "queued behind another deployment",
    "InProgress": "the new revision's task set starts, then production traffic moves",
    "Baking": "baking",
    "Ready": "ready: waiting for the traffic reroute to be started",
}


def appspec_content(appspec: Mapping[str, Any], task_definition: str) -> str:
    """The AppSpec as the JSON text CodeDeploy gets, its TaskDefinition filled in."""
    spec = json.loads(json.dumps(appspec))
    for resource in spec.get("Resources") or []:
        props = (resource.get("TargetService") or {}).get("Properties")
        if isinstance(props, dict) and props.get("TaskDefinition") is None:
            props["TaskDefinition"] = task_definition
    return json.dumps(spec, sort_keys=True)


def create_deployment(
    codedeploy: CodeDeployAdapter, step: CodeDeployStep, task_definition: str
) -> str:
    """CreateDeployment of the step's request with its AppSpec; the deployment's id."""
    content = appspec_content(step.appspec, task_definition)
    request = dict(step.request) | {
        "revision": {
            "revisionType": "AppSpecContent",
            "appSpecContent": {
                "content": content,
                "sha256": hashlib.sha256(content.encode()).hexdigest(),
            },
        }
    }
    return codedeploy.create_deployment(request)


@dataclass
class CodeDeployWatch:
    """Follows one CODE_DEPLOY service's CodeDeploy deployment (or, with none, its
    PRIMARY task set settling on the revision)."""

    watch: Watch
    codedeploy: CodeDeployAdapter
    step: WaitStep
    # Tells the executor where the service is, for the line of an interrupted apply.
    note: Callable[[str], None] = lambda _: None
    _told: set[str] = field(default_factory=set)
    _last: str = ""
    _stopped: str | None = None  # why apply stopped the deployment

    @property
    def budget(self) -> float:
        """The timeout counts the deployment's work; the waits it has by design come on top."""
        ready = self.step.codedeploy.ready_wait if self.step.codedeploy is not None else None
        return self.step.timeout + self.step.bake + self.step.shift_bake + (ready or 0.0)

    def wait(self, target_arn: str, deployment_id: str | None) -> WaitOutcome:
        w = self.watch
        if deployment_id is None and self.step.codedeploy is not None:
            target = self.step.codedeploy
            under_way = self.codedeploy.active_deployments(
                target.application, target.deployment_group
            )
            if under_way:
                deployment_id = under_way[0]
                w.reporter.step(w.key, f"following CodeDeploy deployment {deployment_id}")
        if deployment_id is None:
            return self._task_set(target_arn)
        for i, stage in enumerate(self.step.stages, 1):
            w.reporter.step(w.key, f"  {i}. {stage}")
        deadline = w.clock() + self.budget
        deployment: CodeDeployDeployment | None = None
        try:
            while True:
                deployment = self.codedeploy.deployment(deployment_id)
                raw = w.reader.describe_service(w.cluster, w.service)
                if raw is not None:
                    w._report_events(raw)
                self._progress(deployment, raw)
                if deployment.succeeded:
                    return WaitOutcome(True)
                if not deployment.active:
                    return self._ended(deployment)
                if deployment.status == "Ready":
                    self._ready(deployment)
                if w.clock() > deadline and self._stopped is None:
                    self._stop(deployment, f"timed out after {format_duration(self.budget)}")
                    if self._stopped is None:  # it could not be stopped
                        return self._time_out(deployment)
                if w.clock() > deadline + ROLLBACK_GRACE:
                    return self._time_out(deployment)
                w._sleep(self.step.poll)
        except Cancelled:
            if deployment is not None and deployment.active and self._stopped is None:
                self._stop(deployment, "apply was interrupted")
            raise

    # -- following ----------------------------------------------------------------------

    def _progress(self, d: CodeDeployDeployment, raw: Mapping[str, Any] | None) -> None:
        text = f"CodeDeploy {d.id} {d.status}"
        if d.status in _PHASES:
            text += f": {_PHASES[d.status]}"
        if d.termination_wait_started and d.active:
            text = (
                f"CodeDeploy {d.id} {d.status}: production traffic on the new revision; "
                "the original task set runs on for the group's termination wait"
            )
        sets = [t for t in (raw or {}).get("taskSets") or [] if isinstance(t, Mapping)]
        if sets:
            text += "; task sets " + ", ".join(
                f"{t.get('status')} {short_arn(str(t.get('taskDefinition')))} "
                f"{t.get('runningCount', 0)}/{t.get('computedDesiredCount', 0)} running"
                for t in sets
            )
        if text != self._last:
            self._last = text
            self.watch.reporter.progress(self.watch.key, text, deployment_id=d.id)

    def _ready(self, d: CodeDeployDeployment) -> None:
        if d.id in self._told:
            return
        self._told.add(d.id)
        ready = self.step.codedeploy.ready_wait if self.step.codedeploy is not None else None
        until = f" (it stops the deployment after {format_duration(round(ready))})" if ready else ""
        self.watch.reporter.warning(
            self.watch.key,
            f"CodeDeploy holds deployment {d.id} Ready: the new revision runs, production "
            f"traffic has not moved; start the reroute in the CodeDeploy console (Reroute "
            f"traffic) or with `aws deploy continue-deployment --deployment-id {d.id} "
            f"--deployment-wait-type READY_WAIT`{until}; apply waits for it",
        )

    def _stop(self, d: CodeDeployDeployment, why: str) -> None:
        w = self.watch
        try:
            self.codedeploy.stop(d.id)
        except EcsDeployError as exc:
            w.reporter.error(w.key, f"could not stop CodeDeploy deployment {d.id} ({why}): {exc}")
            return
        self._stopped = why
        w.reporter.warning(
            w.key,
            f"{why}: stopped CodeDeploy deployment {d.id} with rollback (StopDeployment); "
            "CodeDeploy moves production traffic back to the original task set",
        )
        self.note(
            f"CodeDeploy deployment {d.id} stopped with rollback ({why}); CodeDeploy moves "
            "the service back to its original task set"
        )

    # -- endings --------------------------------------------------------------------

    def _ended(self, d: CodeDeployDeployment) -> WaitOutcome:
        """CodeDeploy ended the deployment without success: why, and whether CodeDeploy
        put the service back (its rollback deployment, followed to its end)."""
        w = self.watch
        reason = d.describe()
        if self._stopped:
            reason = f"{self._stopped}; {reason}"
        details = [f"CodeDeploy: {d.rollback_message}"] if d.rollback_message else []
        if d.rollback_id is None:
            return WaitOutcome(
                False, reason + "; CodeDeploy did not roll it back", details=tuple(details)
            )
        w.reporter.step(w.key, f"CodeDeploy rolls back in deployment {d.rollback_id}; waiting")
        deadline = w.clock() + ROLLBACK_GRACE
        while True:
            rollback = self.codedeploy.deployment(d.rollback_id)
            if not rollback.active:
                break
            if w.clock() > deadline:
                return WaitOutcome(
                    False,
                    f"{reason}; its rollback {rollback.id} did not finish within "
                    f"{format_duration(ROLLBACK_GRACE)} ({rollback.status})",
                    details=tuple(details),
                )
            w._sleep(self.step.poll)
        if not rollback.succeeded:
            return WaitOutcome(
                False, f"{reason}; its rollback {rollback.describe()}", details=tuple(details)
            )
        w.reporter.ecs_event(w.key, f"{rollback.describe()} (the rollback)")
        return WaitOutcome(
            False, reason, ecs_rolled_back=True, details=tuple(details), rollback_done=True
        )

    def _time_out(self, d: CodeDeployDeployment) -> WaitOutcome:
        reason = self._stopped or f"timed out after {format_duration(self.budget)}"
        return WaitOutcome(
            False,
            f"{reason}; {d.describe()} and did not end",
            details=(d.describe(),),
        )

    # -- without a CodeDeploy deployment ------------------------------------------------

    def _task_set(self, target_arn: str) -> WaitOutcome:
        """A service created (or only scaled): its PRIMARY task set runs the revision, alone,
        every task running."""
        w = self.watch
        deadline = w.clock() + self.step.timeout
        while True:
            raw = w.reader.describe_service(w.cluster, w.service)
            if raw is None:
                return WaitOutcome(False, f"service {w.service} no longer exists")
            w._report_events(raw)
            sets = [t for t in raw.get("taskSets") or [] if isinstance(t, Mapping)]
            primary = next((t for t in sets if t.get("status") == "PRIMARY"), None)
            desired = int(raw.get("desiredCount") or 0)
            if primary is not None:
                running = int(primary.get("runningCount") or 0)
                w.reporter.progress(
                    w.key,
                    f"task set {primary.get('stabilityStatus')}: {running}/{desired} running",
                )
                if (
                    len(sets) == 1
                    and primary.get("taskDefinition") == target_arn
                    and running == desired
                    and primary.get("stabilityStatus") == "STEADY_STATE"
                ):
                    return WaitOutcome(True)
            if w.clock() > deadline:
                return WaitOutcome(
                    False,
                    f"timed out after {format_duration(self.step.timeout)}: the PRIMARY task "
                    f"set did not settle on {short_arn(target_arn)}",
                )
            w._sleep(self.step.poll)
