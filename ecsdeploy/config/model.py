"""The validated deploy.yaml as frozen dataclasses: what every later stage reads.

Templates (task definitions, image tags) are kept as written here; rendering
them is the render stage's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .loader import Positions

RegistryType = Literal["ecr", "docker"]
AuthType = Literal["dockercfg", "docker"]
AuthMode = Literal["ecs_config", "repository_credentials"]
LaunchType = Literal["EC2", "FARGATE", "EXTERNAL"]
PropagateTags = Literal["SERVICE", "TASK_DEFINITION", "NONE"]
ScalingMetric = Literal["cpu", "memory", "alb_requests"]
SchedulingStrategy = Literal["REPLICA", "DAEMON"]
Rebalancing = Literal["ENABLED", "DISABLED"]
# ECS's deployment strategies (deploymentConfiguration.strategy), in deploy.yaml's words.
Strategy = Literal["rolling", "blue_green", "linear", "canary"]
HookTimeoutAction = Literal["rollback", "continue"]
# The lifecycle stages a hook may run at (DeploymentLifecycleHookStage), as the API names them.
HOOK_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
)


@dataclass(frozen=True)
class RegistryAuth:
    """Where a registry's credentials come from: names of variables, never values."""

    username_env: str | None = None
    password_env: str | None = None
    email: str | None = None
    # Without *_env names the Docker config file and its credential helpers are used.
    auth_type: AuthType = "dockercfg"
    mode: AuthMode = "ecs_config"
    # Secrets Manager secret name for mode=repository_credentials.
    secret_name: str | None = None

    @property
    def from_env(self) -> bool:
        return self.username_env is not None and self.password_env is not None


@dataclass(frozen=True)
class Registry:
    key: str
    type: RegistryType
    url: str
    insecure: bool = False
    auth: RegistryAuth | None = None
    ecs_config: bool = False


@dataclass(frozen=True)
class Image:
    key: str
    registry: str  # key into Config.registries
    repository: str
    tag: str = "{{ git.short_sha }}"  # a Jinja template, rendered with the git context
    promote: str | None = None  # an existing tag in the registry, re-tagged there
    local: str | None = None  # an image in the local Docker engine, tagged and pushed


@dataclass(frozen=True)
class ClusterEcsConfig:
    """Extra ECS agent settings for a cluster's instances and how to roll them out."""

    settings: Mapping[str, str] = field(default_factory=dict)
    drain: bool = False


@dataclass(frozen=True)
class Cluster:
    key: str
    name: str
    ecs_config: ClusterEcsConfig = ClusterEcsConfig()


@dataclass(frozen=True)
class CircuitBreaker:
    enable: bool = True
    rollback: bool = True


@dataclass(frozen=True)
class DeploymentAlarms:
    """CloudWatch alarms ECS watches during a deployment (deploymentConfiguration.alarms)."""

    names: tuple[str, ...] = ()
    enable: bool = True
    rollback: bool = True


@dataclass(frozen=True)
class LinearShift:
    """`deployment.linear`: production traffic moves `step_percent` at a time, with
    `step_bake_time` (seconds, whole minutes) between steps (linearConfiguration)."""

    step_percent: float = 10.0
    step_bake_time: float = 360.0


@dataclass(frozen=True)
class CanaryShift:
    """`deployment.canary`: `percent` of production traffic first, the rest after
    `bake_time` (seconds, whole minutes) (canaryConfiguration)."""

    percent: float = 5.0
    bake_time: float = 600.0


@dataclass(frozen=True)
class LifecycleHook:
    """A Lambda function ECS invokes at lifecycle stages of a deployment (lifecycleHooks)."""

    stages: tuple[str, ...]  # HOOK_STAGES members
    function: str  # a Lambda function name or ARN
    role: str  # an IAM role name or ARN ECS assumes to invoke it
    timeout: float | None = None  # seconds, whole minutes; None: ECS's 24 hours
    on_timeout: HookTimeoutAction = "rollback"
    details: Mapping[str, Any] | None = None  # hookDetails, passed to the function


@dataclass(frozen=True)
class CodeDeployGroupRef:
    """`deployment.codedeploy`: where a CODE_DEPLOY service's releases are deployed."""

    application: str
    deployment_group: str | None = None  # None: the one group naming the service


