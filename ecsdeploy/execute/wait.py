"""Waiting for a rolling deployment, and judging it: success needs all of
- the deployment of the new revision COMPLETED, and PRIMARY, and alone;
- running tasks == desired;
- each load balancer entry's checks passing (targets healthy and old ones drained in its
  target group; its HTTP GET).
Anything else within the timeout is a failure with its reason: ECS's rollout FAILED,
ECS's circuit breaker rolling back (a failure, never a success), tasks that keep
failing, unhealthy targets, the HTTP check, or the clock.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ecsdeploy import ecs_rules
from ecsdeploy.adapters.ecs import EcsReader, short_arn
from ecsdeploy.adapters.ecs_state import Deployment, EcsService, ServiceDeployment
from ecsdeploy.adapters.http import get as http_get
from ecsdeploy.adapters.targets import Targets, TargetState
from ecsdeploy.config.durations import format_duration
from ecsdeploy.config.model import HttpCheck, LoadBalancer
from ecsdeploy.resolve import Resolver
from ecsdeploy.words import plural

from .report import Reporter

MAX_EXPLANATIONS = 8


class Cancelled(Exception):
    """The user interrupted the wait (Ctrl-C)."""


@dataclass(frozen=True)
class WaitOutcome:
    ok: bool
    reason: str = ""
    ecs_rolled_back: bool = False
    details: tuple[str, ...] = ()  # events and stopped-task reasons that explain a failure
    # ECS's service deployment record behind the failure, when the API has one; its
    # description is the first of `details`.
    record: ServiceDeployment | None = None
    # ECS's rollback already finished (a blue_green, linear or canary deployment rolled
    # back by ECS): the service serves the old revision, nothing is left to wait for.
    rollback_done: bool = False


# Service-deployment statuses that are a failure in themselves. The others (SUCCESSFUL,
# ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL, ...) are ECS's account of what happened:
# shown as what ECS says, never labelled an error.
FAILED_STATUSES = ("ROLLBACK_FAILED", "STOPPED")


def report_record(
    reporter: Reporter, key: str, record: ServiceDeployment, *, of_rollback: bool = False
) -> None:
    """ECS's word on a service deployment: an error only when it says it failed."""
    text = record.describe()
    if of_rollback:
        text = text.replace("service deployment", "service deployment of the rollback", 1)
    if record.status in FAILED_STATUSES:
        reporter.error(key, f"  ECS: {text}")
    else:
        reporter.ecs_event(key, text)


def report_explanation(reporter: Reporter, key: str, outcome: WaitOutcome) -> None:
    """The lines that explain a failed wait: ECS's record as ECS's word, then the events
    and stopped tasks' reasons under the error they explain."""
    described = outcome.record.describe() if outcome.record is not None else None
    for line in outcome.details:
        if outcome.record is not None and line == described:
            report_record(reporter, key, outcome.record)
        else:
            reporter.error(key, f"  {line}")


