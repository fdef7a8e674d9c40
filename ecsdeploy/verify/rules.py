"""The pre-flight rules: a service, its rendered task definition and observed facts -> findings.

Pure functions, no I/O: `observe.py` gathers the facts, this module judges them,
so every rule can be tested on its own with made-up facts. The rolling-update
arithmetic uses ECS's documented rounding (`ecsdeploy.ecs_rules`): the minimum
healthy count rounds up, the maximum count rounds down.

Each finding is either a *downtime* finding (traffic would be dropped: no load
balancer, every task may stop, no health check) or a *failure* finding (the
deployment would fail or stall half-way: missing image, role, log group, secret,
target group, no room to place a task). `zero_downtime: false` on a service
turns its downtime findings into notes, and `apply --allow-downtime` lets
downtime errors through; failure errors always block, because the deploy would
break whatever the user accepts about downtime.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ecsdeploy import ecs_rules
from ecsdeploy.config.model import LoadBalancer, Service
from ecsdeploy.findings import SEVERITIES, Finding, Severity
from ecsdeploy.plan.normalize import parse_cpu, parse_memory
from ecsdeploy.render.checks import LITERAL_VALUE_WHY, secret_literals
from ecsdeploy.words import plural

# Targets that need this long (healthy threshold x interval) to turn healthy are
# a slow start worth a grace period.
SLOW_HEALTHY_SECONDS = 60


# --- observed facts ---------------------------------------------------------------------


@dataclass(frozen=True)
class TargetGroupFacts:
    """A target group as DescribeTargetGroups and its attributes show it."""

    arn: str
    name: str
    protocol: str | None = "HTTP"
    port: int | None = None
    target_type: str = "instance"
    health_check_enabled: bool = True
    health_check_path: str | None = "/"
    interval: int = 30
    timeout: int = 5
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    deregistration_delay: int = 300
    load_balancers: tuple[str, ...] = ()
    # Listeners whose default action or one of whose rules forwards to it.
    listeners: tuple[str, ...] = ()
    vpc_id: str | None = None


@dataclass(frozen=True)
class ListenerRuleFacts:
    """A production or test listener rule (an Application Load Balancer's rule, a Network
    Load Balancer's listener) as DescribeRules or DescribeListeners shows it."""

    arn: str
    listener: str  # the listener's ARN (its own, for a listener)
    load_balancer: str  # the load balancer's ARN
    # What its forward action sends traffic to: target group ARN -> weight.
    forwards: Mapping[str, int] = field(default_factory=dict)
    # The types of its actions that are not `forward` (authenticate-oidc, redirect, ...).
    other_actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstanceFacts:
    """A container instance as DescribeContainerInstances shows it.

    ECS's `remainingResources` PORTS lists the host ports *in use* (reserved by
    the agent or held by tasks), despite the name.
    """

    arn: str
    status: str = "ACTIVE"
    registered_cpu: int = 4096
    registered_memory: int = 7982
    remaining_cpu: int = 4096
    remaining_memory: int = 7982
    ports_tcp: frozenset[int] = frozenset()
    ports_udp: frozenset[int] = frozenset()
    ec2_instance_id: str | None = None
    agent_connected: bool = True

    @property
    def short_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ImageFacts:
    """Whether an image the task definition names will be in its registry at deploy time."""

    key: str
    uri: str
    available: bool  # the tag exists, or the plan will make it (promote / push)
    detail: str | None = None  # why not, when it is not
    # The look-up itself failed (`detail` says why, e.g. an unreachable registry): not
    # known to be missing. `source` is how deploy.yaml makes the image ("promote",
    # "local" or None: it is only pulled), `registry` the registry's key and URL.
    unchecked: bool = False
    source: str | None = None
    registry: tuple[str, str] | None = None


@dataclass(frozen=True)
class LogGroupRef:
    name: str
    region: str | None  # None: the deploy's region


@dataclass(frozen=True)
class SecretRef:
    """A `valueFrom` (or credentialsParameter): a Secrets Manager secret or an SSM parameter."""

    kind: Literal["secretsmanager", "ssm"]
    id: str  # the SecretId (ARN without JSON key and version suffix) or the parameter name
    region: str | None
    value_from: str  # as written in the task definition, for messages
    container: str


@dataclass(frozen=True)
class CapacityFacts:
    """A cluster's capacity providers (DescribeClusters, DescribeCapacityProviders)."""

    associated: frozenset[str]
    default_strategy: tuple[str, ...]
    managed_scaling: Mapping[str, bool]  # Auto Scaling group provider -> scaling on


@dataclass(frozen=True)
class ServiceFacts:
    """What verify observed for one service. Empty maps mean "not looked up"."""

    launch_type: str = "EC2"  # EC2, FARGATE or EXTERNAL, resolved
    exists: bool = True  # the ECS service exists (otherwise it will be created)
    # Each target group of `load_balancers`, by the name or ARN deploy.yaml gives;
    # one that is missing was not found.
    target_groups: Mapping[str, TargetGroupFacts] = field(default_factory=dict)
    instances: tuple[InstanceFacts, ...] | None = None  # None: not looked up (Fargate)
    grace_period: float | None = None  # the live service's, used when deploy.yaml has none
    live_desired: int | None = None  # the live service's count, used when deploy.yaml has none
    # The capacity provider strategy in effect (deploy.yaml's, else the live one's, else
    # the cluster's default for a new service without a launch type), and the cluster's.
    providers: tuple[str, ...] = ()
    capacity: CapacityFacts | None = None
    images: tuple[ImageFacts, ...] = ()
    roles: Mapping[str, bool] = field(default_factory=dict)  # role name -> exists
    log_groups: Mapping[LogGroupRef, bool] = field(default_factory=dict)
    secrets: Mapping[SecretRef, bool] = field(default_factory=dict)
    alarms: Mapping[str, bool] = field(default_factory=dict)  # CloudWatch alarm -> exists
    namespaces: Mapping[str, bool] = field(default_factory=dict)  # Cloud Map namespace -> exists
    # blue_green, linear, canary: the production and test listener rules by the ARN
    # deploy.yaml gives (one that is missing was not found); the roles ECS assumes (the
    # load balancers' and the hooks') -> the service principals their trust policies let
    # assume them (None: no such role); the hooks' Lambda functions -> exist.
    listener_rules: Mapping[str, ListenerRuleFacts] = field(default_factory=dict)
    shift_roles: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    hook_functions: Mapping[str, bool] = field(default_factory=dict)


# --- what a task definition needs -------------------------------------------------------


@dataclass(frozen=True)
class TaskNeeds:
    """What one task takes from a container instance (ECS's placement view)."""

    network_mode: str
    cpu: int
    memory: int
    tcp_ports: frozenset[int]  # static host ports
    udp_ports: frozenset[int]

    @property
    def static_ports(self) -> bool:
        return bool(self.tcp_ports or self.udp_ports)

    def ports_text(self) -> str:
        ports = [str(p) for p in sorted(self.tcp_ports)]
        ports += [f"{p}/udp" for p in sorted(self.udp_ports)]
        return ", ".join(ports)


def _int(value: Any) -> int:
    parsed = value if isinstance(value, int) else parse_cpu(value)
    try:
        return int(parsed)
    except (TypeError, ValueError):
        return 0


def network_mode(taskdef: Mapping[str, Any], launch_type: str) -> str:
    mode = taskdef.get("networkMode")
    if mode:
        return str(mode)
    return "awsvpc" if launch_type == "FARGATE" else "bridge"


def task_needs(taskdef: Mapping[str, Any], launch_type: str = "EC2") -> TaskNeeds:
    """CPU units, MiB and static host ports of one task, as ECS places it.

    Task-level cpu/memory win; otherwise the containers' sum, memoryReservation
    before memory (ECS reserves the soft limit when there is one). A host port
    is static in bridge mode when hostPort is not 0, always in host mode; with
    awsvpc each task has its own network interface and holds no host port.
    """
    mode = network_mode(taskdef, launch_type)
    containers = [c for c in taskdef.get("containerDefinitions") or [] if isinstance(c, dict)]
    cpu = _int(taskdef.get("cpu")) or sum(_int(c.get("cpu")) for c in containers)
    memory = _int(parse_memory(taskdef.get("memory"))) or sum(
        _int(c.get("memoryReservation") or c.get("memory")) for c in containers
    )
    tcp: set[int] = set()
    udp: set[int] = set()
    if mode in ("bridge", "host"):
        for c in containers:
            for p in c.get("portMappings") or []:
                host = _int(p.get("hostPort"))
                if mode == "host":
                    host = host or _int(p.get("containerPort"))
                if host:
                    (udp if str(p.get("protocol") or "tcp") == "udp" else tcp).add(host)
    return TaskNeeds(mode, cpu, memory, frozenset(tcp), frozenset(udp))


def resolve_launch_type(
    service: Service, taskdef: Mapping[str, Any], live_service: Mapping[str, Any] | None
) -> str:
    """deploy.yaml's launch_type (or capacity provider strategy), else the live
    service's, else the task definition's."""
    if service.launch_type:
        return service.launch_type
    for provider in service.capacity_provider_strategy or ():
        if provider.capacity_provider.upper().startswith("FARGATE"):
            return "FARGATE"
    if live_service:
        if live_service.get("launchType"):
            return str(live_service["launchType"])
        for item in live_service.get("capacityProviderStrategy") or []:
            if "FARGATE" in str(item.get("capacityProvider", "")).upper():
                return "FARGATE"
    if list(taskdef.get("requiresCompatibilities") or []) == ["FARGATE"]:
        return "FARGATE"
    return "EC2"


def role_name(arn: str) -> str:
    """`arn:aws:iam::1:role/path/name` or `name` -> `name` (GetRole takes the bare name)."""
    return arn.rsplit("/", 1)[-1] if arn.startswith("arn:") else arn


def roles(taskdef: Mapping[str, Any]) -> dict[str, str]:
    """Role name -> the task definition field naming it."""
    found: dict[str, str] = {}
    for key in ("executionRoleArn", "taskRoleArn"):
        if taskdef.get(key):
            found.setdefault(role_name(str(taskdef[key])), key)
    return found


def log_groups(taskdef: Mapping[str, Any]) -> list[LogGroupRef]:
    """awslogs groups that must exist (those with awslogs-create-group "true" are made by ECS)."""
    found: list[LogGroupRef] = []
    for c in taskdef.get("containerDefinitions") or []:
        log = c.get("logConfiguration") or {}
        options = log.get("options") or {}
        if log.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
            continue
        if str(options.get("awslogs-create-group", "")).lower() == "true":
            continue
        ref = LogGroupRef(str(options["awslogs-group"]), options.get("awslogs-region") or None)
        if ref not in found:
            found.append(ref)
    return found


def secret_ref(value_from: str, container: str) -> SecretRef:
    """Classify a `valueFrom`: a Secrets Manager ARN, an SSM ARN, or an SSM parameter name."""
    parts = value_from.split(":")
    if value_from.startswith("arn:") and len(parts) >= 7 and parts[2] == "secretsmanager":
        # arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-abcdef[:json-key:stage:version]
        return SecretRef(
            "secretsmanager", ":".join(parts[:7]), parts[3] or None, value_from, container
        )
    if value_from.startswith("arn:") and len(parts) >= 6 and parts[2] == "ssm":
        rest = ":".join(parts[5:]).removeprefix("parameter")
        # parameter/a/b is "/a/b"; parameter/a is "a" (names without a path have no slash).
        name = rest if rest.count("/") > 1 else rest.lstrip("/")
        return SecretRef("ssm", name, parts[3] or None, value_from, container)
    return SecretRef("ssm", value_from, None, value_from, container)


def secrets(taskdef: Mapping[str, Any]) -> list[SecretRef]:
    """Every secret the agent fetches at task start: env secrets, log secrets, registry auth."""
    found: list[SecretRef] = []
    for c in taskdef.get("containerDefinitions") or []:
        name = str(c.get("name"))
        values = [s.get("valueFrom") for s in c.get("secrets") or []]
        values += [
            s.get("valueFrom") for s in (c.get("logConfiguration") or {}).get("secretOptions") or []
        ]
        values.append((c.get("repositoryCredentials") or {}).get("credentialsParameter"))
        for value in values:
            if value:
                ref = secret_ref(str(value), name)
                if ref not in found:
                    found.append(ref)
    return found


# --- the rules ----------------------------------------------------------------------------


def _error(service: Service, rule: str, message: str, why: str, fix: str | None) -> Finding:
    return Finding("error", service.key, message, why, fix, rule)


def _downtime(
    service: Service, rule: str, message: str, why: str, fix: str | None, severity: Severity
) -> Finding:
    return Finding(severity, service.key, message, why, fix, rule, downtime=True)


def _min_healthy_fix(desired: int, maximum_percent: int) -> str:
    if desired == 1:
        fix = "set minimum_healthy_percent: 100"
        if ecs_rules.max_tasks(1, maximum_percent) < 2:
            fix += " and maximum_percent: 200"
        return fix + " (ECS then starts the new task before it stops the old one)"
    kept = ecs_rules.min_healthy_tasks(desired, 50)
    return f"set minimum_healthy_percent: 50 (keeps {kept} of {plural(desired, 'task')} serving)"


def _no_load_balancer(service: Service) -> list[Finding]:
    if service.load_balancers:
        return []
    return [
        _downtime(
            service,
            "load-balancer",
            "the service has no load balancer",
            "clients reach the tasks directly, so while ECS replaces them connections go "
            "to tasks that are stopping or not started yet; a target group's health check "
            "and deregistration delay are what hide a rolling update",
            "add `load_balancer:` (target_group, container, port), or set "
            "`zero_downtime: false` for a worker that serves no traffic",
            "error",
        )
    ]


def rolling_findings(service: Service) -> list[Finding]:
    """The rules that need no AWS call: a load balancer, and the rolling arithmetic.

    Downtime findings of a service with `zero_downtime: false` come back as notes.
    blue_green, linear and canary do not replace tasks in rounds: the arithmetic is
    not theirs (see `strategy.rolling_settings_findings`).
    """
    found: list[Finding] = _no_load_balancer(service)
    dep = service.deployment
    desired = service.initial_count
    if desired > 0 and not dep.traffic_shifting:
        minimum = ecs_rules.min_healthy_tasks(desired, dep.minimum_healthy_percent)
        maximum = ecs_rules.max_tasks(desired, dep.maximum_percent)
        if minimum == 0:
            found.append(
                _downtime(
                    service,
                    "minimum-healthy",
                    f"with desired_count {desired} and minimum_healthy_percent "
                    f"{dep.minimum_healthy_percent}, no task has to stay healthy during an update "
                    f"(ceil({desired} x {dep.minimum_healthy_percent}%) = 0)",
                    "ECS may stop every running task before the new ones pass their health "
                    "check, and the service serves nothing meanwhile",
                    _min_healthy_fix(desired, dep.maximum_percent),
                    "error",
                )
            )
        if not ecs_rules.can_progress(desired, dep.minimum_healthy_percent, dep.maximum_percent):
            found.append(
                _error(
                    service,
                    "progress",
                    f"minimum_healthy_percent {dep.minimum_healthy_percent} and maximum_percent "
                    f"{dep.maximum_percent} with desired_count {desired} leave ECS no room to "
                    f"replace a task (at least {minimum} must keep running, at most {maximum} "
                    "may run)",
                    "ECS may neither start a task above the desired count nor stop one below "
                    "it, so the deployment never progresses and apply times out",
                    "set maximum_percent: 200 (start new tasks first), or "
                    "minimum_healthy_percent below 100 (stop old tasks first)",
                )
            )
    return soften(service, found)


def daemon_count(facts: ServiceFacts) -> int | None:
    """The tasks a DAEMON service runs: the count ECS reports for a live service (its
    eligible instances), else the cluster's ACTIVE instances; None when unknown."""
    if facts.exists and facts.live_desired is not None:
        return facts.live_desired
    if facts.instances is None:
        return None
    return sum(1 for i in facts.instances if i.status == "ACTIVE")


def daemon_findings(service: Service, instances: int | None) -> list[Finding]:
    """The rolling arithmetic of a DAEMON service, which runs one task on each of
    `instances` container instances.

    ECS replaces a daemon task in place: maximumPercent is 100, so the old task on an
    instance stops before the new one starts there, and minimumHealthyPercent of the
    instances (rounded up) is all that keeps serving. With a minimum of 0 every
    instance may be replaced at once; with a minimum that rounds up to every instance
    none may, and the deployment never progresses. On one instance no value does
    both: there is a gap, or no progress.
    """
    found: list[Finding] = _no_load_balancer(service)
    if instances is None:
        return soften(service, found)
    percent = service.deployment.minimum_healthy_percent
    if instances == 0:
        found.append(
            _error(
                service,
                "capacity",
                "the cluster has no ACTIVE container instance for the DAEMON service to run on",
                "a DAEMON service runs one task on each ACTIVE container instance: with none "
                "the deployment completes with no task running, and nothing serves",
                "register container instances to the cluster (an Auto Scaling group with the "
                "ECS-optimized AMI)",
            )
        )
        return soften(service, found)
    kept = ecs_rules.min_healthy_tasks(instances, percent)
    on = f"{plural(instances, 'instance')}"
    if kept == 0 and service.load_balancers:
        if instances == 1:
            fix = (
                "add a container instance (then set minimum_healthy_percent: 50); on one "
                "instance a DAEMON service cannot be replaced without a gap"
            )
        else:
            fix = (
                "set minimum_healthy_percent: 50 (keeps "
                f"{ecs_rules.min_healthy_tasks(instances, 50)} of {on} serving while the "
                "others are replaced)"
            )
        found.append(
            _downtime(
                service,
                "minimum-healthy",
                f"DAEMON service on {on} with minimum_healthy_percent {percent}: no task has "
                f"to stay healthy during an update (ceil({instances} x {percent}%) = 0), so "
                "ECS may replace the task on every instance at once",
                "a DAEMON deployment stops the old task on an instance before it starts the "
                "new one there, and the load balancer has no target left meanwhile",
                fix,
                "error",
            )
        )
    elif kept >= instances:
        fix = (
            "set minimum_healthy_percent: 0 (the one instance's task stops before the new "
            "one starts: a gap), or add a container instance and set it to 50"
            if instances == 1
            else f"set minimum_healthy_percent: {_lower_min(instances)} (ECS then replaces "
            f"{instances - ecs_rules.min_healthy_tasks(instances, _lower_min(instances))} "
            "at a time)"
        )
        found.append(
            _error(
                service,
                "progress",
                f"DAEMON service on {on} with minimum_healthy_percent {percent}: all "
                f"{kept} tasks must keep running (ceil({instances} x {percent}%)), and ECS "
                "never starts a second task on an instance, so it can replace none",
                "a DAEMON deployment must stop an old task before it starts the new one on "
                "that instance; the deployment never progresses and apply times out",
                fix,
            )
        )
    return soften(service, found)


def soften(service: Service, findings: Iterable[Finding]) -> list[Finding]:
    """`zero_downtime: false`: the service's downtime findings become notes."""
    if service.zero_downtime:
        return list(findings)
    return [replace(f, severity="note") if f.downtime else f for f in findings]


def _of(lb: LoadBalancer) -> str:
    """` (load_balancers[1])`: which entry, when deploy.yaml has a list of them."""
    return "" if lb.label == "load_balancer" else f" ({lb.label})"


def _load_balancer_findings(
    service: Service, taskdef: Mapping[str, Any], facts: ServiceFacts
) -> list[Finding]:
    found: list[Finding] = []
    for lb in service.load_balancers:
        found += _entry_findings(service, lb, taskdef, facts)
    return found


def _entry_findings(
    service: Service, lb: LoadBalancer, taskdef: Mapping[str, Any], facts: ServiceFacts
) -> list[Finding]:
    found: list[Finding] = []
    containers = {
        str(c.get("name")): c
        for c in taskdef.get("containerDefinitions") or []
        if isinstance(c, dict)
    }
    container = containers.get(lb.container)
    mapping: Mapping[str, Any] | None = None
    if container is None:
        found.append(
            _error(
                service,
                "container-port",
                f"{lb.label}.container {lb.container!r} is not a container of the task definition",
                "ECS rejects a service whose load balancer names a container the task "
                "definition does not have",
                f"use one of: {', '.join(sorted(containers))}" if containers else None,
            )
        )
    else:
        mapping = next(
            (
                p
                for p in container.get("portMappings") or []
                if _int(p.get("containerPort")) == lb.port
            ),
            None,
        )
        if mapping is None:
            found.append(
                _error(
                    service,
                    "container-port",
                    f"container {lb.container!r} does not map {lb.label}.port {lb.port}",
                    "ECS registers the host port mapped to this container port as the target; "
                    "without the mapping it rejects the service",
                    f"add a portMappings entry with this containerPort, or fix {lb.label}.port",
                )
            )

    tg = facts.target_groups.get(lb.target_group)
    if tg is None:
        found.append(
            _error(
                service,
                "target-group",
                f"target group {lb.target_group!r}{_of(lb)} does not exist",
                "ECS cannot attach the service to a target group that is not there; the update "
                "fails",
                "create the target group (with a health check, behind a listener) or fix "
                f"{lb.label}.target_group",
            )
        )
        return found
    # blue_green, linear, canary: the listener rules are checked instead (strategy.py).
    if not tg.listeners and not service.deployment.traffic_shifting:
        found.append(
            _error(
                service,
                "target-group-listener",
                f"target group {tg.name}{_of(lb)} is not attached to a load balancer listener",
                "ECS refuses a target group with no load balancer, and one no listener "
                "forwards to receives no traffic: the new tasks would be unreachable",
                f"add a listener (or a listener rule) that forwards to {tg.name}",
            )
        )
    if not tg.health_check_enabled:
        found.append(
            _downtime(
                service,
                "health-check",
                f"target group {tg.name}{_of(lb)} has its health check disabled",
                "the load balancer sends traffic to a new task as soon as it is registered, "
                "before the application answers, and ECS cannot tell a broken release from a "
                "good one",
                f"enable the health check of {tg.name} (a path the application answers with 200)",
                "error",
            )
        )
    mode = network_mode(taskdef, facts.launch_type)
    wanted_type = "ip" if mode == "awsvpc" else "instance"
    if tg.target_type != wanted_type:
        found.append(
            _error(
                service,
                "target-type",
                f"target group {tg.name}{_of(lb)} has target type {tg.target_type!r}; the {mode} "
                f"network mode needs {wanted_type!r}",
                "ECS registers awsvpc tasks by IP address and bridge/host tasks by instance ID, "
                "and rejects a target group of the other type",
                f"create a target group of type {wanted_type} and point {lb.label} at it",
            )
        )
    if mapping is not None and tg.protocol:
        udp = str(mapping.get("protocol") or "tcp") == "udp"
        if udp and tg.protocol not in ("UDP", "TCP_UDP"):
            found.append(
                _error(
                    service,
                    "target-protocol",
                    f"container port {lb.port} is UDP but target group {tg.name}{_of(lb)} speaks "
                    f"{tg.protocol}",
                    "the load balancer cannot reach a UDP port over TCP",
                    "use a UDP (Network Load Balancer) target group, or a TCP port",
                )
            )
    return found


def _capacity_findings(
    service: Service, taskdef: Mapping[str, Any], facts: ServiceFacts, needs: TaskNeeds
) -> tuple[list[Finding], int]:
    """EC2 placement during the update; also returns how many instances can take an extra task."""
    desired = service.initial_count
    dep = service.deployment
    if facts.launch_type != "EC2" or facts.instances is None or desired <= 0:
        return [], -1
    if service.daemon and not any(i.status == "ACTIVE" for i in facts.instances):
        return [], 0  # said by the DAEMON arithmetic
    found: list[Finding] = []
    active = [i for i in facts.instances if i.status == "ACTIVE"]
    if not active:
        found.append(
            _error(
                service,
                "capacity",
                "the cluster has no ACTIVE container instance",
                "on the EC2 launch type ECS places tasks on the cluster's instances; with none "
                "no task can start",
                "register instances to the cluster (an Auto Scaling group with the ECS AMI), "
                "or use Fargate",
            )
        )
        return found, 0
    big = max(active, key=lambda i: (i.registered_cpu, i.registered_memory))
    if not any(
        i.registered_cpu >= needs.cpu and i.registered_memory >= needs.memory for i in active
    ):
        found.append(
            _error(
                service,
                "capacity",
                f"a task needs {needs.cpu} CPU units and {needs.memory} MiB; the largest instance "
                f"has {big.registered_cpu} CPU units and {big.registered_memory} MiB",
                "ECS cannot place a task on any instance of the cluster",
                "use larger instances, or lower the task's cpu/memory",
            )
        )
        return found, 0
    if service.daemon:
        # One task per instance, replaced in place: no extra task needs room, and a
        # static host port is free on its instance once the old task has stopped.
        return found, -1
    if needs.static_ports and len(active) < desired:
        found.append(
            _error(
                service,
                "capacity",
                f"desired_count {desired} with static host port {needs.ports_text()} needs "
                f"{plural(desired, 'instance')}; the cluster has {len(active)} ACTIVE",
                "two tasks cannot hold the same host port on one instance, so each task needs "
                "an instance of its own",
                "add instances, or use dynamic host ports (hostPort 0) behind the load balancer",
            )
        )
        return found, 0  # the service cannot even run its desired count
    if dep.traffic_shifting:
        return found + _second_set_findings(service, facts, needs, active, desired), -1
    free = [
        i
        for i in active
        if i.remaining_cpu >= needs.cpu
        and i.remaining_memory >= needs.memory
        and not (needs.tcp_ports & i.ports_tcp)
        and not (needs.udp_ports & i.ports_udp)
    ]
    minimum = ecs_rules.min_healthy_tasks(desired, dep.minimum_healthy_percent)
    stoppable = desired - minimum
    headroom = ecs_rules.max_tasks(desired, dep.maximum_percent) - desired
    if headroom <= 0 and stoppable <= 0:
        return found, len(free)  # the progress rule already says it never moves
    if free or not facts.exists:
        return found, len(free)
    if stoppable <= 0:
        if needs.static_ports:
            message = (
                f"no idle instance: every ACTIVE instance holds host port {needs.ports_text()} "
                "or lacks the CPU/memory for another task, and minimum_healthy_percent "
                f"{dep.minimum_healthy_percent} lets ECS stop no old task first"
            )
            why = (
                "with a static host port a new task cannot start on an instance whose old task "
                f"holds the port; ECS must keep all {desired} old tasks running until new ones "
                "are healthy, so the new task has nowhere to go and the deployment stalls "
                "(a rolling update with a static host port needs an idle ECS instance, "
                "or minimumHealthyPercent < 100)"
            )
            fix = (
                "add an idle instance to the cluster, or use dynamic host ports (hostPort 0), "
                f"or set minimum_healthy_percent: {_lower_min(desired)}"
            )
        else:
            message = (
                f"no instance has {needs.cpu} CPU units and {needs.memory} MiB free for an extra "
                f"task, and minimum_healthy_percent {dep.minimum_healthy_percent} lets ECS stop "
                "no old task first"
            )
            why = (
                "ECS must start a new task before it stops an old one, and there is no room "
                "for it: the deployment stalls"
            )
            fix = (
                "add an instance (or capacity), or set minimum_healthy_percent: "
                f"{_lower_min(desired)}"
            )
        found.append(_error(service, "capacity", message, why, fix))
    else:
        found.append(
            Finding(
                "note",
                service.key,
                "no instance has room for an extra task: ECS will stop up to "
                f"{plural(stoppable, 'old task')} before it starts new ones, {minimum} of "
                f"{desired} keep serving",
                "an update with no spare capacity runs with fewer tasks for a while, and each "
                "round waits for the old tasks to drain",
                "add an idle instance to keep full capacity during updates",
                "capacity-stop-first",
            )
        )
    return found, len(free)


def _room(instance: InstanceFacts, needs: TaskNeeds, most: int) -> int:
    """How many more tasks fit on the instance as it is now (counted up to `most`): its
    CPU and memory left, and one at most with a static host port, when the port is free."""
    if needs.tcp_ports & instance.ports_tcp or needs.udp_ports & instance.ports_udp:
        return 0
    fits = most
    if needs.cpu > 0:
        fits = min(fits, instance.remaining_cpu // needs.cpu)
    if needs.memory > 0:
        fits = min(fits, instance.remaining_memory // needs.memory)
    if needs.static_ports:
        fits = min(fits, 1)
    return max(fits, 0)


def _second_set_findings(
    service: Service,
    facts: ServiceFacts,
    needs: TaskNeeds,
    active: list[InstanceFacts],
    desired: int,
) -> list[Finding]:
    """blue_green, linear, canary on EC2: room for a full second set of tasks.

    ECS scales the new revision up to 100% of the desired count beside the old one
    before any traffic moves, whatever minimum_healthy_percent and maximum_percent
    say, and stops the old tasks only after the bake time. A service still to be
    created has no old set.
    """
    if not facts.exists:
        return []
    room = sum(_room(i, needs, desired) for i in active)
    if room >= desired:
        return []
    strategy = service.deployment.strategy
    missing = desired - room
    live = facts.live_desired
    beside = f"beside the {live} running" if live else "beside the running ones"
    if needs.static_ports:
        message = (
            f"{strategy} starts {plural(desired, 'new task')} {beside}, but "
            f"only {room} fit: with static host port {needs.ports_text()} each needs an ACTIVE "
            f"instance where the port is free and {needs.cpu} CPU units and {needs.memory} MiB "
            "are left"
        )
        fix = (
            f"add {plural(missing, 'instance')} to the cluster, or use dynamic host ports "
            "(hostPort 0) behind the load balancer"
        )
    else:
        message = (
            f"{strategy} starts {plural(desired, 'new task')} {beside}, but "
            f"the instances have room for {room} more ({needs.cpu} CPU units and "
            f"{needs.memory} MiB each)"
        )
        fix = (
            f"add instances (room for {plural(missing, 'more task')}), or run the service on a "
            "capacity provider with managed scaling"
        )
    return [
        _error(
            service,
            "capacity",
            message,
            "ECS scales the new revision up to its full count before it moves any traffic, "
            "and keeps the old tasks until the bake time is over: tasks it cannot place hold "
            "the deployment in its scale-up stage, and no traffic ever moves",
            fix,
        )
    ]


def _lower_min(desired: int) -> int:
    """The largest minimum_healthy_percent (of the usual steps) that lets ECS stop a task."""
    for percent in (75, 50, 0):
        if ecs_rules.min_healthy_tasks(desired, percent) < desired:
            return percent
    return 0


def _timing_findings(
    service: Service,
    taskdef: Mapping[str, Any],
    facts: ServiceFacts,
    needs: TaskNeeds,
    free_instances: int,
) -> list[Finding]:
    groups = [
        tg
        for tg in dict.fromkeys(
            facts.target_groups.get(lb.target_group) for lb in service.load_balancers
        )
        if tg is not None
    ]
    found: list[Finding] = []
    dep = service.deployment
    timeout = dep.timeout
    for tg in groups:
        delay = tg.deregistration_delay
        if delay >= timeout:
            found.append(
                _error(
                    service,
                    "deregistration-delay",
                    f"target group {tg.name} drains for {delay}s (deregistration delay), not "
                    f"less than deployment.timeout {timeout:g}s",
                    "ECS stops an old task only after its target has drained, so the "
                    "deployment cannot complete before apply gives up and rolls it back",
                    f"lower deregistration_delay.timeout_seconds of {tg.name} (e.g. 30), or "
                    f"raise deployment.timeout above {delay + tg.healthy_threshold * tg.interval}s",
                )
            )
    # The rollout waits for the slowest of the target groups: to turn healthy, to drain.
    if dep.traffic_shifting:
        if all(tg.deregistration_delay < timeout for tg in groups):
            from . import strategy  # it builds on this module's facts

            found += strategy.duration_findings(service, facts)
    elif groups and all(tg.deregistration_delay < timeout for tg in groups):
        tg = max(groups, key=lambda g: g.healthy_threshold * g.interval + g.deregistration_delay)
        delay = tg.deregistration_delay
        if service.initial_count > 0:
            desired = service.initial_count
            minimum = ecs_rules.min_healthy_tasks(desired, dep.minimum_healthy_percent)
            headroom = ecs_rules.max_tasks(desired, dep.maximum_percent) - desired
            if facts.launch_type == "EC2" and needs.static_ports and free_instances >= 0:
                headroom = min(headroom, free_instances)
            batch = max(headroom, 0) + (desired - minimum)
            if batch > 0:
                rounds = math.ceil(desired / batch)
                per_round = tg.healthy_threshold * tg.interval + delay
                estimate = rounds * per_round
                if estimate > timeout:
                    found.append(
                        Finding(
                            "warning",
                            service.key,
                            f"the update may take about {estimate}s ({plural(rounds, 'round')} of "
                            f"{tg.healthy_threshold} x {tg.interval}s to turn healthy + {delay}s "
                            f"to drain), more than deployment.timeout {timeout:g}s",
                            "apply would give up on a deployment that is only slow, and roll it "
                            "back",
                            f"raise deployment.timeout, lower the deregistration delay of "
                            f"{tg.name}, or "
                            + (
                                "lower minimum_healthy_percent (more instances at a time)"
                                if service.daemon
                                else "raise maximum_percent for bigger rounds"
                            ),
                            "deployment-duration",
                        )
                    )
    grace = service.health_check_grace_period
    if grace is None:
        grace = facts.grace_period or 0
    start_periods = [
        _int((c.get("healthCheck") or {}).get("startPeriod"))
        for c in taskdef.get("containerDefinitions") or []
        if c.get("healthCheck") and c.get("essential", True)
    ]
    slowest = max(start_periods, default=0)
    if slowest > grace:
        found.append(
            Finding(
                "warning",
                service.key,
                f"a container's health check has startPeriod {slowest}s but the service's health "
                f"check grace period is {grace:g}s",
                "the container is expected to start slowly, and ECS stops a task whose load "
                "balancer or container health check fails after the grace period: new tasks "
                "may be killed before they are up, failing the deployment",
                f"set health_check_grace_period: {slowest}s (or more)",
                "grace-period",
            )
        )
    elif groups and grace <= 0:
        tg = max(groups, key=lambda g: g.healthy_threshold * g.interval)
        healthy_after = tg.healthy_threshold * tg.interval
        if healthy_after >= SLOW_HEALTHY_SECONDS:
            found.append(
                Finding(
                    "warning",
                    service.key,
                    f"targets of {tg.name} need {healthy_after}s to turn healthy "
                    f"({tg.healthy_threshold} x {tg.interval}s) and the service has no health "
                    "check grace period",
                    "a task that starts slowly fails its first checks, and ECS stops tasks with "
                    "failing load balancer checks unless a grace period covers the start",
                    f"set health_check_grace_period: {healthy_after}s",
                    "grace-period",
                )
            )
    return found


def _unchecked_image(service: Service, image: ImageFacts) -> Finding:
    """An image whose registry did not answer: what deploy.yaml asks of that registry."""
    key, url = image.registry or ("", "")
    where = f"registry `{key}` ({url})" if key else "its registry"
    needs = {
        "local": f"apply pushes the image to {where}, which must be reachable from here",
        "promote": f"apply re-tags the image in {where}, which must be reachable from here",
    }.get(image.source or "", f"ECS pulls the image from {where}; it must exist there")
    return _error(
        service,
        "image",
        f"image `{image.key}` ({image.uri}) could not be checked: {image.detail}",
        needs,
        f"check the network (VPN, proxy) and `url:` of registry `{key}`"
        if key
        else "check the network and the registry's `url:`",
    )


def _resource_findings(
    service: Service, taskdef: Mapping[str, Any], facts: ServiceFacts
) -> list[Finding]:
    found: list[Finding] = []
    for image in facts.images:
        if not image.available and image.unchecked:
            found.append(_unchecked_image(service, image))
        elif not image.available:
            found.append(
                _error(
                    service,
                    "image",
                    f"image `{image.key}` ({image.uri}) is not in its registry and this plan "
                    f"does not make it{': ' + image.detail if image.detail else ''}",
                    "tasks of the new revision could not pull their image: they fail to start "
                    "and the deployment fails",
                    "push the image, or give the image `promote:` or `local:` in deploy.yaml",
                )
            )
    for name, where in roles(taskdef).items():
        if facts.roles.get(name) is False:
            found.append(
                _error(
                    service,
                    "role",
                    f"IAM role {name} ({where}) does not exist",
                    "ECS cannot start tasks whose task or execution role is missing",
                    f"create the role {name} (trusted by ecs-tasks.amazonaws.com), or fix "
                    f"{where} in the template",
                )
            )
    needs_execution_role = bool(secrets(taskdef)) or (
        facts.launch_type == "FARGATE"
        and any(
            (c.get("logConfiguration") or {}).get("logDriver") == "awslogs"
            for c in taskdef.get("containerDefinitions") or []
        )
    )
    if needs_execution_role and not taskdef.get("executionRoleArn"):
        found.append(
            _error(
                service,
                "execution-role",
                "the task definition has no executionRoleArn but needs one (secrets, or awslogs "
                "on Fargate)",
                "the ECS agent fetches secrets and writes Fargate logs with the execution role; "
                "without it registering the task definition or starting its tasks fails",
                "set executionRoleArn to a role with AmazonECSTaskExecutionRolePolicy",
            )
        )
    for ref in log_groups(taskdef):
        if facts.log_groups.get(ref) is False:
            where = f" in {ref.region}" if ref.region else ""
            found.append(
                _error(
                    service,
                    "log-group",
                    f"log group {ref.name}{where} does not exist",
                    "the awslogs driver does not create its group (unless told to), so "
                    "containers fail to start",
                    f"create the log group (aws logs create-log-group --log-group-name {ref.name}),"
                    " "
                    'or set the option awslogs-create-group: "true" (the execution role then '
                    "needs logs:CreateLogGroup)",
                )
            )
    for sref in secrets(taskdef):
        if facts.secrets.get(sref) is False:
            what = "secret" if sref.kind == "secretsmanager" else "SSM parameter"
            found.append(
                _error(
                    service,
                    "secret",
                    f"{what} {sref.value_from} (container {sref.container!r}) does not exist",
                    "the ECS agent fetches secrets when a task starts; a missing one stops the "
                    "task, and the deployment fails",
                    f"create the {what}, or fix valueFrom in the template",
                )
            )
    return found


def deployment_alarms(service: Service) -> list[str]:
    """The CloudWatch alarms ECS is to watch during the service's deployments."""
    alarms = service.deployment.alarms
    return list(alarms.names) if alarms is not None and alarms.enable else []


def connect_namespace(service: Service) -> str | None:
    """The Cloud Map namespace Service Connect is to use, when deploy.yaml names one."""
    sc = service.service_connect
    return sc.namespace if sc is not None and sc.enabled else None


def _port_mappings(taskdef: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    """Container name -> its portMappings."""
    return {
        str(c.get("name")): [p for p in c.get("portMappings") or [] if isinstance(p, Mapping)]
        for c in taskdef.get("containerDefinitions") or []
        if isinstance(c, Mapping)
    }


def linked_findings(
    service: Service, taskdef: Mapping[str, Any], facts: ServiceFacts
) -> list[Finding]:
    """What the service's deployment alarms, Service Connect and Cloud Map registries
    name must exist: the alarms in CloudWatch, the namespace in Cloud Map, the port
    names, containers and ports in the task definition."""
    found: list[Finding] = []
    missing = [n for n in deployment_alarms(service) if facts.alarms.get(n) is False]
    if missing:
        found.append(
            _error(
                service,
                "deployment-alarm",
                f"deployment {'alarm' if len(missing) == 1 else 'alarms'} {', '.join(missing)} "
                f"{'does' if len(missing) == 1 else 'do'} not exist in CloudWatch",
                "an alarm that is not there never goes into ALARM: ECS could not stop or roll "
                "back a bad deployment on it",
                "create the alarm, or fix deployment.alarms.names",
            )
        )
    namespace = connect_namespace(service)
    if namespace is not None and facts.namespaces.get(namespace) is False:
        found.append(
            _error(
                service,
                "service-connect",
                f"Service Connect namespace {namespace} does not exist in Cloud Map",
                "ECS refuses a Service Connect configuration whose namespace is not in the "
                "service's Region (NamespaceNotFoundException)",
                "create the namespace (aws servicediscovery create-http-namespace --name "
                f"{namespace}), or fix service_connect.namespace",
            )
        )
    ports = _port_mappings(taskdef)
    names = sorted({str(p["name"]) for maps in ports.values() for p in maps if p.get("name")})
    sc = service.service_connect
    for item in sc.services if sc is not None and sc.enabled else ():
        if item.port_name not in names:
            found.append(
                _error(
                    service,
                    "service-connect",
                    f"Service Connect port_name `{item.port_name}` is not the name of a port "
                    "mapping in the task definition"
                    + (f" (named: {', '.join(names)})" if names else " (none is named)"),
                    "ECS takes a Service Connect service's portName from the task "
                    "definition's portMappings names, and refuses one that is not there",
                    f'name the port mapping in the template (`"name": "{item.port_name}"` '
                    "beside its containerPort), or fix service_connect.services[].port_name",
                )
            )
    for registry in service.service_registries or ():
        container = registry.container_name
        if container is None:
            continue
        if container not in ports:
            found.append(
                _error(
                    service,
                    "service-registry",
                    f"service registry container `{container}` is not in the task definition "
                    f"(containers: {', '.join(sorted(ports)) or 'none'})",
                    "ECS registers the tasks in Cloud Map with that container's port, and "
                    "refuses a container the task definition does not have",
                    "fix service_registries[].container_name",
                )
            )
            continue
        port = registry.container_port
        published = sorted(
            {int(p["containerPort"]) for p in ports[container] if p.get("containerPort")}
        )
        if port is not None and port not in published:
            found.append(
                _error(
                    service,
                    "service-registry",
                    f"service registry port {port} is not a containerPort of container "
                    f"`{container}` (its ports: {', '.join(map(str, published)) or 'none'})",
                    "ECS registers the tasks in Cloud Map with a port of the container's "
                    "portMappings, and refuses one it does not publish",
                    "fix service_registries[].container_port, or add the port mapping",
                )
            )
    return found


def secret_literal_findings(service: Service, taskdef: Mapping[str, Any]) -> list[Finding]:
    """A warning for each environment variable named like a secret that holds a literal
    value (the value itself is never in the finding)."""
    return [
        Finding(
            "warning",
            service.key,
            f"{p.path}: {p.message}",
            LITERAL_VALUE_WHY,
            p.hint,
            "secret-literal",
        )
        for p in secret_literals(taskdef)
    ]


def _capacity_provider_findings(service: Service, facts: ServiceFacts) -> tuple[list[Finding], str]:
    """Providers the cluster does not have; and the Auto Scaling group provider that
    adds instances for tasks ECS cannot place ("" when there is none)."""
    capacity = facts.capacity
    if capacity is None or not facts.providers:
        return [], ""
    found = [
        _error(
            service,
            "capacity-provider",
            f"capacity provider {name} is not associated with the service's cluster",
            "ECS refuses a capacity provider strategy naming a provider the cluster does not "
            "have (InvalidParameterException): the service update would fail",
            "associate it with the cluster (PutClusterCapacityProviders, or the cluster's "
            "capacity providers in your infrastructure code), or fix capacity_provider_strategy",
        )
        for name in facts.providers
        if name not in capacity.associated
    ]
    groups = [p for p in facts.providers if p not in ("FARGATE", "FARGATE_SPOT")]
    scaling = next((p for p in groups if capacity.managed_scaling.get(p)), "")
    if groups and not all(capacity.managed_scaling.get(p) for p in groups):
        scaling = ""
    return found, scaling


def _scaled(findings: list[Finding], provider: str) -> list[Finding]:
    """Placement findings about too few instances, as notes: the provider's managed
    scaling adds instances (tasks wait in PROVISIONING). One task larger than any
    instance stays an error: more instances of the same type do not help."""
    why = (
        f"; capacity provider {provider} has managed scaling, so ECS adds instances to its "
        "Auto Scaling group for tasks it cannot place (they wait in PROVISIONING meanwhile, "
        "up to the group's maximum size)"
    )
    return [
        replace(f, severity="note", why=f.why + why)
        if f.severity == "error" and not f.message.startswith("a task needs")
        else f
        for f in findings
    ]


def scaling_findings(service: Service, facts: ServiceFacts) -> list[Finding]:
    """`autoscaling:` that can take every task away from the load balancer, or track
    requests through a target group that has no load balancer to count them."""
    scaling = service.autoscaling
    if scaling is None:
        return []
    found: list[Finding] = []
    # Request tracking counts the first load balancer entry's target group.
    lb = service.load_balancers[0] if service.load_balancers else None
    zeros = (["min"] if scaling.min == 0 else []) + [
        f"scheduled action {a.name}'s min" for a in scaling.scheduled if a.min == 0
    ]
    if lb is not None and zeros:
        found.append(
            _downtime(
                service,
                "autoscaling-min-zero",
                f"autoscaling {' and '.join(zeros)} is 0: Application Auto Scaling may stop "
                f"every task behind target group {lb.target_group}",
                "with no task registered the load balancer answers 503 until a scale-out "
                "starts one and it passes its health checks",
                "set autoscaling min (and scheduled mins) to at least 1, or set "
                "`zero_downtime: false` if the service may go idle",
                "warning",
            )
        )
    if any(p.metric == "alb_requests" for p in scaling.target_tracking):
        group = facts.target_groups.get(lb.target_group) if lb is not None else None
        if lb is None or group is None or not group.load_balancers:
            if lb is None:
                what = "the service has no load balancer"
            elif group is None:
                what = f"target group {lb.target_group} does not exist"
            else:
                what = f"target group {lb.target_group} is attached to no load balancer"
            found.append(
                _error(
                    service,
                    "autoscaling-alb-requests",
                    f"autoscaling tracks alb_requests, but {what}",
                    "ALBRequestCountPerTarget is counted per target group behind an "
                    "Application Load Balancer: without one the policy cannot be created",
                    "attach the target group to a load balancer (a listener or rule "
                    "forwarding to it), or track `cpu` or `memory`",
                )
            )
    return soften(service, found)


def check_service(
    service: Service, taskdef: Mapping[str, Any], facts: ServiceFacts
) -> list[Finding]:
    """Every rule for one service, in a fixed order (load balancer, arithmetic, capacity, ...)."""
    from . import strategy  # it builds on this module's facts and helpers

    if service.daemon:
        # ECS sets the count: one task per instance. The rules below judge that count.
        instances = daemon_count(facts)
        found = daemon_findings(service, instances)
        service = replace(service, desired_count=instances)
    else:
        if service.desired_count is None and facts.exists and facts.live_desired is not None:
            # deploy.yaml leaves the count to the live service: judge the count it runs.
            service = replace(service, desired_count=facts.live_desired)
        found = rolling_findings(service)
    needs = task_needs(taskdef, facts.launch_type)
    found += soften(service, _load_balancer_findings(service, taskdef, facts))
    found += soften(service, strategy.strategy_findings(service, facts))
    providers, scaling = _capacity_provider_findings(service, facts)
    found += providers
    capacity, free_instances = _capacity_findings(service, taskdef, facts, needs)
    found += _scaled(capacity, scaling) if scaling else capacity
    found += _timing_findings(service, taskdef, facts, needs, free_instances)
    found += _resource_findings(service, taskdef, facts)
    found += linked_findings(service, taskdef, facts)
    found += secret_literal_findings(service, taskdef)
    found += scaling_findings(service, facts)
    return found


def counts(findings: Iterable[Finding]) -> dict[Severity, int]:
    tally: dict[Severity, int] = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        tally[f.severity] += 1
    return tally


def summary(findings: Iterable[Finding]) -> str:
    """`2 errors, 1 warning, 1 note.` or `All checks passed.`"""
    tally = counts(findings)
    if not any(tally.values()):
        return "All checks passed."
    parts = [f"{n} {s}{'' if n == 1 else 's'}" for s, n in tally.items() if n]
    return ", ".join(parts) + "."
