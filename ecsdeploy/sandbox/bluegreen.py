"""ECS's traffic-shifting deployments (BLUE_GREEN, LINEAR, CANARY): their lifecycle stages.

A new deployment of a service whose `deploymentConfiguration.strategy` is one of
these walks ECS's lifecycle stages (ServiceDeployment.lifecycleStage, the ECS
developer guide's "blue/green deployment workflow", "linear deployments" and
"canary deployments"), one after the other, on the simulated clock:

RECONCILE_SERVICE (only when a revision other than the one serving production
still runs: its tasks stop), PRE_SCALE_UP, SCALE_UP (the green tasks, a full
desired count, start and register in each load balancer's alternate target
group, the one not serving production; the stage ends when all are healthy),
POST_SCALE_UP, TEST_TRAFFIC_SHIFT (the test listener rule forwards 100% to the
green target group), POST_TEST_TRAFFIC_SHIFT, then for each production step
PRE_PRODUCTION_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT (the production rule
forwards the step's share to green: all at once for BLUE_GREEN, stepPercent more
each step with stepBakeTimeInMinutes between steps for LINEAR, canaryPercent and
then the rest after canaryBakeTimeInMinutes for CANARY), POST_PRODUCTION_TRAFFIC_SHIFT,
BAKE_TIME (bakeTimeInMinutes with both revisions running) and CLEAN_UP (the blue
tasks drain and stop). Then the deployment is SUCCESSFUL, and the target groups
swap roles: the one now serving production is the service's target group and
the other its alternate (what ECS reports then is not documented; see
docs/sandbox.md).

Traffic moves as ECS moves it, with ModifyRule on the listener rules: their
forward action becomes a weighted ForwardConfig over the two target groups
(DescribeRules shows it), and every change is kept, with its simulated time, in
`Simulation.rule_history`.

Lifecycle hooks run at the stages they name: a PAUSE hook waits (AWAITING_ACTION)
for ContinueServiceDeployment or its timeout; an AWS_LAMBDA hook cannot run here,
so it answers, LAMBDA_SECONDS after it was invoked, with the verdict set for its
function (`Simulation.hook_verdicts`, SUCCEEDED by default). A hook that fails,
a ROLLBACK, a timeout whose action is ROLLBACK, a deployment alarm in ALARM
(while production traffic moves and during the bake time), the circuit breaker
and StopServiceDeployment roll the deployment back: both rules forward 100% to
blue again at once, the green tasks stop, and the service stays on the revision
it ran.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ecsdeploy.sandbox import messages
from ecsdeploy.sandbox.model import (
    BAKE_TIME,
    CANARY_DEFAULT,
    CLEAN_UP,
    LINEAR_DEFAULT,
    POST_PRODUCTION_TRAFFIC_SHIFT,
    POST_SCALE_UP,
    POST_TEST_TRAFFIC_SHIFT,
    PRE_PRODUCTION_TRAFFIC_SHIFT,
    PRE_SCALE_UP,
    PRODUCTION_TRAFFIC_SHIFT,
    RECONCILE_SERVICE,
    SCALE_UP,
    TEST_TRAFFIC_SHIFT,
    Deployment,
    HookRun,
    LoadBalancerBinding,
    Service,
    ServiceDeploymentRecord,
    Shift,
)

if TYPE_CHECKING:
    from ecsdeploy.sandbox.simulation import Simulation

# A simulated Lambda hook answers this long after it was invoked.
LAMBDA_SECONDS = 5.0
# After an IN_PROGRESS answer ECS invokes the function again, by default after 30
# seconds (the ECS developer guide, Lambda hooks: callBackDelay).
LAMBDA_CALLBACK_SECONDS = 30.0
# A rollback asked for (ContinueServiceDeployment ROLLBACK, StopServiceDeployment)
# is ROLLBACK_REQUESTED this long before it is under way.
ROLLBACK_REQUEST_SECONDS = 1.0
VERDICTS = ("SUCCEEDED", "FAILED", "IN_PROGRESS")

_ORDER = (
    RECONCILE_SERVICE,
    PRE_SCALE_UP,
    SCALE_UP,
    POST_SCALE_UP,
    TEST_TRAFFIC_SHIFT,
    POST_TEST_TRAFFIC_SHIFT,
    PRE_PRODUCTION_TRAFFIC_SHIFT,
    PRODUCTION_TRAFFIC_SHIFT,
    POST_PRODUCTION_TRAFFIC_SHIFT,
    BAKE_TIME,
    CLEAN_UP,
)


def function_name(reference: str) -> str:
    """A Lambda function's name from its name or ARN (`...:function:NAME[:QUALIFIER]`)."""
    if reference.startswith("arn:") and ":function:" in reference:
        return reference.split(":function:", 1)[1].split(":")[0]
    return reference


