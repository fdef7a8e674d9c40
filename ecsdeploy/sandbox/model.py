"""The simulation's state: task specs read from task definitions, and the mutable
services, deployments, tasks and load-balancer targets the engine moves along.

Value types derived from AWS inputs are frozen; the live objects are plain
classes the engine mutates under its lock.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field, replace
from typing import Any

# Container environment variables the simulated containers obey (docs/sandbox.md).
CRASH_VAR = "SANDBOX_CRASH"
UNHEALTHY_VAR = "SANDBOX_UNHEALTHY"
START_SECONDS_VAR = "SANDBOX_START_SECONDS"

DEFAULT_START_SECONDS = 10.0
PROVISIONING_SECONDS = 2.0
STOP_SECONDS = 2.0
DYNAMIC_PORT_FIRST = 32768

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    host_port: int  # 0: dynamic (bridge) or none needed (awsvpc)
    protocol: str = "tcp"


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    essential: bool
    ports: tuple[PortMapping, ...]
    has_health_check: bool


@dataclass(frozen=True)
class Behaviour:
    """What the simulated containers do, from their SANDBOX_* environment variables."""

    crash: bool = False
    unhealthy: bool = False
    start_seconds: float = DEFAULT_START_SECONDS
    crashing_container: str | None = None


@dataclass(frozen=True)
class TaskSpec:
    """What the engine needs from a task definition to place and run a task."""

    arn: str
    family: str
    network_mode: str
    cpu: int
    memory: int
    cpu_text: str | None
    memory_text: str | None
    containers: tuple[ContainerSpec, ...]
    behaviour: Behaviour

    @property
    def static_host_ports(self) -> frozenset[int]:
        """Host ports a task pins on its instance (bridge/host with a fixed port)."""
        if self.network_mode == "awsvpc":
            return frozenset()
        ports: set[int] = set()
        for c in self.containers:
            for p in c.ports:
                host = p.container_port if self.network_mode == "host" else p.host_port
                if host:
                    ports.add(host)
        return frozenset(ports)


_UNIT = re.compile(r"^\s*([0-9.]+)\s*([a-zA-Z]*)\s*$")


def _parse_cpu(text: Any) -> int:
    if text is None:
        return 0
    m = _UNIT.match(str(text))
    if not m:
        return 0
    value, unit = float(m.group(1)), m.group(2).lower()
    return int(value * 1024) if unit == "vcpu" else int(value)


def _parse_memory(text: Any) -> int:
    if text is None:
        return 0
    m = _UNIT.match(str(text))
    if not m:
        return 0
    value, unit = float(m.group(1)), m.group(2).lower()
    return int(value * 1024) if unit == "gb" else int(value)


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {
        str(e.get("name")): str(e.get("value", ""))
        for e in container.get("environment") or []
        if isinstance(e, dict)
    }


def task_spec_from_definition(arn: str, family: str, definition: dict[str, Any]) -> TaskSpec:
    """Build a TaskSpec from DescribeTaskDefinition-shaped data (camelCase keys)."""
    network_mode = definition.get("networkMode") or "bridge"
    containers: list[ContainerSpec] = []
    crash = unhealthy = False
    crashing: str | None = None
    start_seconds = DEFAULT_START_SECONDS
    cpu_sum = mem_sum = 0
    for raw in definition.get("containerDefinitions") or []:
        ports = tuple(
            PortMapping(
                container_port=int(p.get("containerPort") or 0),
                host_port=int(p.get("hostPort") or 0),
                protocol=str(p.get("protocol") or "tcp"),
            )
            for p in raw.get("portMappings") or []
        )
        essential = bool(raw.get("essential", True))
        containers.append(
            ContainerSpec(
                name=str(raw.get("name")),
                image=str(raw.get("image", "")),
                essential=essential,
                ports=ports,
                has_health_check=bool(raw.get("healthCheck")),
            )
        )
        env = _env(raw)
        if env.get(CRASH_VAR, "").lower() in TRUE_WORDS and essential:
            crash = True
            crashing = crashing or str(raw.get("name"))
        if env.get(UNHEALTHY_VAR, "").lower() in TRUE_WORDS:
            unhealthy = True
        if START_SECONDS_VAR in env:
            with contextlib.suppress(ValueError):
                start_seconds = max(start_seconds, float(env[START_SECONDS_VAR]))
        cpu_sum += int(raw.get("cpu") or 0)
        mem_sum += int(raw.get("memory") or raw.get("memoryReservation") or 0)
    cpu = _parse_cpu(definition.get("cpu")) or cpu_sum
    memory = _parse_memory(definition.get("memory")) or mem_sum
    return TaskSpec(
        arn=arn,
        family=family,
        network_mode=str(network_mode),
        cpu=cpu,
        memory=memory,
        cpu_text=None if definition.get("cpu") is None else str(definition.get("cpu")),
        memory_text=None if definition.get("memory") is None else str(definition.get("memory")),
        containers=tuple(containers),
        behaviour=Behaviour(
            crash=crash,
            unhealthy=unhealthy,
            start_seconds=start_seconds,
            crashing_container=crashing,
        ),
    )


@dataclass(frozen=True)
class AdvancedConfig:
    """loadBalancers[].advancedConfiguration: what ECS moves traffic with during a
    BLUE_GREEN, LINEAR or CANARY deployment."""

    alternate_target_group_arn: str
    production_listener_rule: str | None = None
    test_listener_rule: str | None = None
    role_arn: str | None = None

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"alternateTargetGroupArn": self.alternate_target_group_arn}
        if self.production_listener_rule is not None:
            out["productionListenerRule"] = self.production_listener_rule
        if self.test_listener_rule is not None:
            out["testListenerRule"] = self.test_listener_rule
        if self.role_arn is not None:
            out["roleArn"] = self.role_arn
        return out


@dataclass(frozen=True)
class LoadBalancerBinding:
    target_group_arn: str
    container_name: str
    container_port: int
    advanced: AdvancedConfig | None = None

    def swapped(self) -> LoadBalancerBinding:
        """The binding once the alternate target group serves production: ECS's next
        deployment starts its tasks in the other one."""
        if self.advanced is None:
            return self
        return replace(
            self,
            target_group_arn=self.advanced.alternate_target_group_arn,
            advanced=replace(self.advanced, alternate_target_group_arn=self.target_group_arn),
        )

    def green(self) -> LoadBalancerBinding:
        """Where a traffic-shifting deployment's new tasks register: the alternate group."""
        if self.advanced is None:
            return self
        return replace(self, target_group_arn=self.advanced.alternate_target_group_arn)