@dataclass(frozen=True)
class Deployment:
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    circuit_breaker: CircuitBreaker = CircuitBreaker()
    timeout: float = 900.0  # seconds; "15m" in deploy.yaml
    poll_interval: float = 5.0  # seconds between looks at the deployment
    # None: deploy.yaml does not mention them, the live service keeps its own.
    alarms: DeploymentAlarms | None = None
    strategy: Strategy = "rolling"
    # Seconds (whole minutes) both revisions keep running after production traffic
    # moved (bakeTimeInMinutes); None for a rolling deployment.
    bake_time: float | None = None
    linear: LinearShift | None = None  # strategy linear only
    canary: CanaryShift | None = None  # strategy canary only
    # Lambda lifecycle hooks; None: deploy.yaml does not mention them.
    hooks: tuple[LifecycleHook, ...] | None = None
    # A CODE_DEPLOY service's CodeDeploy application and group; None: found by plan.
    codedeploy: CodeDeployGroupRef | None = None

    @property
    def traffic_shifting(self) -> bool:
        """blue_green, linear or canary: ECS moves listener traffic between target groups."""
        return self.strategy != "rolling"


@dataclass(frozen=True)
class HttpCheck:
    url: str
    expect_status: int = 200
    body: str | None = None  # a regular expression the body must match
    attempts: int = 5
    interval: float = 5.0
    timeout: float = 5.0


@dataclass(frozen=True)
class LoadBalancerChecks:
    targets_healthy: bool = True
    http: HttpCheck | None = None
    # Against the test listener, while ECS holds the deployment after the test traffic
    # shift (blue_green, linear, canary): production traffic moves only if it passes.
    test_http: HttpCheck | None = None


@dataclass(frozen=True)
class LoadBalancer:
    target_group: str  # name or ARN
    container: str
    port: int
    checks: LoadBalancerChecks = LoadBalancerChecks()
    # blue_green, linear, canary (loadBalancers[].advancedConfiguration): the second
    # target group (name or ARN), the listener rules (ARNs) ECS moves traffic with, and
    # the IAM role (name or ARN) it does so with.
    alternate_target_group: str | None = None
    production_listener_rule: str | None = None
    test_listener_rule: str | None = None
    role: str | None = None
    # Where deploy.yaml gives the entry (`load_balancer`, `load_balancers[1]`), for messages.
    label: str = field(default="load_balancer", compare=False)


@dataclass(frozen=True)
class Network:
    """awsvpc network configuration, needed to create a Fargate/awsvpc service."""

    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    assign_public_ip: bool = False


@dataclass(frozen=True)
class PlacementConstraint:
    type: str  # distinctInstance | memberOf
    expression: str | None = None


@dataclass(frozen=True)
class PlacementStrategy:
    type: str  # random | spread | binpack
    field: str | None = None


@dataclass(frozen=True)
class Placement:
    """Task placement; None leaves the live service's as it is, () removes it."""

    constraints: tuple[PlacementConstraint, ...] | None = None
    strategy: tuple[PlacementStrategy, ...] | None = None


@dataclass(frozen=True)
class CapacityProvider:
    """One item of a capacity provider strategy (weight and base default to 0, as in ECS)."""

    capacity_provider: str
    weight: int = 0
    base: int = 0


def policy_name(service_name: str, metric: str) -> str:
    """The default name of a target-tracking policy: `web-cpu`, `web-alb-requests`."""
    return f"{service_name}-{metric.replace('_', '-')}"


@dataclass(frozen=True)
class TargetTracking:
    """A target-tracking scaling policy: keep `metric` near `target`."""

    metric: ScalingMetric
    target: float
    name: str  # the policy name; "<service name>-<metric>" unless deploy.yaml names it
    scale_in_cooldown: float | None = None  # seconds; None: Application Auto Scaling's 300
    scale_out_cooldown: float | None = None
    disable_scale_in: bool = False


@dataclass(frozen=True)
class ScheduledScaling:
    """A scheduled action: new min and/or max capacity from `schedule` on."""

    name: str
    schedule: str  # at(...), rate(...) or cron(...), as the API takes it
    timezone: str | None = None  # None: UTC
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class Autoscaling:
    """Application Auto Scaling of the service's desired count."""

    min: int
    max: int
    target_tracking: tuple[TargetTracking, ...] = ()
    scheduled: tuple[ScheduledScaling, ...] = ()


@dataclass(frozen=True)
class ServiceConnectAlias:
    port: int
    dns_name: str | None = None


