"""The deployment engine: what ECS's service scheduler and ELB do after CreateService/UpdateService.

A discrete-event simulation on the simulated clock: every task and target
knows the simulated moment of its next transition; `run_until` processes them
in time order and lets the scheduler (`_reconcile`) act after each, so the
outcome does not depend on how often the background thread ticks or how fast
the clock runs. All state is guarded by one lock; the API layer holds it while
it reads, so every answer is a consistent snapshot.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ecsdeploy import ecs_rules
from ecsdeploy.sandbox import bluegreen, messages
from ecsdeploy.sandbox.backends import MotoBackends
from ecsdeploy.sandbox.clock import SimClock
from ecsdeploy.sandbox.model import (
    DAEMON_DEPLOYMENT_CONFIG,
    DEPLOYMENT_SETTINGS,
    STOP_SECONDS,
    Deployment,
    DeploymentConfig,
    Event,
    HookRun,
    LoadBalancerBinding,
    Service,
    ServiceDeploymentRecord,
    Target,
    Task,
    TaskSpec,
    oriented_like,
    same_wiring,
)
from ecsdeploy.sandbox.placement import InstanceView, dynamic_port, meets_constraints, place

log = logging.getLogger(__name__)

TICK_SECONDS = 0.02  # real seconds between background steps
MAX_EVENTS = 100
MAX_STOPPED_TASKS = 100  # per service, like ECS keeps stopped tasks for a while
DUPLICATE_EVENT_WINDOW = 300.0  # ECS does not repeat an identical message within minutes
CRASH_EXIT_CODE = 1
SCHEDULER_RETRY_SECONDS = 15.0  # how soon an unplaceable task is tried again


def _fargate_like(launch_type: str) -> bool:
    return launch_type != "EC2"


class Simulation:
    """ECS services, their deployments, tasks and load-balancer targets, on a simulated clock."""

    def __init__(
        self, clock: SimClock, backends: MotoBackends | None = None, seed: int | None = None
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.backends = backends or MotoBackends()
        self.now = clock.now()
        self.services: dict[tuple[str, str, str], Service] = {}
        self.tasks: dict[str, Task] = {}  # by ARN
        # Task definition ARN -> what ECS adds to it: registeredAt, registeredBy,
        # deregisteredAt (moto keeps none of them), and the revision as ECS stored it.
        self.task_definitions: dict[str, dict[str, Any]] = {}
        # Services whose next new task definition is broken (`break_next`), and the
        # task definitions so broken: their essential containers crash at start.
        self.break_next: set[str] = set()
        self.broken: set[str] = set()
        # Services of another deployment controller (CODE_DEPLOY, EXTERNAL), which the
        # simulation does not deploy: the settings CreateService gave them, by
        # (region, cluster, name), for DescribeServices (moto drops most of them).
        self.unsimulated: dict[tuple[str, str, str], dict[str, Any]] = {}
        # What the simulated Lambda hooks answer, by function name (bluegreen.py):
        # SUCCEEDED unless set here (`Sandbox.hook_verdict`).
        self.hook_verdicts: dict[str, str] = {}
        # Every change ECS made to a listener rule's weights, by rule ARN, oldest first.
        self.rule_history: dict[str, list[dict[str, Any]]] = {}
        # State of the other simulated AWS parts (CodeDeploy: codedeploy.py), by name;
        # forgotten on reset like the rest.
        self.extensions: dict[str, Any] = {}
        self._seed = seed
        self.rng = random.Random(seed)  # noqa: S311 (ids, not secrets)
        self._ip_counter = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # (simulated seconds, wall-clock epoch) pairs: see `wall`.
        self._anchors: list[tuple[float, float]] = [(self.now, time.time())]

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sandbox-clock", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                with self.lock:
                    self.sync()
            except Exception:
                # Keep the clock ticking: the same error reaches the API caller
                # (as a 500 naming it) on the next request, where it can be seen.
                log.exception("sandbox simulation step failed")
                self._stop.wait(1.0)

    @contextmanager
    def synced(self) -> Iterator[Simulation]:
        """Hold the lock with the engine caught up to the clock: a consistent view."""
        with self.lock:
            self.sync()
            yield self

    def sync(self) -> None:
        self.run_until(self.clock.now())

    def reset(self) -> None:
        with self.lock:
            self.services.clear()
            self.tasks.clear()
            self.task_definitions.clear()
            self.break_next.clear()
            self.broken.clear()
            self.unsimulated.clear()
            self.hook_verdicts.clear()
            self.rule_history.clear()
            self.extensions.clear()
            self.rng = random.Random(self._seed)  # noqa: S311
            self._ip_counter = 0

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.clock.advance(seconds)
            self.sync()

    def settle(self, max_seconds: float = 3600.0, step: float = 5.0) -> bool:
        """Advance the clock until no deployment is in progress; False if it never settles."""
        waited = 0.0
        with self.lock:
            self.sync()
            while not self._settled():
                if waited >= max_seconds:
                    return False
                self.clock.advance(step)
                waited += step
                self.sync()
        return True

    def _settled(self) -> bool:
        for svc in self.services.values():
            if svc.deleted or not svc.deployments:
                continue
            if svc.primary.rollout_state == "FAILED":
                continue
            if not svc.steady:
                return False
        return True

    # -- wall-clock timestamps ------------------------------------------------------
    #
    # The APIs report wall-clock times, never in the future, so clients can compare
    # them with their own clock ("events since I started"): each simulated instant
    # the engine reaches is pinned to the wall time it was reached at, and the
    # moments in between are spread evenly. At a steady speed the pins line up and
    # are merged; a fast-forward (`advance`) squeezes its moments into an instant.

    def _pin(self, t: float) -> None:
        last_sim, last_wall = self._anchors[-1]
        if t <= last_sim:
            return
        wall = max(time.time(), last_wall)
        if len(self._anchors) >= 2:
            # Merge the last pin into a straight line only when that line reports its
            # instant no earlier than it happened (and at most a millisecond later):
            # a timestamp must never precede the call that made it.
            s0, w0 = self._anchors[-2]
            mapped = w0 + (wall - w0) * (last_sim - s0) / (t - s0)
            if last_wall <= mapped <= last_wall + 0.001:
                self._anchors[-1] = (t, wall)
                return
        self._anchors.append((t, wall))

    def wall(self, sim_seconds: float) -> float:
        """The wall-clock epoch time reported for a simulated instant."""
        anchors = self._anchors
        i = bisect_right(anchors, (sim_seconds, float("inf")))
        if i == 0:
            return anchors[0][1]
        s0, w0 = anchors[i - 1]
        if i == len(anchors):
            speed = self.clock.speed
            return w0 + ((sim_seconds - s0) / speed if speed > 0 else 0.0)
        s1, w1 = anchors[i]
        return w0 + (w1 - w0) * (sim_seconds - s0) / (s1 - s0)

    def _fresh_instant(self) -> None:
        """Before a change made by an API call: a simulated instant of its own.

        With the clock paused, changes made at different wall times would share
        one simulated instant (and so one timestamp); a millisecond keeps them apart.
        """
        self.sync()
        if self.now <= self._anchors[-1][0] and time.time() > self._anchors[-1][1] + 0.001:
            self.clock.advance(0.001)
            self.sync()

    # -- ids -------------------------------------------------------------------

    def new_deployment_id(self) -> str:
        return f"ecs-svc/{self.rng.randrange(10**18, 10**19)}"

    def _new_task_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def new_hook_id(self, kind: str) -> str:
        return bluegreen.hook_id(kind, self.rng.getrandbits(256))

    def _new_event_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _new_ip(self) -> str:
        self._ip_counter += 1
        n = self._ip_counter
        return f"10.0.{(n // 250) % 250}.{n % 250 + 4}"

    # -- the API layer's entry points (called with the lock held) -------------

    def find_service(self, region: str, cluster_name: str, name: str) -> Service | None:
        return self.services.get((region, cluster_name, name.split("/")[-1]))

    def find_task(self, region: str, reference: str) -> Task | None:
        task = self.tasks.get(reference)
        if task is not None:
            return task
        task_id = reference.split("/")[-1]
        for t in self.tasks.values():
            if t.id == task_id and f":{region}:" in t.arn:
                return t
        return None

    def serving_tasks(self, cluster_name: str, service_name: str) -> list[Task]:
        """The tasks of a service a load balancer sends requests to now, oldest first:
        RUNNING and healthy in every target group (what counts as healthy for the
        rolling deployment), in whichever region the service is."""
        found = [
            task
            for svc in self.services.values()
            if svc.cluster_name == cluster_name and svc.name == service_name and not svc.deleted
            for task in svc.tasks
            if self._healthy(task)
        ]
        return sorted(found, key=lambda t: (t.created_at, t.id))

    def tasks_in_target_group(self, target_group_arn: str) -> list[Task]:
        """The tasks a load balancer sends a target group's requests to now, oldest first:
        RUNNING and healthy in that target group."""
        found = [
            task
            for task in self.tasks.values()
            if task.live
            and task.last_status == "RUNNING"
            and any(
                t.target_group_arn == target_group_arn and t.state == "healthy" and not t.gone
                for t in task.targets
            )
        ]
        return sorted(found, key=lambda t: (t.created_at, t.id))

    def production_rule(self, cluster_name: str, service_name: str) -> str | None:
        """The production listener rule of a service that has one (advancedConfiguration)."""
        for svc in self.services.values():
            if svc.cluster_name != cluster_name or svc.name != service_name or svc.deleted:
                continue
            for lb in svc.load_balancers:
                if lb.advanced is not None and lb.advanced.production_listener_rule:
                    return lb.advanced.production_listener_rule
        return None

    def targets_of(self, target_group_arn: str) -> list[Target]:
        found: list[Target] = []
        for task in self.tasks.values():
            found.extend(
                t for t in task.targets if t.target_group_arn == target_group_arn and not t.gone
            )
        return found

    def manages_target_group(self, target_group_arn: str) -> bool:
        for svc in self.services.values():
            if any(lb.target_group_arn == target_group_arn for lb in svc.load_balancers):
                return True
        return any(
            t.target_group_arn == target_group_arn
            for task in self.tasks.values()
            for t in task.targets
        )

    def create_service(
        self,
        *,
        region: str,
        account: str,
        cluster_name: str,
        cluster_arn: str,
        name: str,
        arn: str,
        task_definition: str,
        desired_count: int,
        launch_type: str,
        load_balancers: tuple[LoadBalancerBinding, ...],
        deployment_configuration: dict[str, Any] | None,
        health_check_grace_period: float,
        network_configuration: dict[str, Any] | None,
        platform_version: str | None,
        settings: dict[str, Any] | None = None,
        daemon: bool = False,
    ) -> Service:
        self._fresh_instant()
        spec = self.backends.task_spec(account, region, task_definition)
        base = DAEMON_DEPLOYMENT_CONFIG if daemon else DeploymentConfig()
        svc = Service(
            region=region,
            account=account,
            cluster_name=cluster_name,
            cluster_arn=cluster_arn,
            name=name,
            arn=arn,
            desired_count=desired_count,
            launch_type=launch_type,
            load_balancers=load_balancers,
            config=base.merged(deployment_configuration),
            health_check_grace_period=health_check_grace_period,
            network_configuration=network_configuration,
            platform_version=platform_version,
            settings=settings,
            daemon=daemon,
        )
        if daemon:
            svc.desired_count = len(self._daemon_instances(svc))
        old = self.services.get(svc.key)
        if old is not None:
            for task in old.tasks:
                self.tasks.pop(task.arn, None)
        self.services[svc.key] = svc
        self._new_deployment(svc, spec)
        # The scheduler acts at once (not at the next tick), so timings start now.
        self._step()
        return svc

    def update_service(
        self,
        svc: Service,
        *,
        account: str,
        task_definition: str | None,
        desired_count: int | None,
        deployment_configuration: dict[str, Any] | None,
        force_new_deployment: bool,
        load_balancers: tuple[LoadBalancerBinding, ...] | None,
        network_configuration: dict[str, Any] | None,
        health_check_grace_period: float | None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        self._fresh_instant()
        svc.settings |= settings or {}
        if settings and "platformVersion" in settings:
            svc.platform_version = str(settings["platformVersion"])
        if desired_count is not None and not svc.daemon:
            svc.desired_count = desired_count
            svc.steady = False
        svc.config = svc.config.merged(deployment_configuration)
        if health_check_grace_period is not None:
            svc.health_check_grace_period = health_check_grace_period
        new = force_new_deployment
        spec = svc.primary.spec
        if task_definition:
            spec = self.backends.task_spec(account, svc.region, task_definition)
            new = new or spec.arn != svc.primary.spec.arn
        if load_balancers is not None and not same_wiring(load_balancers, svc.load_balancers):
            svc.load_balancers = oriented_like(load_balancers, svc.load_balancers)
            new = True
        if network_configuration is not None and network_configuration != svc.network_configuration:
            svc.network_configuration = network_configuration
            new = True
        # As ECS: sending serviceRegistries or serviceConnectConfiguration starts a new
        # deployment; volumeConfigurations does when they differ from the running ones.
        sent = settings or {}
        if "serviceRegistries" in sent or "serviceConnectConfiguration" in sent:
            new = True
        volumes = sent.get("volumeConfigurations")
        if volumes is not None and volumes != svc.primary.settings.get("volumeConfigurations"):
            new = True
        if new:
            if svc.name in self.break_next and spec.arn != svc.primary.spec.arn:
                self.break_next.discard(svc.name)
                self.broken.add(spec.arn)
            self._new_deployment(svc, spec)
        svc.primary.desired_count = svc.desired_count
        svc.primary.updated_at = self.now
        self._step()

    def delete_service(self, svc: Service) -> None:
        self._fresh_instant()
        svc.deleted = True
        svc.desired_count = 0
        self._step()

    def poke(self) -> None:
        """Let the scheduler look at once after a change outside the simulation
        (an instance registered or drained), as ECS reacts within seconds."""
        self._fresh_instant()
        self._step()

    def stop_task(self, task: Task, reason: str | None) -> None:
        self._fresh_instant()
        svc = self.services.get((self._region_of(task), *self._cluster_service(task)))
        if task.live and svc is not None:
            self._stop_task(svc, task, reason or messages.USER_STOPPED, "UserInitiated")
            self._flush_events(svc)

    @staticmethod
    def _region_of(task: Task) -> str:
        return task.arn.split(":")[3]

    @staticmethod
    def _cluster_service(task: Task) -> tuple[str, str]:
        return (task.cluster_arn.split("/")[-1], task.service_name)

    # -- deployments -------------------------------------------------------------

    def _revision_arn(self, svc: Service, deployment_id: str) -> str:
        number = deployment_id.split("/")[-1]
        return (
            f"arn:aws:ecs:{svc.region}:{svc.account}:service-revision/"
            f"{svc.cluster_name}/{svc.name}/{number}"
        )

    def _deployment_arn(self, svc: Service, deployment_id: str) -> str:
        number = deployment_id.split("/")[-1]
        return (
            f"arn:aws:ecs:{svc.region}:{svc.account}:service-deployment/"
            f"{svc.cluster_name}/{svc.name}/{number}"
        )

    def _new_deployment(
        self, svc: Service, spec: TaskSpec, rollback_of: str | None = None
    ) -> Deployment:
        dep = Deployment(
            deployment_id=self.new_deployment_id(),
            spec=spec,
            desired_count=svc.desired_count,
            created_at=self.now,
            launch_type=svc.launch_type,
            network_configuration=svc.network_configuration,
            platform_version=svc.platform_version,
            config=svc.config,
            rollback_of=rollback_of,
        )
        dep.rollout_state_reason = messages.rollout_in_progress(dep.id)
        dep.settings = {k: svc.settings[k] for k in DEPLOYMENT_SETTINGS if k in svc.settings}
        watched = svc.config.alarms_watched
        if watched:
            states = self.backends.alarm_states(svc.account, svc.region, watched)
            dep.alarms_ignored = "ALARM" in states.values()
        previous = svc.deployments[0] if svc.deployments else None
        if previous is not None:
            bluegreen.supersede(self, svc, previous)
        sources = [(self._revision_arn(svc, d.id), d.id) for d in svc.deployments]
        for d in svc.deployments:
            d.status = "ACTIVE"
            d.updated_at = self.now
            record = self._record(svc, d.id)
            if record is not None and record.status == "IN_PROGRESS":
                record.status = "STOPPED"
                record.status_reason = "Service deployment stopped by a newer service deployment."
                record.stopped_at = record.finished_at = record.updated_at = self.now
                record.circuit_breaker_status = (
                    "MONITORING_COMPLETE"
                    if record.circuit_breaker_status != "DISABLED"
                    else "DISABLED"
                )
                if record.alarms_status == "MONITORING":
                    record.alarms_status = "MONITORING_COMPLETE"
        svc.deployments.insert(0, dep)
        svc.revisions.setdefault(self._revision_arn(svc, dep.id), (spec.arn, self.now))
        svc.steady = False
        if rollback_of is None:
            svc.records.insert(
                0,
                ServiceDeploymentRecord(
                    arn=self._deployment_arn(svc, dep.id),
                    deployment_id=dep.id,
                    created_at=self.now,
                    updated_at=self.now,
                    target_revision_arn=self._revision_arn(svc, dep.id),
                    target_task_definition=spec.arn,
                    source_revisions=sources,
                    config=svc.config,
                    circuit_breaker_status=(
                        "MONITORING" if svc.config.circuit_breaker_enable else "DISABLED"
                    ),
                    threshold=ecs_rules.circuit_breaker_threshold(svc.desired_count),
                    alarms_status="MONITORING" if watched else "DISABLED",
                ),
            )
        self.backends.set_service_task_definition(
            svc.account, svc.region, svc.cluster_name, svc.name, spec.arn
        )
        if svc.config.shifting and not svc.daemon and rollback_of is None:
            bluegreen.begin(self, svc, dep, previous)
        return dep

    def _record(self, svc: Service, deployment_id: str) -> ServiceDeploymentRecord | None:
        for r in svc.records:
            if r.deployment_id == deployment_id or r.rollback_deployment_id == deployment_id:
                return r
        return None

    def deployment(self, svc: Service, deployment_id: str) -> Deployment | None:
        for d in svc.deployments:
            if d.id == deployment_id:
                return d
        return None

    # -- the engine ----------------------------------------------------------------

    def run_until(self, t: float) -> None:
        self._pin(t)
        for _ in range(100_000):
            due = self._next_due()
            if due is None or due > t:
                break
            self.now = max(self.now, due)
            self._step()
        self.now = max(self.now, t)
        self._step()

    def _next_due(self) -> float | None:
        best: float | None = None
        for svc in self.services.values():
            if svc.retry_at is not None and (best is None or svc.retry_at < best):
                best = svc.retry_at
            shift = svc.primary.shift if svc.deployments else None
            if shift is not None:
                for when in bluegreen.due_times(self, shift):
                    if best is None or when < best:
                        best = when
            for task in svc.tasks:
                if task.last_status == "STOPPED" and not task.targets:
                    continue
                for when in self._task_times(svc, task):
                    if best is None or when < best:
                        best = when
        return best

    def _task_times(self, svc: Service, task: Task) -> Iterator[float]:
        if task.next_at is not None:
            yield task.next_at
        for target in task.targets:
            if target.next_at is not None and not target.gone:
                yield target.next_at
            if (
                target.state == "unhealthy"
                and task.live
                and task.started_at is not None
                and not task.unhealthy_reported
            ):
                yield max(
                    target.unhealthy_since or self.now,
                    task.started_at + svc.health_check_grace_period,
                )

    def _step(self) -> None:
        for key, svc in list(self.services.items()):
            for task in list(svc.tasks):
                if task.next_at is not None and task.next_at <= self.now:
                    self._advance_task(svc, task)
                for target in list(task.targets):
                    if (
                        target.next_at is not None
                        and target.next_at <= self.now
                        and not target.gone
                    ):
                        self._advance_target(svc, task, target)
            self._reconcile(svc)
            self._flush_events(svc)
            self._forget_stopped(svc)
            if svc.deleted and not any(t.in_use or t.targets for t in svc.tasks):
                for task in svc.tasks:
                    self.tasks.pop(task.arn, None)
                del self.services[key]

    def _forget_stopped(self, svc: Service) -> None:
        stopped = [t for t in svc.tasks if t.last_status == "STOPPED" and not t.targets]
        for task in stopped[:-MAX_STOPPED_TASKS] if len(stopped) > MAX_STOPPED_TASKS else []:
            svc.tasks.remove(task)
            self.tasks.pop(task.arn, None)

    # -- tasks ---------------------------------------------------------------------

    def _advance_task(self, svc: Service, task: Task) -> None:
        now = self.now
        task.version += 1
        if task.last_status == "PROVISIONING":
            task.last_status = "PENDING"
            task.pull_started_at = now
            task.next_at = now + task.spec.behaviour.start_seconds
        elif task.last_status == "PENDING":
            task.pull_stopped_at = now
            if task.spec.behaviour.crash or task.spec.arn in self.broken:
                # The essential container exits before the task reaches RUNNING: for
                # ECS and its circuit breaker that is a task that failed to start.
                crashed = task.spec.behaviour.crashing_container or task.spec.containers[0].name
                task.exit_codes[crashed] = CRASH_EXIT_CODE
                task.desired_status = "STOPPED"
                task.stopped_reason = messages.ESSENTIAL_EXITED
                task.stop_code = "EssentialContainerExited"
                task.last_status = "STOPPING"
                task.container_status = "STOPPED"
                task.stopping_at = now
                task.next_at = now + STOP_SECONDS
                self._count_failure(svc, task)
                return
            task.last_status = "RUNNING"
            task.container_status = "RUNNING"
            task.started_at = now
            task.next_at = None
            if any(c.has_health_check for c in task.spec.containers):
                task.health_status = "HEALTHY"
            self._register_targets(svc, task)
            if not task.targets:
                self._healthy_task(svc, task)
        elif task.last_status == "STOPPING":
            task.last_status = "STOPPED"
            task.container_status = "STOPPED"
            task.stopped_at = now
            task.next_at = None
            for c in task.spec.containers:
                task.exit_codes.setdefault(c.name, 0 if task.started_at is not None else 137)
        else:
            task.next_at = None

    def _register_targets(self, svc: Service, task: Task) -> None:
        dep = self.deployment(svc, task.deployment_id)
        bindings = svc.load_balancers if dep is None or dep.bindings is None else dep.bindings
        for lb in bindings:
            target_id, port = self._target_address(task, lb)
            settings = self.backends.health_settings(svc.account, svc.region, lb.target_group_arn)
            task.targets.append(
                Target(
                    target_group_arn=lb.target_group_arn,
                    target_id=target_id,
                    port=port,
                    availability_zone=task.availability_zone,
                    registered_at=self.now,
                    settings=settings,
                    will_be_healthy=not task.spec.behaviour.unhealthy,
                )
            )
            registered: dict[str, int] = svc.pending.setdefault("registered", [{}])[0]
            registered[lb.target_group_arn] = registered.get(lb.target_group_arn, 0) + 1

    def _target_address(self, task: Task, lb: LoadBalancerBinding) -> tuple[str, int]:
        if task.spec.network_mode == "awsvpc" or task.ec2_instance_id is None:
            return task.private_ip, lb.container_port
        host = task.host_ports.get((lb.container_name, lb.container_port), lb.container_port)
        return task.ec2_instance_id, host

    def _advance_target(self, svc: Service, task: Task, target: Target) -> None:
        now = self.now
        s = target.settings
        if target.state == "initial":
            threshold = s.healthy_threshold if target.will_be_healthy else s.unhealthy_threshold
            decided = target.registered_at + threshold * s.interval
            if target.reason == "Elb.RegistrationInProgress" and decided > now:
                target.reason = "Elb.InitialHealthChecking"
                target.description = "Initial health checks in progress"
                target.next_at = decided
                return
            target.next_at = None
            if target.will_be_healthy:
                target.state, target.reason, target.description = "healthy", None, None
                if self._healthy(task):
                    self._healthy_task(svc, task)
            else:
                target.state = "unhealthy"
                target.reason = "Target.FailedHealthChecks"
                target.description = "Health checks failed"
                target.unhealthy_since = now
        elif target.state == "draining":
            target.gone = True
            target.next_at = None
            task.targets.remove(target)
            deregistered: dict[str, int] = svc.pending.setdefault("deregistered", [{}])[0]
            deregistered[target.target_group_arn] = deregistered.get(target.target_group_arn, 0) + 1
            if task.last_status == "DEACTIVATING" and not task.targets:
                task.last_status = "STOPPING"
                task.stopping_at = now
                task.next_at = now + STOP_SECONDS
                svc.pending.setdefault("stopped", []).append(task.id)
        else:
            target.next_at = None

    def _healthy_task(self, svc: Service, task: Task) -> None:
        # resetOnHealthyTask (ECS's default): a healthy task resets the failure count.
        dep = self.deployment(svc, task.deployment_id)
        if (
            dep is not None
            and svc.config.reset_on_healthy_task
            and dep.rollout_state == "IN_PROGRESS"
        ):
            dep.failed_tasks = 0

    def _drain(self, task: Task, target: Target) -> None:
        if target.state == "draining" or target.gone:
            return
        target.state = "draining"
        target.reason = "Target.DeregistrationInProgress"
        target.description = "Target deregistration is in progress"
        target.draining_since = self.now
        target.next_at = self.now + target.settings.deregistration_delay

    def _stop_task(
        self, svc: Service, task: Task, reason: str, code: str, *, failed: bool = False
    ) -> None:
        if not task.live:
            return
        now = self.now
        task.version += 1
        task.desired_status = "STOPPED"
        task.stopped_reason = reason
        task.stop_code = code
        if failed:
            self._count_failure(svc, task)
        if task.last_status == "RUNNING":
            if task.targets:
                task.last_status = "DEACTIVATING"
                task.next_at = None
                for target in task.targets:
                    self._drain(task, target)
                svc.pending.setdefault("draining", []).append(task.id)
            else:
                task.last_status = "STOPPING"
                task.stopping_at = now
                task.next_at = now + STOP_SECONDS
                svc.pending.setdefault("stopped", []).append(task.id)
        elif task.last_status in ("PROVISIONING", "PENDING"):
            task.last_status = "STOPPING"
            task.stopping_at = now
            task.next_at = now + STOP_SECONDS

    def _count_failure(self, svc: Service, task: Task) -> None:
        task.failed = True
        dep = self.deployment(svc, task.deployment_id)
        if dep is not None:
            dep.failed_tasks += 1
            dep.updated_at = self.now

    def _healthy(self, task: Task) -> bool:
        """Counts toward minimumHealthyPercent: RUNNING and healthy in every target group."""
        return (
            task.live
            and task.last_status == "RUNNING"
            and all(t.state == "healthy" for t in task.targets)
        )

    # -- the service scheduler -------------------------------------------------------

    def _reconcile(self, svc: Service) -> None:
        if svc.retry_at is not None and svc.retry_at <= self.now:
            svc.retry_at = None
        if not svc.deployments:
            return
        if svc.daemon and not svc.deleted:
            svc.desired_count = len(self._daemon_instances(svc))
        self._react_to_unhealthy_targets(svc)
        self._check_circuit_breaker(svc)
        self._check_alarms(svc)
        bluegreen.finish_rollbacks(self, svc)
        if svc.daemon:
            self._reconcile_daemon(svc)
            return
        shift = svc.primary.shift
        if shift is not None and shift.active and not svc.deleted:
            bluegreen.reconcile(self, svc)
            return

        primary = svc.primary
        desired = svc.desired_count
        cfg = svc.config
        minimum = ecs_rules.min_healthy_tasks(desired, cfg.minimum_healthy_percent)
        maximum = ecs_rules.max_tasks(desired, cfg.maximum_percent)
        # A deployment the circuit breaker failed (without rollback) stops launching
        # tasks, and the scheduler leaves the old ones alone.
        frozen = primary.rollout_state == "FAILED"

        live = [t for t in svc.tasks if t.live]
        healthy = [t for t in live if self._healthy(t)]
        # Tasks on a DRAINING container instance are replaced like old ones, within
        # the same limits (ECS's container instance draining).
        draining = self._draining_instances(svc)

        def staying(t: Task) -> bool:
            return t.deployment_id == primary.id and t.container_instance_arn not in draining

        # Stop what is not wanted: old deployments' tasks and the primary's surplus.
        # Tasks that are not healthy may always go; healthy ones only down to the minimum.
        old = [] if frozen else [t for t in live if not staying(t)]
        primary_live = [t for t in live if staying(t)]
        # Scaling in stops tasks that are not healthy yet first, then the newest.
        by_preference = sorted(primary_live, key=lambda t: (self._healthy(t), -t.created_at))
        surplus = by_preference[: max(0, len(primary_live) - desired)]
        budget = len(healthy) - minimum
        for task in sorted(old + surplus, key=lambda t: (self._healthy(t), t.created_at)):
            if self._healthy(task):
                if budget <= 0:
                    continue
                budget -= 1
            self._stop_task(
                svc, task, messages.scaling_activity(primary.id), "ServiceSchedulerInitiated"
            )

        # Start the primary's missing tasks within maximumPercent.
        live = [t for t in svc.tasks if t.live]
        primary_live = [t for t in live if staying(t)]
        want = desired - len(primary_live)
        room = maximum - len(live)
        if want > 0 and not frozen:
            if room > 0:
                self._launch(svc, primary, min(want, room))
            elif not primary.no_room_reported and not ecs_rules.can_progress(
                desired, cfg.minimum_healthy_percent, cfg.maximum_percent
            ):
                primary.no_room_reported = True
                svc.pending.setdefault("no_room", []).append(
                    messages.no_room(
                        svc.name, primary.id, cfg.minimum_healthy_percent, cfg.maximum_percent
                    )
                )

        # Deployments whose tasks are all gone leave the list.
        for dep in list(svc.deployments[1:]):
            if not any(t.in_use for t in svc.tasks if t.deployment_id == dep.id):
                svc.deployments.remove(dep)
                dep.status = "INACTIVE"

        # Completion and steady state.
        live = [t for t in svc.tasks if t.live]
        primary_live = [t for t in live if staying(t)]
        all_healthy = len(primary_live) == desired and all(self._healthy(t) for t in primary_live)
        settled = all_healthy and len(svc.deployments) == 1 and len(live) == desired
        if primary.rollout_state == "IN_PROGRESS" and settled:
            self._complete(svc, primary)
        quiet = not any(t.last_status in ("DEACTIVATING", "STOPPING") for t in svc.tasks)
        steady_now = settled and primary.rollout_state == "COMPLETED" and quiet
        if steady_now and not svc.steady:
            svc.pending.setdefault("steady", []).append(True)
        svc.steady = steady_now
        primary.desired_count = desired

    def _daemon_instances(self, svc: Service) -> list[str]:
        """The container instances a DAEMON service runs a task on: ACTIVE ones that
        meet its placement constraints (ARNs, in a stable order)."""
        constraints = svc.settings.get("placementConstraints")
        return [
            ci.arn
            for ci in self.backends.container_instances(svc.account, svc.region, svc.cluster_name)
            if ci.status == "ACTIVE" and meets_constraints(constraints, ci.attributes)
        ]

    def _reconcile_daemon(self, svc: Service) -> None:
        """ECS's daemon scheduler: one task of the primary deployment on each eligible
        instance. A deployment replaces tasks in place, instance by instance: the old
        task stops first (healthy ones only down to minimumHealthyPercent of the
        instances), then the new one starts on the instance it freed; maximumPercent
        is 100, so no instance ever runs two. A task on an instance that no longer
        qualifies stops; on a DRAINING instance, once the other services' tasks have
        left it (ECS stops daemon tasks last)."""
        primary = svc.primary
        eligible = [] if svc.deleted else self._daemon_instances(svc)
        where = set(eligible)
        desired = len(eligible)
        minimum = ecs_rules.min_healthy_tasks(desired, svc.config.minimum_healthy_percent)
        frozen = primary.rollout_state == "FAILED"
        reason = messages.scaling_activity(primary.id)

        live = [t for t in svc.tasks if t.live]
        draining = self._draining_instances(svc)
        for task in live:
            if task.container_instance_arn in where:
                continue
            if task.container_instance_arn in draining and self._others_on(svc, task):
                continue
            self._stop_task(svc, task, reason, "ServiceSchedulerInitiated")

        live = [t for t in svc.tasks if t.live and t.container_instance_arn in where]
        budget = sum(1 for t in live if self._healthy(t)) - minimum
        old = [] if frozen else [t for t in live if t.deployment_id != primary.id]
        for task in sorted(old, key=lambda t: (self._healthy(t), t.created_at)):
            if self._healthy(task):
                if budget <= 0:
                    continue
                budget -= 1
            self._stop_task(svc, task, reason, "ServiceSchedulerInitiated")

        if not frozen:
            occupied = {t.container_instance_arn for t in svc.tasks if t.live}
            views = {v.arn: v for v in self._instance_views(svc)}
            started: list[Task] = []
            svc.retry_at = None
            for arn in eligible:
                view = views.get(arn)
                if arn in occupied or view is None:
                    continue
                placed = self._new_task(svc, primary, [view])
                if placed is None:
                    svc.retry_at = self.now + SCHEDULER_RETRY_SECONDS
                    continue
                started.append(placed)
            if started:
                svc.pending.setdefault("started", []).extend(t.id for t in started)
                primary.updated_at = self.now

        for dep in list(svc.deployments[1:]):
            if not any(t.in_use for t in svc.tasks if t.deployment_id == dep.id):
                svc.deployments.remove(dep)
                dep.status = "INACTIVE"

        live = [t for t in svc.tasks if t.live]
        mine = [t for t in live if t.deployment_id == primary.id]
        settled = (
            len(live) == desired
            and {t.container_instance_arn for t in mine} == where
            and len(mine) == desired
            and all(self._healthy(t) for t in mine)
            and len(svc.deployments) == 1
        )
        if primary.rollout_state == "IN_PROGRESS" and settled:
            self._complete(svc, primary)
        quiet = not any(t.last_status in ("DEACTIVATING", "STOPPING") for t in svc.tasks)
        steady_now = settled and primary.rollout_state == "COMPLETED" and quiet
        if steady_now and not svc.steady:
            svc.pending.setdefault("steady", []).append(True)
        svc.steady = steady_now
        primary.desired_count = desired

    def _others_on(self, svc: Service, task: Task) -> bool:
        """Whether tasks of other services still hold the instance `task` runs on."""
        return any(
            other.container_instance_arn == task.container_instance_arn
            and other.in_use
            and (other.service_name, other.cluster_arn) != (svc.name, svc.cluster_arn)
            for other in self.tasks.values()
        )

    def _react_to_unhealthy_targets(self, svc: Service) -> None:
        for task in list(svc.tasks):
            if not task.live or task.started_at is None or task.unhealthy_reported:
                continue
            bad = [t for t in task.targets if t.state == "unhealthy"]
            if not bad:
                continue
            if self.now < task.started_at + svc.health_check_grace_period:
                continue
            task.unhealthy_reported = True
            target = bad[0]
            svc.pending.setdefault("unhealthy", []).append(
                messages.unhealthy_target(
                    svc.name,
                    task.id,
                    target.port,
                    target.target_group_arn,
                    task.ec2_instance_id if task.spec.network_mode != "awsvpc" else None,
                )
            )
            self._stop_task(
                svc,
                task,
                messages.failed_elb_checks(target.target_group_arn),
                "ServiceSchedulerInitiated",
                failed=True,
            )

    def _check_circuit_breaker(self, svc: Service) -> None:
        primary = svc.primary
        cfg = svc.config
        # A rollback deployment has no record of its own: it is the failed one's rollback.
        own = self._record(svc, primary.id)
        record = own if own is not None and own.deployment_id == primary.id else None
        if record is not None:
            record.failure_count = primary.failed_tasks
        if primary.rollout_state != "IN_PROGRESS" or not cfg.circuit_breaker_enable:
            return
        threshold = ecs_rules.circuit_breaker_threshold(svc.desired_count)
        if record is not None:
            record.threshold = threshold
        if primary.failed_tasks < threshold:
            return
        if record is not None:
            record.circuit_breaker_status = "TRIGGERED"
        svc.pending.setdefault("failed", []).append(primary.id)
        if primary.shift is not None and primary.shift.active:
            bluegreen.fail(
                self,
                svc,
                primary,
                messages.CIRCUIT_BREAKER_REASON,
                rollback=cfg.circuit_breaker_rollback,
            )
            return
        self._fail_rolling(
            svc, messages.CIRCUIT_BREAKER_REASON, rollback=cfg.circuit_breaker_rollback
        )

    def _fail_rolling(self, svc: Service, reason: str, *, rollback: bool) -> None:
        """A rolling deployment failed: back to the last completed deployment's revision
        when `rollback` (and there is one), else it stops launching tasks (FAILED)."""
        primary = svc.primary
        own = self._record(svc, primary.id)
        record = own if own is not None and own.deployment_id == primary.id else None
        primary.rollout_state = "FAILED"
        primary.rollout_state_reason = reason
        primary.updated_at = self.now
        target = svc.last_completed
        rollback = rollback and primary.rollback_of is None and target is not None
        if record is not None:
            record.status_reason = reason
            record.updated_at = self.now
            if rollback:
                record.status = "ROLLBACK_IN_PROGRESS"
                record.rollback_started_at = self.now
            else:
                record.status = "STOPPED"
                record.stopped_at = record.finished_at = self.now
        elif own is not None:
            own.status = "ROLLBACK_FAILED"
            own.finished_at = own.updated_at = self.now
        if rollback and target is not None:
            svc.pending.setdefault("rollback", []).append(target.id)
            # Back to the completed deployment's service revision, settings included.
            for name in DEPLOYMENT_SETTINGS:
                svc.settings.pop(name, None)
            svc.settings |= target.settings
            dep = self._new_deployment(svc, target.spec, rollback_of=primary.id)
            if record is not None:
                record.rollback_revision_arn = self._revision_arn(svc, target.id)
                record.rollback_deployment_id = dep.id

    def fired_alarms(self, svc: Service, dep: Deployment) -> list[str]:
        """The deployment alarms in ALARM now (none when they are not watched, or
        were in ALARM already when the deployment started)."""
        names = dep.config.alarms_watched
        if not names or dep.alarms_ignored:
            return []
        states = self.backends.alarm_states(svc.account, svc.region, names)
        return [n for n in names if states.get(n) == "ALARM"]

    def _check_alarms(self, svc: Service) -> None:
        """A rolling deployment fails when one of its alarms goes into ALARM while it is
        in progress (traffic-shifting deployments watch theirs in bluegreen.py)."""
        if not svc.deployments or svc.daemon:
            return
        primary = svc.primary
        if primary.shift is not None or primary.rollout_state != "IN_PROGRESS":
            return
        if primary.rollback_of is not None:
            return
        fired = self.fired_alarms(svc, primary)
        if not fired:
            return
        record = self._record(svc, primary.id)
        if record is not None and record.deployment_id == primary.id:
            record.alarms_status = "TRIGGERED"
            record.triggered_alarms = tuple(fired)
        alarms = primary.config.alarms
        self._fail_rolling(svc, messages.alarms_fired(fired), rollback=bool(alarms and alarms[2]))

    # -- ContinueServiceDeployment and StopServiceDeployment ---------------------------

    def continue_deployment(
        self, svc: Service, record: ServiceDeploymentRecord, run: HookRun, action: str
    ) -> None:
        self._fresh_instant()
        bluegreen.continue_hook(self, svc, record, run, action)
        self._step()

    def stop_deployment(self, svc: Service, record: ServiceDeploymentRecord) -> bool:
        """StopServiceDeployment ROLLBACK on an IN_PROGRESS deployment; False when there
        is nothing to roll back to."""
        self._fresh_instant()
        dep = self.deployment(svc, record.deployment_id)
        if dep is None:
            return False
        if dep.shift is not None and dep.shift.active:
            bluegreen.fail(
                self, svc, dep, messages.STOP_ROLLBACK_REASON, rollback=True, requested=True
            )
        else:
            if dep is not svc.primary or svc.last_completed is None:
                return False
            self._fail_rolling(svc, messages.STOP_ROLLBACK_REASON, rollback=True)
        self._step()
        return True

    def _complete(self, svc: Service, dep: Deployment) -> None:
        dep.rollout_state = "COMPLETED"
        dep.rollout_state_reason = messages.rollout_completed(dep.id)
        dep.updated_at = dep.finished_at = self.now
        svc.last_completed = dep
        svc.pending.setdefault("completed", []).append(dep.id)
        record = self._record(svc, dep.id)
        if record is not None:
            if dep.rollback_of is not None:
                record.status = "ROLLBACK_SUCCESSFUL"
            else:
                record.status = "SUCCESSFUL"
                record.status_reason = None
                if record.circuit_breaker_status == "MONITORING":
                    record.circuit_breaker_status = "MONITORING_COMPLETE"
                if record.alarms_status == "MONITORING":
                    record.alarms_status = "MONITORING_COMPLETE"
            record.finished_at = record.updated_at = self.now

    def _launch(self, svc: Service, dep: Deployment, count: int) -> None:
        started: list[Task] = []
        svc.retry_at = None
        for _ in range(count):
            task = self._new_task(svc, dep)
            if task is None:
                # Capacity may come (an instance registered, a port freed): look again
                # on the scheduler's next pass, as an event so stepping sees it.
                svc.retry_at = self.now + SCHEDULER_RETRY_SECONDS
                break
            started.append(task)
        if started:
            svc.pending.setdefault("started", []).extend(t.id for t in started)
            dep.updated_at = self.now

    def _new_task(
        self, svc: Service, dep: Deployment, views: list[InstanceView] | None = None
    ) -> Task | None:
        spec = dep.spec
        task_id = self._new_task_id()
        arn = f"arn:aws:ecs:{svc.region}:{svc.account}:task/{svc.cluster_name}/{task_id}"
        host_ports: dict[tuple[str, int], int] = {}
        ci_arn: str | None = None
        ec2_id: str | None = None
        if _fargate_like(dep.launch_type):
            zones = ("a", "b", "c")
            az = f"{svc.region}{zones[len(svc.tasks) % len(zones)]}"
            for c in spec.containers:
                for p in c.ports:
                    host_ports[(c.name, p.container_port)] = p.container_port
        else:
            placement = place(spec, self._instance_views(svc) if views is None else views)
            if placement.instance is None:
                svc.pending.setdefault("unplaceable", []).append(placement.failure or "")
                return None
            chosen = placement.instance
            ci_arn, ec2_id, az = chosen.arn, chosen.ec2_instance_id, chosen.availability_zone
            used = set(chosen.ports_used)
            for c in spec.containers:
                for p in c.ports:
                    if spec.network_mode == "awsvpc" or spec.network_mode == "host":
                        host = p.container_port
                    elif p.host_port:
                        host = p.host_port
                    else:
                        host = dynamic_port(used)
                    host_ports[(c.name, p.container_port)] = host
        task = Task(
            arn=arn,
            task_id=task_id,
            cluster_arn=svc.cluster_arn,
            service_name=svc.name,
            deployment_id=dep.id,
            spec=spec,
            launch_type=dep.launch_type,
            created_at=self.now,
            container_instance_arn=ci_arn,
            ec2_instance_id=ec2_id,
            availability_zone=az,
            private_ip=self._new_ip(),
            host_ports=host_ports,
        )
        svc.tasks.append(task)
        self.tasks[arn] = task
        return task

    def _draining_instances(self, svc: Service) -> frozenset[str]:
        if _fargate_like(svc.launch_type):
            return frozenset()
        return self.backends.draining_instance_arns(svc.account, svc.region, svc.cluster_name)

    def _instance_views(self, svc: Service) -> list[InstanceView]:
        instances = self.backends.container_instances(svc.account, svc.region, svc.cluster_name)
        views: list[InstanceView] = []
        for ci in instances:
            if ci.status != "ACTIVE":
                continue  # no new tasks on a DRAINING instance
            cpu = mem = count = mine = 0
            ports: set[int] = set()
            for task in self.tasks.values():
                if task.container_instance_arn != ci.arn or not task.in_use:
                    continue
                cpu += task.spec.cpu
                mem += task.spec.memory
                count += 1
                if task.service_name == svc.name and task.cluster_arn == svc.cluster_arn:
                    mine += 1
                if task.spec.network_mode != "awsvpc":
                    ports.update(task.host_ports.values())
            views.append(
                InstanceView(
                    arn=ci.arn,
                    instance_id=ci.instance_id,
                    ec2_instance_id=ci.ec2_instance_id,
                    availability_zone=ci.availability_zone,
                    cpu_total=ci.cpu,
                    memory_total=ci.memory,
                    cpu_used=cpu,
                    memory_used=mem,
                    ports_used=frozenset(ports),
                    service_tasks=mine,
                    all_tasks=count,
                )
            )
        return views

    def instance_usage(self, container_instance_arn: str) -> tuple[int, int, int, int, set[int]]:
        """(running tasks, pending tasks, cpu used, memory used, host ports held)."""
        running = pending = cpu = mem = 0
        ports: set[int] = set()
        for task in self.tasks.values():
            if task.container_instance_arn != container_instance_arn or not task.in_use:
                continue
            if task.last_status in ("PROVISIONING", "PENDING"):
                pending += 1
            else:
                running += 1
            cpu += task.spec.cpu
            mem += task.spec.memory
            if task.spec.network_mode != "awsvpc":
                ports.update(task.host_ports.values())
        return running, pending, cpu, mem, ports

    # -- events ---------------------------------------------------------------------

    def _flush_events(self, svc: Service) -> None:
        p = svc.pending
        if not p:
            return
        svc.pending = {}
        out: list[str] = list(p.get("unhealthy", []))
        out += [messages.deployment_failed(svc.name, d) for d in p.get("failed", [])]
        out += [messages.rolling_back(svc.name, d) for d in p.get("rollback", [])]
        if p.get("draining"):
            out.append(messages.began_draining(svc.name, len(p["draining"])))
        for tg, n in (p.get("deregistered") or [{}])[0].items():
            out.append(messages.deregistered_targets(svc.name, n, tg))
        if p.get("stopped"):
            out.append(messages.stopped_running(svc.name, p["stopped"]))
        if p.get("started"):
            out.append(messages.started(svc.name, p["started"]))
        for tg, n in (p.get("registered") or [{}])[0].items():
            out.append(messages.registered_targets(svc.name, n, tg))
        for detail in dict.fromkeys(p.get("unplaceable", [])):
            out.append(messages.unable_to_place(svc.name, detail))
        out += p.get("no_room", [])
        out += [messages.deployment_completed(svc.name, d) for d in p.get("completed", [])]
        if p.get("steady"):
            out.append(messages.steady_state(svc.name))
        for message in out:
            self._event(svc, message)

    def _event(self, svc: Service, message: str) -> None:
        for recent in reversed(svc.events):
            if self.now - recent.created_at > DUPLICATE_EVENT_WINDOW:
                break
            if recent.message == message and "unable to place" in message:
                return
        svc.events.append(Event(self._new_event_id(), self.now, message))
        if len(svc.events) > MAX_EVENTS:
            del svc.events[: len(svc.events) - MAX_EVENTS]