def oriented_like(
    new: tuple[LoadBalancerBinding, ...], old: tuple[LoadBalancerBinding, ...]
) -> tuple[LoadBalancerBinding, ...]:
    """`new`, each pair of target groups turned so that the one serving production now
    (the `old` binding's target group) stays the target group: ECS keeps track of which
    one serves, whichever way round a later UpdateService names them."""
    serving = {lb.target_group_arn: lb for lb in old if lb.advanced is not None}
    out: list[LoadBalancerBinding] = []
    for lb in new:
        before = serving.get(lb.advanced.alternate_target_group_arn) if lb.advanced else None
        flipped = (
            before is not None
            and before.advanced is not None
            and before.advanced.alternate_target_group_arn == lb.target_group_arn
        )
        out.append(lb.swapped() if flipped else lb)
    return tuple(out)


def same_wiring(a: tuple[LoadBalancerBinding, ...], b: tuple[LoadBalancerBinding, ...]) -> bool:
    """Whether two loadBalancers lists wire the same target groups and rules, whichever
    of each pair serves production now (ECS swaps them as deployments succeed)."""
    return len(a) == len(b) and all(x == y or x == y.swapped() for x, y in zip(a, b, strict=True))


@dataclass(frozen=True)
class HealthSettings:
    """A target group's health-check timing, read when a target registers."""

    interval: float = 30.0
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    deregistration_delay: float = 300.0
    port: str = "traffic-port"