@dataclass(frozen=True)
class ServiceConnectService:
    """One `service_connect.services` entry; `timeout` and `tls` in the API's shape."""

    port_name: str
    discovery_name: str | None = None
    client_aliases: tuple[ServiceConnectAlias, ...] = ()
    ingress_port_override: int | None = None
    timeout: Mapping[str, Any] | None = None
    tls: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ServiceConnect:
    """Service Connect; `log_configuration` and `access_log_configuration` in the API's
    shape (LogConfiguration, ServiceConnectAccessLogConfiguration)."""

    enabled: bool = True
    namespace: str | None = None  # a Cloud Map namespace name or ARN; None: the cluster's
    services: tuple[ServiceConnectService, ...] = ()
    log_configuration: Mapping[str, Any] | None = None
    access_log_configuration: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ServiceRegistry:
    """A Cloud Map service the tasks are registered in (serviceRegistries)."""

    registry_arn: str
    port: int | None = None
    container_name: str | None = None
    container_port: int | None = None


@dataclass(frozen=True)
class VolumeConfiguration:
    """A task-definition volume configured at launch; `managed_ebs_volume` in the API's
    shape (ServiceManagedEBSVolumeConfiguration)."""

    name: str
    managed_ebs_volume: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Service:
    key: str
    cluster: str  # key into Config.clusters
    name: str
    task_definition: Path  # the template, absolute
    # None: an existing service keeps its live count; a new one starts with 1.
    desired_count: int | None = None
    deployment: Deployment = Deployment()
    # The target groups the service is registered in (`load_balancer:` is the one-entry
    # form of `load_balancers:`); empty: none, and an existing service keeps its own.
    load_balancers: tuple[LoadBalancer, ...] = ()
    zero_downtime: bool = True
    vars: Mapping[str, Any] = field(default_factory=dict)  # global vars overlaid by these
    keep_revisions: int = 5
    depends_on: tuple[str, ...] = ()
    launch_type: LaunchType | None = None
    network: Network | None = None
    health_check_grace_period: float | None = None  # seconds
    # The settings below are None when deploy.yaml does not mention them: the live
    # service keeps its own, and a new one gets ECS's default.
    enable_execute_command: bool | None = None
    tags: Mapping[str, str] | None = None
    propagate_tags: PropagateTags | None = None
    platform_version: str | None = None
    placement: Placement = Placement()
    capacity_provider_strategy: tuple[CapacityProvider, ...] | None = None
    # REPLICA (ECS's default when None) keeps desired_count tasks; DAEMON one task on
    # each ACTIVE container instance. Sent when the service is created, never changed.
    scheduling_strategy: SchedulingStrategy | None = None
    service_connect: ServiceConnect | None = None
    service_registries: tuple[ServiceRegistry, ...] | None = None
    availability_zone_rebalancing: Rebalancing | None = None
    volume_configurations: tuple[VolumeConfiguration, ...] | None = None
    # Other CreateService/UpdateService fields, in the API's camelCase shape, checked
    # against the ECS API model when the configuration is built.
    service_overrides: Mapping[str, Any] = field(default_factory=dict)
    # None: deploy.yaml has no `autoscaling:`, live scaling (if any) is left alone.
    autoscaling: Autoscaling | None = None

    @property
    def daemon(self) -> bool:
        """One task per container instance: ECS sets the desired count itself."""
        return self.scheduling_strategy == "DAEMON"

    @property
    def initial_count(self) -> int:
        """The desired count a service ecsdeploy creates starts with: desired_count, else
        autoscaling's minimum, else 1."""
        if self.desired_count is not None:
            return self.desired_count
        return 1 if self.autoscaling is None else self.autoscaling.min


@dataclass(frozen=True)
class Config:
    """A deploy.yaml after validation and after the chosen environment is overlaid."""

    path: Path  # the deploy.yaml, absolute
    version: int
    region: str | None
    environment: str | None
    vars: Mapping[str, Any]
    registries: Mapping[str, Registry]
    images: Mapping[str, Image]
    clusters: Mapping[str, Cluster]
    services: Mapping[str, Service]
    # Where each key was written, so later stages can point at deploy.yaml lines.
    positions: Positions | None = field(default=None, compare=False, repr=False)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def service_order(self) -> list[str]:
        """Service keys with every service after the ones it depends on (stable)."""
        done: list[str] = []
        seen: set[str] = set()

        def visit(key: str) -> None:
            if key in seen:
                return
            seen.add(key)
            for dep in self.services[key].depends_on:
                visit(dep)
            done.append(key)

        for key in self.services:
            visit(key)
        return done