def linear_steps(step_percent: float) -> tuple[float, ...]:
    """Production shares after each LINEAR step: stepPercent, twice that, ..., then 100."""
    tenths = max(1, round(step_percent * 10))
    steps: list[float] = []
    k = 1
    while not steps or steps[-1] < 100:
        steps.append(min(1000, k * tenths) / 10)
        k += 1
    return tuple(steps)


def plan(
    strategy: str, linear: tuple[float, int] | None, canary: tuple[float, int] | None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(production share after each step, seconds to wait after it). The step bake time
    is not applied after reaching 100 percent (LinearConfiguration)."""
    if strategy == "LINEAR":
        percent, minutes = linear or LINEAR_DEFAULT
        steps = linear_steps(percent)
        return steps, tuple(minutes * 60.0 if s < 100 else 0.0 for s in steps)
    if strategy == "CANARY":
        percent, minutes = canary or CANARY_DEFAULT
        if percent >= 100:
            return (100.0,), (0.0,)
        return (percent, 100.0), (minutes * 60.0, 0.0)
    return (100.0,), (0.0,)


def weights(green_percent: float) -> tuple[int, int]:
    """(blue, green) rule weights for a share of traffic on green: percents, or tenths of
    a percent for a share that is not whole (ELB takes integer weights up to 999)."""
    if float(green_percent).is_integer():
        green = int(green_percent)
        return 100 - green, green
    green = round(green_percent * 10)
    return 1000 - green, green


# -- starting -----------------------------------------------------------------------


def supersede(sim: Simulation, svc: Service, old: Deployment) -> None:
    """A newer deployment replaces one still shifting traffic: production and test
    traffic go back to what served production before it; its tasks stop (RECONCILE_SERVICE
    of the newer one)."""
    shift = old.shift
    if shift is None or not shift.active:
        return
    _restore_traffic(sim, svc, old, RECONCILE_SERVICE)
    _end_waiting_hooks(sim, shift)
    shift.state = "superseded"


def begin(sim: Simulation, svc: Service, dep: Deployment, previous: Deployment | None) -> None:
    """Start deployment `dep` (just made the service's primary) on ECS's stages."""
    cfg = dep.config
    blue_id: str | None = None
    if previous is not None:
        if previous.shift is not None and previous.shift.state == "superseded":
            blue_id = previous.shift.blue_id
        elif previous.rollout_state == "COMPLETED":
            blue_id = previous.id
        elif svc.last_completed is not None and svc.last_completed in svc.deployments:
            blue_id = svc.last_completed.id
    steps, bakes = plan(cfg.effective_strategy, cfg.linear, cfg.canary)
    others = [
        d
        for d in svc.deployments
        if d is not dep
        and d.id != blue_id
        and any(t.live for t in svc.tasks if t.deployment_id == d.id)
    ]
    shift = Shift(
        strategy=cfg.effective_strategy,
        blue_id=blue_id,
        wiring=svc.load_balancers,
        steps=steps,
        step_bakes=bakes,
        bake_seconds=float(cfg.bake_time or 0) * 60.0,
        stage=RECONCILE_SERVICE if others else PRE_SCALE_UP,
    )
    dep.shift = shift
    dep.bindings = tuple(lb.green() for lb in svc.load_balancers)
    record = _own_record(sim, svc, dep)
    if record is not None:
        record.shift = shift
    _enter(sim, svc, dep, shift.stage)


# -- the engine's step ----------------------------------------------------------------


def due_times(sim: Simulation, shift: Shift) -> Iterator[float]:
    """The simulated moments the deployment has something to do at (after now)."""
    if not shift.active:
        return
    for when in (shift.wait_until, shift.rollback_at):
        if when is not None and when > sim.now:
            yield when
    for run in shift.stage_runs:
        if not run.waiting:
            continue
        if run.next_at is not None and run.next_at > sim.now:
            yield run.next_at
        if run.expires_at > sim.now:
            yield run.expires_at


def reconcile(sim: Simulation, svc: Service) -> None:
    """The scheduler's pass over a service whose primary deployment shifts traffic."""
    dep = svc.primary
    shift = dep.shift
    assert shift is not None
    svc.steady = False
    if shift.state == "rollback_requested":
        if shift.rollback_at is not None and sim.now >= shift.rollback_at:
            fail(sim, svc, dep, shift.rollback_reason, rollback=True)
        return
    if not shift.checked:
        shift.checked = True
        wrong = _misconfigured(sim, shift)
        if wrong is not None:
            fail(sim, svc, dep, wrong, rollback=True)
            return
    desired = svc.desired_count
    reason = messages.scaling_activity(dep.id)
    for task in svc.tasks:
        if task.live and task.deployment_id not in (dep.id, shift.blue_id):
            sim._stop_task(svc, task, reason, "ServiceSchedulerInitiated")
    if shift.stage not in (RECONCILE_SERVICE, PRE_SCALE_UP):
        green = [t for t in svc.tasks if t.live and t.deployment_id == dep.id]
        if len(green) < desired:
            sim._launch(svc, dep, desired - len(green))
        elif len(green) > desired:
            surplus = sorted(green, key=lambda t: (sim._healthy(t), -t.created_at))
            for task in surplus[: len(green) - desired]:
                sim._stop_task(svc, task, reason, "ServiceSchedulerInitiated")

    for _ in range(len(_ORDER) + 2 * len(shift.steps) + 2):
        failure = _run_hooks(sim, svc, dep)
        if failure is not None:
            fail(sim, svc, dep, failure, rollback=True)
            return
        if _alarms_fired(sim, svc, dep):
            return
        if not _stage_done(sim, svc, dep):
            break
        following = _next_stage(shift)
        if following is None:
            _succeed(sim, svc, dep)
            break
        _enter(sim, svc, dep, following)

    for other in list(svc.deployments[1:]):
        if other.id == shift.blue_id and shift.active:
            continue
        if not any(t.in_use for t in svc.tasks if t.deployment_id == other.id):
            svc.deployments.remove(other)
            other.status = "INACTIVE"
    dep.desired_count = desired


def finish_rollbacks(sim: Simulation, svc: Service) -> None:
    """A rollback is ROLLBACK_SUCCESSFUL once the green tasks are gone."""
    for record in svc.records:
        shift = record.shift
        if shift is None or shift.state != "rolling_back":
            continue
        if any(t.in_use for t in svc.tasks if t.deployment_id == record.deployment_id):
            continue
        shift.state = "rolled_back"
        record.status = "ROLLBACK_SUCCESSFUL"
        record.finished_at = record.updated_at = sim.now
        if record.circuit_breaker_status == "MONITORING":
            record.circuit_breaker_status = "MONITORING_COMPLETE"
        if record.alarms_status == "MONITORING":
            record.alarms_status = "MONITORING_COMPLETE"


# -- stages ---------------------------------------------------------------------------


def _next_stage(shift: Shift) -> str | None:
    stage = shift.stage
    if stage == PRODUCTION_TRAFFIC_SHIFT:
        if shift.step + 1 < len(shift.steps):
            shift.step += 1
            return PRE_PRODUCTION_TRAFFIC_SHIFT
        return POST_PRODUCTION_TRAFFIC_SHIFT
    index = _ORDER.index(stage)
    return _ORDER[index + 1] if index + 1 < len(_ORDER) else None


def _enter(sim: Simulation, svc: Service, dep: Deployment, stage: str) -> None:
    shift = dep.shift
    assert shift is not None
    now = sim.now
    shift.stage = stage
    shift.stage_runs = []
    shift.wait_until = None
    dep.updated_at = now
    record = _own_record(sim, svc, dep)
    if record is not None:
        record.updated_at = now
    if stage == TEST_TRAFFIC_SHIFT:
        for lb in shift.wiring:
            if lb.advanced is not None and lb.advanced.test_listener_rule:
                _set_rule(sim, svc, dep, lb.advanced.test_listener_rule, lb, 100.0, stage)
        shift.test_shifted = True
    elif stage == PRODUCTION_TRAFFIC_SHIFT:
        percent = shift.steps[shift.step]
        for lb in shift.wiring:
            if lb.advanced is not None and lb.advanced.production_listener_rule:
                _set_rule(sim, svc, dep, lb.advanced.production_listener_rule, lb, percent, stage)
        shift.production_percent = percent
        if shift.step_bakes[shift.step] > 0:
            shift.wait_until = now + shift.step_bakes[shift.step]
    elif stage == BAKE_TIME:
        if shift.bake_seconds > 0:
            shift.wait_until = now + shift.bake_seconds
    elif stage == CLEAN_UP:
        reason = messages.scaling_activity(dep.id)
        for task in svc.tasks:
            if task.live and task.deployment_id == shift.blue_id:
                sim._stop_task(svc, task, reason, "ServiceSchedulerInitiated")
    for hook in dep.config.hooks or ():
        if stage not in hook.stages:
            continue
        kind = "pause" if hook.target_type == "PAUSE" else "lambda"
        run = HookRun(sim.new_hook_id(kind), hook, stage, now, now + hook.timeout_minutes * 60.0)
        if hook.target_type != "PAUSE":
            run.next_at = now + LAMBDA_SECONDS
        shift.hooks.append(run)
        shift.stage_runs.append(run)


def _stage_done(sim: Simulation, svc: Service, dep: Deployment) -> bool:
    shift = dep.shift
    assert shift is not None
    if not all(run.passed for run in shift.stage_runs):
        return False
    if shift.wait_until is not None and sim.now < shift.wait_until:
        return False
    if shift.stage == RECONCILE_SERVICE:
        return not any(t.live for t in svc.tasks if t.deployment_id not in (dep.id, shift.blue_id))
    if shift.stage == SCALE_UP:
        green = [t for t in svc.tasks if t.live and t.deployment_id == dep.id]
        return len(green) == svc.desired_count and all(sim._healthy(t) for t in green)
    if shift.stage == CLEAN_UP:
        return not any(t.in_use for t in svc.tasks if t.deployment_id == shift.blue_id)
    return True


def _run_hooks(sim: Simulation, svc: Service, dep: Deployment) -> str | None:
    """Lambda verdicts and timeouts of the stage's hooks; why to roll back, if so."""
    shift = dep.shift
    assert shift is not None
    now = sim.now
    for run in shift.stage_runs:
        if not run.waiting:
            continue
        if run.next_at is not None and now >= run.next_at:
            target = run.spec.target_arn or ""
            verdict = sim.hook_verdicts.get(function_name(target), "SUCCEEDED")
            if verdict == "IN_PROGRESS":
                run.next_at = now + LAMBDA_CALLBACK_SECONDS
            else:
                run.status, run.next_at, run.finished_at = verdict, None, now
                _touch(sim, svc, dep)
                if verdict == "FAILED":
                    return messages.hook_failed(run.stage, target)
        if run.waiting and now >= run.expires_at:
            run.status, run.next_at, run.finished_at = "TIMED_OUT", None, now
            _touch(sim, svc, dep)
            if run.spec.timeout_action == "ROLLBACK":
                return messages.hook_timed_out(run.stage, pause=run.spec.target_type == "PAUSE")
    return None


def _misconfigured(sim: Simulation, shift: Shift) -> str | None:
    """What ECS finds wrong with a production rule before it moves anything (the ECS
    developer guide, troubleshooting blue/green deployments), or None."""
    for lb in shift.wiring:
        adv = lb.advanced
        if adv is None or not adv.production_listener_rule:
            continue
        arn = adv.production_listener_rule
        parts = arn.split(":")
        found = sim.backends.forwarding_rule(parts[4], parts[3], arn) if len(parts) > 5 else None
        if found is None:
            continue
        expected = (lb.target_group_arn, adv.alternate_target_group_arn)
        for tg, _ in found.forward:
            if tg not in expected:
                return messages.unexpected_target_group(tg, *expected)
        serving = [tg for tg, weight in found.forward if weight > 0]
        if len(serving) != 1:
            return messages.not_one_serving(arn, len(serving))
    return None


def _alarms_fired(sim: Simulation, svc: Service, dep: Deployment) -> bool:
    shift = dep.shift
    assert shift is not None
    if not shift.watching_alarms:
        return False
    fired = sim.fired_alarms(svc, dep)
    if not fired:
        return False
    record = _own_record(sim, svc, dep)
    if record is not None:
        record.alarms_status = "TRIGGERED"
        record.triggered_alarms = tuple(fired)
    alarms = dep.config.alarms
    fail(sim, svc, dep, messages.alarms_fired(fired), rollback=bool(alarms and alarms[2]))
    return True


def continue_hook(
    sim: Simulation, svc: Service, record: ServiceDeploymentRecord, run: HookRun, action: str
) -> None:
    """ContinueServiceDeployment on an AWAITING_ACTION pause hook."""
    dep = sim.deployment(svc, record.deployment_id)
    run.finished_at = sim.now
    if action == "ROLLBACK":
        run.status = "FAILED"
        if dep is not None:
            fail(sim, svc, dep, messages.hook_rollback(run.stage), rollback=True, requested=True)
    else:
        run.status = "SUCCEEDED"
    if dep is not None:
        _touch(sim, svc, dep)


# -- the end ------------------------------------------------------------------------


def _succeed(sim: Simulation, svc: Service, dep: Deployment) -> None:
    shift = dep.shift
    assert shift is not None
    shift.state = "done"
    if svc.load_balancers == shift.wiring:
        svc.load_balancers = tuple(lb.swapped() for lb in shift.wiring)
    sim._complete(svc, dep)


def fail(
    sim: Simulation,
    svc: Service,
    dep: Deployment,
    reason: str,
    *,
    rollback: bool,
    requested: bool = False,
) -> None:
    """The deployment failed (or a rollback was asked for): roll back to the revision
    serving production before it, or stop where it is when `rollback` is false."""
    shift = dep.shift
    assert shift is not None
    now = sim.now
    record = _own_record(sim, svc, dep)
    if requested:
        shift.state = "rollback_requested"
        shift.rollback_at = now + ROLLBACK_REQUEST_SECONDS
        shift.rollback_reason = reason
        if record is not None:
            record.status = "ROLLBACK_REQUESTED"
            record.status_reason = reason
            record.updated_at = now
        return
    _end_waiting_hooks(sim, shift)
    blue = sim.deployment(svc, shift.blue_id) if shift.blue_id else None
    dep.rollout_state = "FAILED"
    dep.rollout_state_reason = reason
    dep.updated_at = now
    shift.rollback_at = None
    if not rollback:
        # Without rollback the deployment stops where it is (the ECS API reference,
        # ServiceDeployment.stoppedAt); its tasks and the traffic stay as they are.
        shift.state = "stopped"
        if record is not None:
            record.status = "STOPPED"
            record.status_reason = reason
            record.stopped_at = record.finished_at = record.updated_at = now
        return
    _restore_traffic(sim, svc, dep, "ROLLBACK")
    if blue is None:
        shift.state = "stopped"
        if record is not None:
            record.status = "ROLLBACK_FAILED"
            record.status_reason = reason
            record.finished_at = record.updated_at = now
        return
    shift.state = "rolling_back"
    if record is not None:
        record.status = "ROLLBACK_IN_PROGRESS"
        record.status_reason = reason
        record.rollback_started_at = record.updated_at = now
        record.rollback_revision_arn = sim._revision_arn(svc, blue.id)
    # The revision that kept serving production is the service's again.
    svc.deployments.remove(blue)
    svc.deployments.insert(0, blue)
    blue.status = "PRIMARY"
    blue.updated_at = now
    dep.status = "ACTIVE"
    sim.backends.set_service_task_definition(
        svc.account, svc.region, svc.cluster_name, svc.name, blue.spec.arn
    )
    stop_reason = messages.scaling_activity(blue.id)
    for task in svc.tasks:
        if task.live and task.deployment_id == dep.id:
            sim._stop_task(svc, task, stop_reason, "ServiceSchedulerInitiated")
    svc.pending.setdefault("rollback", []).append(blue.id)


# -- traffic ----------------------------------------------------------------------------


def _restore_traffic(sim: Simulation, svc: Service, dep: Deployment, stage: str) -> None:
    """Production and test rules forward 100% to blue again, at once."""
    shift = dep.shift
    assert shift is not None
    for lb in shift.wiring:
        adv = lb.advanced
        if adv is None:
            continue
        for rule in (adv.production_listener_rule, adv.test_listener_rule):
            if rule:
                _set_rule(sim, svc, dep, rule, lb, 0.0, stage)
    shift.production_percent = 0.0
    shift.test_shifted = False


def _set_rule(
    sim: Simulation,
    svc: Service,
    dep: Deployment,
    rule_arn: str,
    lb: LoadBalancerBinding,
    percent: float,
    stage: str,
) -> None:
    """Forward `percent` of the rule's traffic to green, the rest to blue (ModifyRule),
    and keep the change in the rule's history."""
    assert lb.advanced is not None
    parts = rule_arn.split(":")
    if len(parts) < 6:
        return
    region, account = parts[3], parts[4]
    blue_tg, green_tg = lb.target_group_arn, lb.advanced.alternate_target_group_arn
    before = sim.backends.forwarding_rule(account, region, rule_arn)
    if before is None:
        return
    blue_w, green_w = weights(percent)
    current = dict(before.forward)
    if (
        current.get(blue_tg) == blue_w
        and current.get(green_tg, 0) == green_w
        and (green_tg in current or green_w == 0)
    ):
        return
    sim.backends.set_forward_weights(
        account, region, rule_arn, {blue_tg: blue_w, green_tg: green_w}
    )
    after = sim.backends.forwarding_rule(account, region, rule_arn)
    record = _own_record(sim, svc, dep)
    sim.rule_history.setdefault(rule_arn, []).append(
        {
            "time": sim.now,
            "weights": dict(after.forward if after is not None else ()),
            "stage": stage,
            "cluster": svc.cluster_name,
            "service": svc.name,
            "serviceDeploymentArn": None if record is None else record.arn,
        }
    )


# -- helpers -----------------------------------------------------------------------------


def _own_record(sim: Simulation, svc: Service, dep: Deployment) -> ServiceDeploymentRecord | None:
    for record in svc.records:
        if record.deployment_id == dep.id:
            return record
    return None


def _end_waiting_hooks(sim: Simulation, shift: Shift) -> None:
    """Hooks still waiting when the deployment ends another way did not succeed (what
    ECS reports for them then is not documented)."""
    for run in shift.stage_runs:
        if run.waiting:
            run.status, run.next_at, run.finished_at = "FAILED", None, sim.now


def _touch(sim: Simulation, svc: Service, dep: Deployment) -> None:
    dep.updated_at = sim.now
    record = _own_record(sim, svc, dep)
    if record is not None:
        record.updated_at = sim.now


def hook_id(kind: str, bits: int) -> str:
    """`ecs-{hookType}-{id}`, the id 43 URL-safe characters as in ECS's examples."""
    raw = bits.to_bytes(32, "big")
    return f"ecs-{kind}-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")