# ECS's deployment strategies (deploymentConfiguration.strategy) and their defaults
# (the ECS API reference: LinearConfiguration, CanaryConfiguration,
# DeploymentLifecycleHook, DeploymentLifecycleHookTimeoutConfiguration).
STRATEGIES = ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")
LINEAR_DEFAULT = (10.0, 6)  # stepPercent, stepBakeTimeInMinutes
CANARY_DEFAULT = (5.0, 10)  # canaryPercent, canaryBakeTimeInMinutes
HOOK_TIMEOUT_MINUTES = 1440
HOOK_TIMEOUT_ACTION = "ROLLBACK"


@dataclass(frozen=True)
class HookSpec:
    """One lifecycleHooks entry, with ECS's defaults filled in."""

    target_type: str  # AWS_LAMBDA (ECS's default) or PAUSE
    stages: tuple[str, ...]
    target_arn: str | None = None
    role_arn: str | None = None
    timeout_minutes: int = HOOK_TIMEOUT_MINUTES
    timeout_action: str = HOOK_TIMEOUT_ACTION
    details: Any = None  # hookDetails, kept as sent (a JSON document)

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"targetType": self.target_type}
        if self.target_arn is not None:
            out["hookTargetArn"] = self.target_arn
        if self.role_arn is not None:
            out["roleArn"] = self.role_arn
        out["lifecycleStages"] = list(self.stages)
        if self.details is not None:
            out["hookDetails"] = self.details
        out["timeoutConfiguration"] = {
            "timeoutInMinutes": self.timeout_minutes,
            "action": self.timeout_action,
        }
        return out


def hook_from_api(raw: dict[str, Any]) -> HookSpec:
    timeout = raw.get("timeoutConfiguration") or {}
    return HookSpec(
        target_type=str(raw.get("targetType") or "AWS_LAMBDA"),
        stages=tuple(str(s) for s in raw.get("lifecycleStages") or ()),
        target_arn=None if raw.get("hookTargetArn") is None else str(raw["hookTargetArn"]),
        role_arn=None if raw.get("roleArn") is None else str(raw["roleArn"]),
        timeout_minutes=int(timeout.get("timeoutInMinutes") or HOOK_TIMEOUT_MINUTES),
        timeout_action=str(timeout.get("action") or HOOK_TIMEOUT_ACTION),
        details=raw.get("hookDetails"),
    )


