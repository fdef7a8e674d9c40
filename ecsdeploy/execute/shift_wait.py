"""Waiting for ECS's own blue_green, linear and canary deployments, and judging them.

ECS runs these deployments itself through lifecycle stages: the new revision's tasks
start in the alternate target group, test traffic moves to them, then production
traffic (at once, in steps, or a canary share first), both revisions run for the
bake time, and the old tasks stop. apply follows the service deployment
(DescribeServiceDeployments) and shows its stage, the production traffic split (the
production listener rule's weights) and the bake countdown. Success is ECS's
`SUCCESSFUL`; `ROLLBACK_*` or `STOPPED` is a failure with ECS's reason.

apply takes part at two points:
- after the test traffic shift, ECS holds the deployment at ecsdeploy's PAUSE hook;
  apply requests each `test_http` check through the test listener and answers
  CONTINUE when all pass, ROLLBACK when one fails: production traffic never reaches
  a release that failed them;
- once production traffic moved (the bake), it makes the `http` checks; a failure
  stops the deployment with rollback (StopServiceDeployment), which moves the
  traffic back at once.
A deployment still going at the timeout, or interrupted (Ctrl-C), is stopped with
rollback too, and apply says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ecsdeploy.adapters.ecs import EcsWriter
from ecsdeploy.adapters.ecs_state import EcsService, ServiceDeployment
from ecsdeploy.adapters.elb import target_group_name
from ecsdeploy.config.durations import format_duration
from ecsdeploy.errors import EcsDeployError
from ecsdeploy.plan.model import WaitStep

from .wait import Cancelled, WaitOutcome, Watch

STAGE_WORDS = {
    "RECONCILE_SERVICE": "reconciling the service's revisions",
    "PRE_SCALE_UP": "about to start the new revision",
    "SCALE_UP": "starting the new revision's tasks",
    "POST_SCALE_UP": "the new revision's tasks are up",
    "TEST_TRAFFIC_SHIFT": "moving test traffic to the new revision",
    "POST_TEST_TRAFFIC_SHIFT": "test traffic on the new revision",
    "PRE_PRODUCTION_TRAFFIC_SHIFT": "about to move production traffic",
    "PRODUCTION_TRAFFIC_SHIFT": "moving production traffic",
    "POST_PRODUCTION_TRAFFIC_SHIFT": "production traffic moved",
    "BAKE_TIME": "baking with both revisions running",
    "CLEAN_UP": "stopping the old revision's tasks",
}
_ROLLING_BACK = ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED")
_TERMINAL_FAILURES = ("ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED", "STOPPED")
_AFTER_SHIFT = ("POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP")
# After the timeout, how long apply follows the rollback it asked for.
ROLLBACK_GRACE = 600.0


@dataclass
class ShiftWatch:
    """Follows one service's traffic-shifting deployment; answers its pause."""

    watch: Watch
    writer: EcsWriter
    step: WaitStep
    # Following apply's own rollback deployment: its pause is answered CONTINUE without
    # checks (the old revision is what the service goes back to), no production check.
    rollback: bool = False
    # Told when apply stops the deployment (why), so an interrupted apply says so.
    on_stopped: Callable[[str], None] | None = None
    # Set once a failure is known (apply's check, or ECS's reason): what apply reports.
    _failure: str | None = None
    _answered: set[str] = field(default_factory=set)
    _told: set[str] = field(default_factory=set)
    _bake_seen: float | None = None
    _blue: str | None = None  # the target group production served before
    _checked_production: bool = False

    def wait(self, target_arn: str) -> WaitOutcome:
        w = self.watch
        # The timeout counts the deployment's work; the bakes it waits by design come on top.
        budget = self.step.timeout + self.step.bake + self.step.shift_bake
        deadline = w.clock() + budget
        record: ServiceDeployment | None = None
        try:
            while True:
                raw = w.reader.describe_service(w.cluster, w.service)
                if raw is None:
                    return WaitOutcome(False, f"service {w.service} no longer exists")
                w._report_events(raw)
                record = w._service_deployment()
                if record is not None:
                    self._progress(record, EcsService.from_api(raw))
                    if record.succeeded:
                        break
                    if record.status in _TERMINAL_FAILURES:
                        self._hook_verdicts(record)
                        return self._ended(record)
                    if record.status not in _ROLLING_BACK:
                        self._take_part(record)
                if w.clock() > deadline and self._failure is None and record is not None:
                    self._failure = f"timed out after {format_duration(budget)}"
                    self._stop(record, "the timeout passed")
                if w.clock() > deadline + (ROLLBACK_GRACE if self._failure else 0.0):
                    return self._time_out(record)
                w._sleep(self.step.poll)
        except Cancelled:
            if record is not None and not record.finished:
                self._stop(record, "apply was interrupted")
            raise
        if not self._checked_production and not self.rollback:
            # Production traffic moved without apply seeing the bake (no bake time):
            # the checks run now; a failure is rolled back like a rolling release's.
            failed = self._production_checks()
            if failed is not None:
                return failed
        return WaitOutcome(True)

    # -- taking part ----------------------------------------------------------------

    def _hook_verdicts(self, record: ServiceDeployment) -> None:
        """Each Lambda hook's verdict as ECS reports it, once per change."""
        for hook in record.hooks:
            if hook.target_type == "PAUSE" or not hook.status:
                continue
            seen = f"{hook.hook_id}:{hook.status}"
            if seen in self._told:
                continue
            self._told.add(seen)
            name = (hook.target_arn or hook.hook_id).rsplit(":", 1)[-1]
            text = f"lifecycle hook {name} ({record.lifecycle_stage}): {hook.status}"
            if hook.status in ("FAILED", "TIMED_OUT"):
                self.watch.reporter.error(self.watch.key, f"  ECS: {text}")
            else:
                self.watch.reporter.ecs_event(self.watch.key, text)

    def _take_part(self, record: ServiceDeployment) -> None:
        self._hook_verdicts(record)
        pause = record.awaiting_pause()
        if pause is not None and pause.hook_id not in self._answered:
            checks = [lb for lb in self.step.load_balancers if lb.checks.test_http is not None]
            if record.lifecycle_stage == "POST_TEST_TRAFFIC_SHIFT" and checks and self.rollback:
                self._answered.add(pause.hook_id)
                self.writer.continue_service_deployment(record.arn, pause.hook_id, "CONTINUE")
            elif record.lifecycle_stage == "POST_TEST_TRAFFIC_SHIFT" and checks:
                self._answered.add(pause.hook_id)
                self._test(record, pause.hook_id)
            elif pause.hook_id not in self._told:
                self._told.add(pause.hook_id)
                expires = (
                    datetime.fromtimestamp(pause.expires_at, UTC).strftime("%H:%M:%S UTC")
                    if pause.expires_at
                    else "its timeout"
                )
                self.watch.reporter.warning(
                    self.watch.key,
                    f"ECS holds the deployment at a pause hook ({record.lifecycle_stage}) that "
                    f"ecsdeploy does not answer; at {expires} ECS will "
                    f"{(pause.timeout_action or 'ROLLBACK').lower()}",
                )
        if (
            record.lifecycle_stage in ("BAKE_TIME", "CLEAN_UP")
            and not self.rollback
            and not self._checked_production
            and self._failure is None
        ):
            failed = self._production_checks()
            if failed is not None:
                self._failure = failed.reason
                self._stop(record, "the production check failed")

    def _test(self, record: ServiceDeployment, hook_id: str) -> None:
        w = self.watch
        w.reporter.step(
            w.key, "test traffic on the new revision: checking it through the test listener"
        )
        failed: str | None = None
        for lb in self.step.load_balancers:
            check = lb.checks.test_http
            if check is None:
                continue
            outcome = w._http(check, lb, "through the test listener")
            if not outcome.ok:
                failed = (
                    outcome.reason.replace("HTTP check failed", "test check failed", 1)
                    + "; production traffic never reached the new revision"
                )
                break
        # ECS may have given up on the pause meanwhile (its timeout): then the test
        # listener may have answered for the old revision, and there is nothing to answer.
        if not self._still_paused(hook_id):
            return
        action = "CONTINUE" if failed is None else "ROLLBACK"
        if failed is None:
            w.reporter.done(w.key, "test checks passed: ECS continues to production traffic")
        else:
            self._failure = failed
            w.reporter.error(w.key, failed)
            w.reporter.step(w.key, "answering ECS's pause with ROLLBACK")
        try:
            self.writer.continue_service_deployment(record.arn, hook_id, action)
        except EcsDeployError:
            if self._still_paused(hook_id):
                raise

    def _still_paused(self, hook_id: str) -> bool:
        """Whether ECS still holds the deployment at the pause `hook_id`; when it does not,
        that becomes apply's failure (ECS took the pause's timeout action)."""
        record = self.watch._service_deployment()
        if record is not None and any(
            h.hook_id == hook_id and h.status == "AWAITING_ACTION" for h in record.hooks
        ):
            return True
        reason = record.status_reason if record is not None else None
        self._failure = (
            "ECS's pause after the test traffic shift ended before the test checks did"
            + (f": {reason}" if reason else "")
        )
        self.watch.reporter.error(self.watch.key, self._failure)
        return False

    def _production_checks(self) -> WaitOutcome | None:
        self._checked_production = True
        for lb in self.step.load_balancers:
            if lb.checks.http is not None:
                outcome = self.watch._http(lb.checks.http, lb, "through the production listener")
                if not outcome.ok:
                    return outcome
        return None

    def _stop(self, record: ServiceDeployment, why: str) -> None:
        w = self.watch
        try:
            self.writer.stop_service_deployment(record.arn)
        except EcsDeployError as exc:
            w.reporter.error(w.key, f"could not stop the deployment ({why}): {exc.message}")
            return
        w.reporter.warning(
            w.key,
            f"{why}: stopped the {self.step.strategy.replace('_', '/')} deployment with "
            "rollback (StopServiceDeployment); ECS moves the traffic back to the old revision",
        )
        if self.on_stopped is not None:
            self.on_stopped(why)

    # -- endings --------------------------------------------------------------------

    def _ended(self, record: ServiceDeployment) -> WaitOutcome:
        """ECS finished the deployment without success: why, as apply knows it or ECS says."""
        reason = self._failure or _ecs_reason(record)
        details = [record.describe()]
        if record.triggered_alarms:
            details.append("alarm in ALARM: " + ", ".join(record.triggered_alarms))
        for hook in record.hooks:
            if hook.target_type != "PAUSE" and hook.status in ("FAILED", "TIMED_OUT"):
                target = (hook.target_arn or "").rsplit(":", 1)[-1]
                details.append(f"lifecycle hook {target}: {hook.status}")
        return WaitOutcome(
            False,
            reason,
            ecs_rolled_back=record.rolled_back,
            details=tuple(details),
            record=record,
            rollback_done=record.status == "ROLLBACK_SUCCESSFUL",
        )

    def _time_out(self, record: ServiceDeployment | None) -> WaitOutcome:
        where = "no service deployment seen"
        if record is not None:
            where = f"service deployment {record.status} at {record.lifecycle_stage}"
        budget = self.step.timeout + self.step.bake + self.step.shift_bake
        reason = self._failure or f"timed out after {format_duration(budget)}"
        return WaitOutcome(False, f"{reason}; {where}", record=record)

    # -- progress -------------------------------------------------------------------

    def _progress(self, record: ServiceDeployment, svc: EcsService) -> None:
        stage = record.lifecycle_stage or ""
        words = STAGE_WORDS.get(stage, stage.lower().replace("_", " "))
        text = f"{record.status} {stage}: {words}"
        if stage == "BAKE_TIME":
            now = self.watch.clock()
            if self._bake_seen is None:
                self._bake_seen = now
            left = max(0.0, self.step.bake - (now - self._bake_seen))
            text += f", {format_duration(round(left))} left"
        split = self._split(stage)
        if split:
            text += f"; {split}"
        text += f"; {svc.running}/{svc.desired} running"
        self.watch.reporter.progress(self.watch.key, text)

    def _split(self, stage: str) -> str | None:
        """`production traffic: 30% new / 70% old` from the production rule's weights."""
        lb = next((b for b in self.step.load_balancers if b.production_listener_rule), None)
        if lb is None or lb.production_listener_rule is None:
            return None
        try:
            weights = self.watch.targets.forward_weights(lb.production_listener_rule)
        except EcsDeployError:
            return None
        total = sum(weights.values())
        if not weights or total <= 0:
            return None
        serving = [a for a, weight in weights.items() if weight > 0]
        if self._blue is None and len(serving) == 1 and stage not in _AFTER_SHIFT:
            self._blue = serving[0]  # production's group before the shift
        if self._blue is None:
            return None
        old = weights.get(self._blue, 0) * 100 // total
        new = 100 - old
        return (
            f"production traffic {new}% new ({_other(weights, self._blue)}) / {old}% old "
            f"({target_group_name(self._blue)})"
        )


def _other(weights: dict[str, int], blue: str) -> str:
    others = [a for a in weights if a != blue]
    return target_group_name(others[0]) if others else "?"


def _ecs_reason(record: ServiceDeployment) -> str:
    what = {
        "ROLLBACK_SUCCESSFUL": "ECS rolled the deployment back",
        "ROLLBACK_FAILED": "ECS could not roll the deployment back",
        "STOPPED": "the deployment stopped",
    }.get(record.status, f"the deployment ended {record.status}")
    if record.triggered_alarms:
        what += f" (alarm {', '.join(record.triggered_alarms)} in ALARM)"
    return what + (f": {record.status_reason}" if record.status_reason else "")