@dataclass
class Watch:
    """Watches one service; events already seen before the change are not repeated."""

    reader: EcsReader
    targets: Targets
    reporter: Reporter
    cluster: str
    service: str  # the ECS service name
    key: str  # deploy.yaml's key, for the reporter
    cancel: threading.Event
    clock: Callable[[], float] = time.monotonic
    # ECSDEPLOY_RESOLVE: where the HTTP check's host really is (the Host header stays).
    resolver: Resolver = field(default_factory=Resolver)

    def __post_init__(self) -> None:
        # The deployment the change started (UpdateService's answer), for the stopped
        # tasks' reasons when ECS dropped it before the first look.
        self.deployment_id: str | None = None
        self._seen: set[str] = set()
        self._notable: list[str] = []
        self._since: datetime | None = None
        self._service_deployments_api = True  # until an endpoint says it lacks it

    def start(self, svc: dict[str, Any] | None) -> None:
        """Call just before the change: events seen so far are not repeated, and the
        service deployments that count are the ones created from now on."""
        self.remember_events(svc)
        self._since = datetime.now(UTC) - timedelta(seconds=5)

    def verdict(self) -> ServiceDeployment | None:
        """ECS's last word on the newest deployment since start, e.g. ROLLBACK_SUCCESSFUL."""
        try:
            record = self._service_deployment()
        except Exception:  # a verdict is an explanation, never a new failure
            return None
        if record is None or not record.status:
            return None
        return record

    def _service_deployment(self) -> ServiceDeployment | None:
        """The newest service deployment since start (DescribeServiceDeployments), where
        the API exists; None elsewhere, and DescribeServices alone decides."""
        if not self._service_deployments_api or self._since is None:
            return None
        found = self.reader.service_deployments(self.cluster, self.service, self._since)
        if found is None:
            self._service_deployments_api = False
            return None
        records = [ServiceDeployment.from_api(d) for d in found]
        return max(records, key=lambda d: d.created_at, default=None)

    def remember_events(self, svc: dict[str, Any] | None) -> None:
        for event in (svc or {}).get("events") or []:
            self._seen.add(str(event.get("id") or event.get("message")))

    def _report_events(self, svc: dict[str, Any]) -> None:
        new = [
            e
            for e in reversed(svc.get("events") or [])
            if str(e.get("id") or e.get("message")) not in self._seen
        ]
        for event in new:
            self._seen.add(str(event.get("id") or event.get("message")))
            message = str(event.get("message", ""))
            self.reporter.ecs_event(self.key, message)
            if re.search(
                r"unable|unhealthy|fail|error|stopped|rolling back|throttl", message, re.I
            ):
                self._notable.append(message)

    def _sleep(self, seconds: float) -> None:
        if self.cancel.wait(seconds):
            raise Cancelled()

    # -- the rollout --------------------------------------------------------------------

    def wait(
        self,
        target_arn: str,
        *,
        timeout: float,
        poll: float,
        load_balancers: tuple[LoadBalancer, ...] = (),
        http: bool = True,
        breaker: bool = True,
        rollback: bool = False,
    ) -> WaitOutcome:
        """Wait for `target_arn` to serve; with `rollback`, it is the revision being
        returned to, so ECS reporting its own rollback of the release is the goal.

        Then each entry of `load_balancers` is checked: its targets (when its checks
        say so), and its HTTP check unless `http` is False."""
        self._notable = []
        deadline = self.clock() + timeout
        ours: Deployment | None = None
        last_ours: Deployment | None = None
        while True:
            raw = self.reader.describe_service(self.cluster, self.service)
            if raw is None:
                return WaitOutcome(False, f"service {self.service} no longer exists")
            self._report_events(raw)
            svc = EcsService.from_api(raw)
            ours = svc.deployment_of(target_arn)
            if ours is not None:
                last_ours = ours
            primary = svc.primary
            desired = svc.desired
            if ours is not None:
                count = len(svc.deployments)
                self.reporter.progress(
                    self.key,
                    f"{ours.state}: {ours.running}/{desired} running, {ours.pending} pending, "
                    f"{ours.failed_tasks} failed, {plural(count, 'deployment')}",
                )
            moved = primary is not None and primary.task_definition != target_arn
            if primary is not None and moved and (last_ours is not None or self._notable):
                seen = ours or last_ours
                why = seen.rollout_state_reason if seen is not None and seen.failed else None
                return self._failed(
                    f"ECS rolled the service back to {short_arn(primary.task_definition)}"
                    + (f": {why}" if why else ""),
                    ours or last_ours,
                    ecs_rolled_back=True,
                )
            if ours is not None:
                if ours.failed:
                    return self._failed(
                        "the deployment failed: "
                        + (ours.rollout_state_reason or "no reason given"),
                        ours,
                        ecs_rolled_back=moved,
                    )
                failed = ours.failed_tasks
                if not breaker and failed >= ecs_rules.circuit_breaker_threshold(max(desired, 1)):
                    return self._failed(
                        f"{plural(failed, 'task')} of the new revision failed to start "
                        "(no circuit breaker: giving up before the timeout)",
                        ours,
                    )
                if svc.settled_on(ours):
                    # ECS's own verdict on the deployment, where the API has it.
                    record = None if rollback else self._service_deployment()
                    if record is None or record.succeeded:
                        break
                    if record.rolled_back or record.stopped:
                        reason = record.status_reason
                        return self._failed(
                            f"ECS reports the deployment {record.status}"
                            + (f": {reason}" if reason else ""),
                            ours,
                            ecs_rolled_back=record.rolled_back,
                        )
            if self.clock() > deadline:
                return self._timed_out(timeout, ours, desired)
            self._sleep(poll)

        for lb in load_balancers:
            if lb.checks.targets_healthy:
                outcome = self._wait_targets(target_arn, lb, deadline, poll, timeout)
                if not outcome.ok:
                    return outcome
        for lb in load_balancers:
            if http and lb.checks.http is not None:
                outcome = self._http(lb.checks.http, lb)
                if not outcome.ok:
                    return outcome
        return WaitOutcome(True)

    def _timed_out(self, timeout: float, ours: Deployment | None, desired: int) -> WaitOutcome:
        state = "no deployment of the new revision yet"
        if ours is not None:
            state = (
                f"deployment {ours.state}, {ours.running}/{desired} running, "
                f"{ours.failed_tasks} failed"
            )
        return self._failed(f"timed out after {format_duration(timeout)}: {state}", ours)

    def _failed(
        self, reason: str, ours: Deployment | None, *, ecs_rolled_back: bool = False
    ) -> WaitOutcome:
        details = list(dict.fromkeys(self._notable))[-MAX_EXPLANATIONS:]
        try:
            record = self._service_deployment()
        except Exception:  # an explanation must never hide the failure it explains
            record = None
        if record is not None and record.status and record.status != "IN_PROGRESS":
            details.insert(0, record.describe())
        else:
            record = None
        details += self.stopped_reasons(ours.id if ours else self.deployment_id)
        return WaitOutcome(False, reason, ecs_rolled_back, tuple(details), record)

    def stopped_reasons(self, deployment_id: str | None) -> list[str]:
        """Why the new revision's tasks stopped, from the tasks themselves."""
        if not deployment_id:
            return []
        try:
            arns = self.reader.list_tasks(
                self.cluster, self.service, desired_status="STOPPED", started_by=deployment_id
            )
            tasks = self.reader.describe_tasks(self.cluster, arns[:MAX_EXPLANATIONS])
        except Exception:  # explanations must never hide the failure they explain
            return []
        reasons = []
        for task in tasks:
            exits = [
                f"{c.get('name')} exit {c['exitCode']}"
                for c in task.get("containers") or []
                if c.get("exitCode") not in (None, 0)
            ]
            task_id = str(task.get("taskArn", "")).rsplit("/", 1)[-1][:8]
            reason = task.get("stoppedReason") or "stopped"
            reasons.append(
                f"task {task_id}: {reason}" + (f" ({', '.join(exits)})" if exits else "")
            )
        return list(dict.fromkeys(reasons))

    # -- load balancer checks -----------------------------------------------------------

    def _expected_targets(self, target_arn: str, lb: LoadBalancer) -> set[tuple[str, int]]:
        arns = self.reader.list_tasks(self.cluster, self.service)
        tasks = [
            t
            for t in self.reader.describe_tasks(self.cluster, arns)
            if t.get("taskDefinitionArn") == target_arn and t.get("lastStatus") == "RUNNING"
        ]
        instances = self.reader.instance_ids(
            self.cluster,
            sorted({t["containerInstanceArn"] for t in tasks if t.get("containerInstanceArn")}),
        )
        expected: set[tuple[str, int]] = set()
        for task in tasks:
            ip = next(
                (
                    d.get("value")
                    for a in task.get("attachments") or []
                    for d in a.get("details") or []
                    if d.get("name") == "privateIPv4Address"
                ),
                None,
            )
            if ip:
                expected.add((str(ip), lb.port))
                continue
            instance = instances.get(task.get("containerInstanceArn", ""))
            for container in task.get("containers") or []:
                if container.get("name") != lb.container:
                    continue
                for binding in container.get("networkBindings") or []:
                    if binding.get("containerPort") == lb.port and instance:
                        expected.add((instance, int(binding.get("hostPort") or 0)))
        return expected

    def _wait_targets(
        self, target_arn: str, lb: LoadBalancer, deadline: float, poll: float, timeout: float
    ) -> WaitOutcome:
        while True:
            expected = self._expected_targets(target_arn, lb)
            health = self.targets.health(lb.target_group)
            new = [h for h in health if (h.id, h.port) in expected]
            old = [h for h in health if (h.id, h.port) not in expected and h.state != "unused"]
            bad = [h for h in new if h.state in ("unhealthy", "unavailable")]
            if bad:
                return self._failed(
                    f"{plural(len(bad), 'target')} of the new tasks unhealthy in "
                    f"{lb.target_group}: " + "; ".join(_target_text(h) for h in bad[:3]),
                    None,
                )
            healthy = [h for h in new if h.state == "healthy"]
            self.reporter.progress(
                self.key,
                f"targets: {len(healthy)}/{len(expected)} healthy, {len(old)} old "
                f"draining in {lb.target_group}",
            )
            if expected and len(healthy) == len(expected) and len(new) == len(expected) and not old:
                return WaitOutcome(True)
            if self.clock() > deadline:
                states = ", ".join(sorted({_target_text(h) for h in new + old})) or "no targets"
                return self._failed(
                    f"timed out after {format_duration(timeout)} waiting for targets in "
                    f"{lb.target_group}: {states}",
                    None,
                )
            self._sleep(poll)

    def _http(self, check: HttpCheck, lb: LoadBalancer, where: str | None = None) -> WaitOutcome:
        """`check` until it passes or its attempts run out; a failure names `where` the
        request went (by default the entry's target group)."""
        last = ""
        for attempt in range(1, check.attempts + 1):
            url, host = self.resolver.url(check.url)
            answer = http_get(url, check.timeout, host)
            ok = answer.status == check.expect_status and (
                check.body is None or re.search(check.body, answer.body) is not None
            )
            if ok:
                self.reporter.progress(self.key, f"GET {check.url}: {answer.status}")
                return WaitOutcome(True)
            if answer.status is None:
                last = f"no answer ({answer.error})"
            elif answer.status != check.expect_status:
                last = f"status {answer.status}, expected {check.expect_status}"
            else:
                last = f"body does not match /{check.body}/"
            self.reporter.progress(
                self.key, f"GET {check.url}: {last} (attempt {attempt}/{check.attempts})"
            )
            if attempt < check.attempts:
                self._sleep(check.interval)
        which = where or f"target group {lb.target_group}"
        if lb.label != "load_balancer":
            which = f"{lb.label}, {which}"
        return self._failed(
            f"HTTP check failed after {plural(check.attempts, 'attempt')}: GET {check.url}: "
            f"{last} ({which})",
            None,
        )


def _target_text(h: TargetState) -> str:
    text = f"{h.id}:{h.port} {h.state}"
    if h.reason:
        text += f" ({h.reason})"
    return text
