"""The simulation's state: task specs read from task definitions, and the mutable
services, deployments, tasks and load-balancer targets the engine moves along.

Value types derived from AWS inputs are frozen; the live objects are plain
classes the engine mutates under its lock.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
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
class LoadBalancerBinding:
    target_group_arn: str
    container_name: str
    container_port: int


@dataclass(frozen=True)
class HealthSettings:
    """A target group's health-check timing, read when a target registers."""

    interval: float = 30.0
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    deregistration_delay: float = 300.0
    port: str = "traffic-port"


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
        return out

    def merged(self, raw: dict[str, Any] | None) -> DeploymentConfig:
        if not raw:
            return self
        cb = raw.get("deploymentCircuitBreaker") or {}
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
        )


# What ECS reports for a DAEMON service created without a deployment configuration:
# a daemon task is replaced in place, so no task above the count, none kept by default.
DAEMON_DEPLOYMENT_CONFIG = DeploymentConfig(minimum_healthy_percent=0, maximum_percent=100)


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