@dataclass(frozen=True)
class DeploymentConfig:
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    circuit_breaker_enable: bool = False
    circuit_breaker_rollback: bool = False
    reset_on_healthy_task: bool = True
    # deploymentConfiguration.alarms (names, enable, rollback); None: never set, and
    # then DescribeServices has no `alarms`, as ECS.
    alarms: tuple[tuple[str, ...], bool, bool] | None = None
    # The strategy as sent; None: never sent (ROLLING), and then DescribeServices
    # shows none, as for services created before ECS had strategies.
    strategy: str | None = None
    bake_time: int | None = None  # bakeTimeInMinutes
    linear: tuple[float, int] | None = None  # stepPercent, stepBakeTimeInMinutes
    canary: tuple[float, int] | None = None  # canaryPercent, canaryBakeTimeInMinutes
    hooks: tuple[HookSpec, ...] | None = None  # lifecycleHooks; None: never sent

    @property
    def effective_strategy(self) -> str:
        return self.strategy or "ROLLING"

    @property
    def shifting(self) -> bool:
        """BLUE_GREEN, LINEAR or CANARY: a second set of tasks, then traffic moves."""
        return self.effective_strategy != "ROLLING"

    @property
    def alarms_watched(self) -> tuple[str, ...]:
        """The alarms that fail a deployment (none when not enabled)."""
        if self.alarms is None or not self.alarms[1]:
            return ()
        return self.alarms[0]

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "deploymentCircuitBreaker": {
                "enable": self.circuit_breaker_enable,
                "rollback": self.circuit_breaker_rollback,
            },
            "maximumPercent": self.maximum_percent,
            "minimumHealthyPercent": self.minimum_healthy_percent,
        }
        if self.alarms is not None:
            names, enable, rollback = self.alarms
            out["alarms"] = {"alarmNames": list(names), "enable": enable, "rollback": rollback}
        if self.strategy is not None:
            out["strategy"] = self.strategy
        if self.bake_time is not None:
            out["bakeTimeInMinutes"] = self.bake_time
        if self.linear is not None:
            out["linearConfiguration"] = {
                "stepPercent": self.linear[0],
                "stepBakeTimeInMinutes": self.linear[1],
            }
        if self.canary is not None:
            out["canaryConfiguration"] = {
                "canaryPercent": self.canary[0],
                "canaryBakeTimeInMinutes": self.canary[1],
            }
        if self.hooks is not None:
            out["lifecycleHooks"] = [h.to_api() for h in self.hooks]
        return out

    def merged(self, raw: dict[str, Any] | None) -> DeploymentConfig:
        if not raw:
            return self
        cb = raw.get("deploymentCircuitBreaker") or {}
        strategy = str(raw["strategy"]) if raw.get("strategy") else self.strategy
        return DeploymentConfig(
            minimum_healthy_percent=int(
                raw.get("minimumHealthyPercent", self.minimum_healthy_percent)
            ),
            maximum_percent=int(raw.get("maximumPercent", self.maximum_percent)),
            circuit_breaker_enable=bool(cb.get("enable", self.circuit_breaker_enable)),
            circuit_breaker_rollback=bool(cb.get("rollback", self.circuit_breaker_rollback)),
            reset_on_healthy_task=bool(cb.get("resetOnHealthyTask", self.reset_on_healthy_task)),
            # Left out of an UpdateService, the alarms stay as they are.
            alarms=self.alarms if "alarms" not in raw else _alarms(raw["alarms"]),
            strategy=strategy,
            bake_time=self.bake_time
            if "bakeTimeInMinutes" not in raw
            else _int_or_none(raw["bakeTimeInMinutes"]),
            linear=_shift_config(
                raw,
                "linearConfiguration",
                ("stepPercent", "stepBakeTimeInMinutes"),
                self.linear if strategy == "LINEAR" else None,
                LINEAR_DEFAULT if strategy == "LINEAR" else None,
            ),
            canary=_shift_config(
                raw,
                "canaryConfiguration",
                ("canaryPercent", "canaryBakeTimeInMinutes"),
                self.canary if strategy == "CANARY" else None,
                CANARY_DEFAULT if strategy == "CANARY" else None,
            ),
            hooks=self.hooks
            if "lifecycleHooks" not in raw
            else tuple(
                hook_from_api(h) for h in raw["lifecycleHooks"] or () if isinstance(h, dict)
            ),
        )


# What ECS reports for a DAEMON service created without a deployment configuration:
# a daemon task is replaced in place, so no task above the count, none kept by default.
DAEMON_DEPLOYMENT_CONFIG = DeploymentConfig(minimum_healthy_percent=0, maximum_percent=100)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _shift_config(
    raw: dict[str, Any],
    key: str,
    names: tuple[str, str],
    current: tuple[float, int] | None,
    default: tuple[float, int] | None,
) -> tuple[float, int] | None:
    """linearConfiguration or canaryConfiguration: as sent, ECS's defaults for what was
    left out; kept while the strategy stays; none for another strategy."""
    if default is None:
        return None
    sent = raw.get(key)
    if not isinstance(sent, dict):
        return current or default
    percent = sent.get(names[0])
    minutes = sent.get(names[1])
    return (
        default[0] if percent is None else float(percent),
        default[1] if minutes is None else int(minutes),
    )


def _alarms(raw: Any) -> tuple[tuple[str, ...], bool, bool] | None:
    if not isinstance(raw, dict):
        return None
    names = tuple(str(n) for n in raw.get("alarmNames") or ())
    return names, bool(raw.get("enable")), bool(raw.get("rollback"))


# Settings ECS reports on each deployment rather than on the service (DescribeServices'
# `deployments`): the ones of the service revision the deployment runs.
DEPLOYMENT_SETTINGS = ("serviceConnectConfiguration", "volumeConfigurations")


@dataclass(frozen=True)
class Event:
    id: str
    created_at: float  # simulated seconds
    message: str


class Target:
    """One task's registration in one target group, walking ELB's health states."""

    def __init__(
        self,
        target_group_arn: str,
        target_id: str,
        port: int,
        availability_zone: str,
        registered_at: float,
        settings: HealthSettings,
        will_be_healthy: bool,
    ) -> None:
        self.target_group_arn = target_group_arn
        self.target_id = target_id
        self.port = port
        self.availability_zone = availability_zone
        self.registered_at = registered_at
        self.settings = settings
        self.will_be_healthy = will_be_healthy
        self.state = "initial"
        self.reason: str | None = "Elb.RegistrationInProgress"
        self.description: str | None = "Target registration is in progress"
        self.unhealthy_since: float | None = None
        self.draining_since: float | None = None
        self.next_at: float | None = registered_at + settings.interval
        self.gone = False


class Task:
    """A task the simulated scheduler started for a service."""

    def __init__(
        self,
        *,
        arn: str,
        task_id: str,
        cluster_arn: str,
        service_name: str,
        deployment_id: str,
        spec: TaskSpec,
        launch_type: str,
        created_at: float,
        container_instance_arn: str | None,
        ec2_instance_id: str | None,
        availability_zone: str,
        private_ip: str,
        host_ports: dict[tuple[str, int], int],
    ) -> None:
        self.arn = arn
        self.id = task_id
        self.cluster_arn = cluster_arn
        self.service_name = service_name
        self.deployment_id = deployment_id
        self.spec = spec
        self.launch_type = launch_type
        self.created_at = created_at
        self.container_instance_arn = container_instance_arn
        self.ec2_instance_id = ec2_instance_id
        self.availability_zone = availability_zone
        self.private_ip = private_ip
        # (container name, container port) -> host port
        self.host_ports = host_ports
        self.last_status = "PROVISIONING"
        self.desired_status = "RUNNING"
        self.health_status = "UNKNOWN"
        self.started_at: float | None = None
        self.pull_started_at: float | None = None
        self.pull_stopped_at: float | None = None
        self.stopping_at: float | None = None
        self.stopped_at: float | None = None
        self.stopped_reason: str | None = None
        self.stop_code: str | None = None
        self.exit_codes: dict[str, int] = {}
        self.container_status = "PENDING"
        self.targets: list[Target] = []
        self.next_at: float | None = created_at + PROVISIONING_SECONDS
        self.version = 1
        # Why the scheduler failed the task, counted by the circuit breaker.
        self.failed = False
        self.unhealthy_reported = False

    @property
    def live(self) -> bool:
        """Wanted running by the scheduler (counts against maximumPercent)."""
        return self.desired_status == "RUNNING"

    @property
    def in_use(self) -> bool:
        """Still holding instance resources (CPU, memory, ports)."""
        return self.last_status != "STOPPED"


class Deployment:
    def __init__(
        self,
        *,
        deployment_id: str,
        spec: TaskSpec,
        desired_count: int,
        created_at: float,
        launch_type: str,
        network_configuration: dict[str, Any] | None,
        platform_version: str | None,
        config: DeploymentConfig,
        rollback_of: str | None = None,
    ) -> None:
        self.id = deployment_id
        self.spec = spec
        self.desired_count = desired_count
        self.created_at = created_at
        self.updated_at = created_at
        self.launch_type = launch_type
        self.network_configuration = network_configuration
        self.platform_version = platform_version
        self.config = config
        self.status = "PRIMARY"
        self.rollout_state = "IN_PROGRESS"
        self.rollout_state_reason = ""
        self.failed_tasks = 0
        self.rollback_of = rollback_of
        self.no_room_reported = False
        self.finished_at: float | None = None
        # DEPLOYMENT_SETTINGS of this deployment, as sent.
        self.settings: dict[str, Any] = {}
        # Where its tasks register: None for the service's loadBalancers; a
        # traffic-shifting deployment's go to the alternate target groups.
        self.bindings: tuple[LoadBalancerBinding, ...] | None = None
        # BLUE_GREEN, LINEAR, CANARY: the lifecycle stages it walks (bluegreen.py).
        self.shift: Shift | None = None
        # Deployment alarms already in ALARM when it started: ECS ignores the alarms
        # for the whole deployment then (the ECS developer guide, deployment alarms).
        self.alarms_ignored = False


# The lifecycle stages of a BLUE_GREEN, LINEAR or CANARY deployment, in order
# (ServiceDeployment.lifecycleStage; PRE_ and PRODUCTION_TRAFFIC_SHIFT repeat per step).
RECONCILE_SERVICE = "RECONCILE_SERVICE"
PRE_SCALE_UP = "PRE_SCALE_UP"
SCALE_UP = "SCALE_UP"
POST_SCALE_UP = "POST_SCALE_UP"
TEST_TRAFFIC_SHIFT = "TEST_TRAFFIC_SHIFT"
POST_TEST_TRAFFIC_SHIFT = "POST_TEST_TRAFFIC_SHIFT"
PRE_PRODUCTION_TRAFFIC_SHIFT = "PRE_PRODUCTION_TRAFFIC_SHIFT"
PRODUCTION_TRAFFIC_SHIFT = "PRODUCTION_TRAFFIC_SHIFT"
POST_PRODUCTION_TRAFFIC_SHIFT = "POST_PRODUCTION_TRAFFIC_SHIFT"
BAKE_TIME = "BAKE_TIME"
CLEAN_UP = "CLEAN_UP"
# Where a hook may run (DeploymentLifecycleHookStage), and where a PAUSE hook may not:
# those two stages run again during a rollback (the ECS developer guide, lifecycle hooks).
HOOK_STAGES = (
    RECONCILE_SERVICE,
    PRE_SCALE_UP,
    POST_SCALE_UP,
    TEST_TRAFFIC_SHIFT,
    POST_TEST_TRAFFIC_SHIFT,
    PRE_PRODUCTION_TRAFFIC_SHIFT,
    PRODUCTION_TRAFFIC_SHIFT,
    POST_PRODUCTION_TRAFFIC_SHIFT,
)
NO_PAUSE_STAGES = (TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT)


class HookRun:
    """One run of a lifecycle hook at one stage (DeploymentLifecycleHookDetail)."""

    def __init__(
        self, hook_id: str, spec: HookSpec, stage: str, started_at: float, expires_at: float
    ) -> None:
        self.hook_id = hook_id
        self.spec = spec
        self.stage = stage
        self.started_at = started_at
        self.expires_at = expires_at
        pause = spec.target_type == "PAUSE"
        self.status = "AWAITING_ACTION" if pause else "IN_PROGRESS"
        self.next_at: float | None = None  # when the (simulated) Lambda function answers
        self.finished_at: float | None = None

    @property
    def waiting(self) -> bool:
        return self.status in ("AWAITING_ACTION", "IN_PROGRESS")

    @property
    def passed(self) -> bool:
        """Done, and the deployment may go on."""
        return self.status == "SUCCEEDED" or (
            self.status == "TIMED_OUT" and self.spec.timeout_action == "CONTINUE"
        )


class Shift:
    """Where a traffic-shifting deployment is: its stage, production share, hooks."""

    def __init__(
        self,
        *,
        strategy: str,
        blue_id: str | None,
        wiring: tuple[LoadBalancerBinding, ...],
        steps: tuple[float, ...],
        step_bakes: tuple[float, ...],
        bake_seconds: float,
        stage: str,
    ) -> None:
        self.strategy = strategy
        self.blue_id = blue_id  # the deployment serving production when it started
        # The service's loadBalancers when it started: target groups serving production
        # (blue), the alternate ones its tasks register in (green), and the rules.
        self.wiring = wiring
        self.steps = steps  # production share of green after each shift, in percent
        self.step_bakes = step_bakes  # seconds to wait after each shift
        self.bake_seconds = bake_seconds
        self.stage = stage
        self.step = 0
        self.production_percent = 0.0
        self.test_shifted = False
        self.wait_until: float | None = None
        self.hooks: list[HookRun] = []  # every run, oldest first
        self.stage_runs: list[HookRun] = []  # the runs of the stage it is in
        # active -> done | stopped | rollback_requested -> rolling_back -> rolled_back
        self.state = "active"
        self.rollback_at: float | None = None
        self.rollback_reason = ""
        self.checked = False  # the production rules were looked at before anything moved

    @property
    def active(self) -> bool:
        """Still walking its stages (not finished, failed or rolling back)."""
        return self.state in ("active", "rollback_requested")

    @property
    def watching_alarms(self) -> bool:
        """ECS watches the deployment alarms while production traffic moves and during
        the bake time (the ECS developer guide, blue/green deployment workflow)."""
        return self.production_percent > 0 or self.stage in (
            PRODUCTION_TRAFFIC_SHIFT,
            POST_PRODUCTION_TRAFFIC_SHIFT,
            BAKE_TIME,
        )


@dataclass
class ServiceDeploymentRecord:
    """The ListServiceDeployments/DescribeServiceDeployments view of one deployment."""

    arn: str
    deployment_id: str
    created_at: float
    target_revision_arn: str
    target_task_definition: str
    source_revisions: list[tuple[str, str]]  # (revision arn, deployment id)
    config: DeploymentConfig
    status: str = "IN_PROGRESS"
    status_reason: str | None = None
    finished_at: float | None = None
    stopped_at: float | None = None
    updated_at: float = 0.0
    rollback_started_at: float | None = None
    rollback_revision_arn: str | None = None
    rollback_deployment_id: str | None = None
    circuit_breaker_status: str = "DISABLED"
    failure_count: int = 0
    threshold: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    alarms_status: str = "DISABLED"
    triggered_alarms: tuple[str, ...] = ()
    # A traffic-shifting deployment's stages and hooks (the same object as its
    # Deployment's, which outlives the deployment's place in the service).
    shift: Shift | None = None


class Service:
    def __init__(
        self,
        *,
        region: str,
        account: str,
        cluster_name: str,
        cluster_arn: str,
        name: str,
        arn: str,
        desired_count: int,
        launch_type: str,
        load_balancers: tuple[LoadBalancerBinding, ...],
        config: DeploymentConfig,
        health_check_grace_period: float,
        network_configuration: dict[str, Any] | None,
        platform_version: str | None,
        settings: dict[str, Any] | None = None,
        daemon: bool = False,
    ) -> None:
        self.region = region
        self.account = account
        self.cluster_name = cluster_name
        self.cluster_arn = cluster_arn
        self.name = name
        self.arn = arn
        self.desired_count = desired_count
        self.launch_type = launch_type
        self.load_balancers = load_balancers
        self.config = config
        self.health_check_grace_period = health_check_grace_period
        self.network_configuration = network_configuration
        self.platform_version = platform_version
        # Service settings ECS keeps and reports as they were sent (SERVICE_SETTINGS in
        # the API layer), with ECS's defaults for those not sent.
        self.settings: dict[str, Any] = dict(settings or {})
        # schedulingStrategy DAEMON: one task on each ACTIVE container instance that
        # meets the placement constraints; desired_count follows those instances.
        self.daemon = daemon
        self.deployments: list[Deployment] = []  # newest first; [0] is PRIMARY
        self.tasks: list[Task] = []
        self.events: list[Event] = []  # oldest first; reversed when reported
        self.records: list[ServiceDeploymentRecord] = []
        # Service revision ARN -> (task definition ARN, created at): DescribeServiceRevisions.
        self.revisions: dict[str, tuple[str, float]] = {}
        self.last_completed: Deployment | None = None
        self.steady = False
        self.deleted = False
        self.retry_at: float | None = None  # when to try placing tasks again
        # Event fragments gathered during one engine step, worded at its end.
        self.pending: dict[str, list[Any]] = {}

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.region, self.cluster_name, self.name)
