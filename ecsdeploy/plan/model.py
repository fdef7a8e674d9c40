"""The plan as data: steps per service, each with an action, rendered by views only.

Like terraform's plans: the code that computes a plan never prints it, and a
plan saved to a file is read back into these same types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ecsdeploy.config.model import LoadBalancer, Registry
from ecsdeploy.findings import Finding

from .diff import TaskDefinitionDiff

# 2: the plan carries every request apply sends (register, create/update service),
# the wait's settings, the registries, the pre-flight's findings; apply reads no
# deploy.yaml. A reader of version 1 would have rebuilt those from deploy.yaml.
# 3: a wait step holds every target group (`load_balancers`, a list) instead of one
# (`load_balancer`); a version-2 file is still read, its one entry as a list of one.
# 4: a wait step may carry a deployment strategy (blue_green, linear, canary) with
# its stages, and each target group its alternate one, listener rules and test_http
# check, which apply needs to answer ECS's pause after the test traffic shift. A
# version-2 or -3 file is read as a rolling deployment's. A service whose deployment
# controller is CODE_DEPLOY gets a `codedeploy` step (the AppSpec and CreateDeployment
# input) and a wait on that CodeDeploy deployment.
FORMAT_VERSION = 4
READABLE_VERSIONS = (2, 3, 4)


class Action(StrEnum):
    CREATE = "+"
    UPDATE = "~"
    DELETE = "-"
    READ = "?"  # a wait or a check: it changes nothing, it looks


class StepKind(StrEnum):
    IMAGE = "image"  # tag with the Git revision and push to the registry
    SECRET = "secret"  # noqa: S105 (a step kind: registry credentials in Secrets Manager)
    ECS_CONFIG = "ecs_config"
    REGISTER = "register"
    CREATE_SERVICE = "create_service"
    UPDATE_SERVICE = "update_service"
    CODEDEPLOY = "codedeploy"  # a CodeDeploy deployment of a CODE_DEPLOY service
    SCALING = "scaling"  # Application Auto Scaling of the desired count
    WAIT = "wait"
    DEREGISTER = "deregister"


@dataclass(frozen=True)
class Change:
    """One field of a service that changes."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ImageStep:
    image: str  # key in deploy.yaml
    method: str  # "promote" (re-tag in the registry) or "push" (from the local engine)
    source: str  # what the tag is made from
    target: str  # the revision-tagged URI
    source_digest: str | None
    registry: str = ""  # key of the registry in the plan's `registries`
    repository: str = ""
    kind: StepKind = StepKind.IMAGE
    action: Action = Action.CREATE


@dataclass(frozen=True)
class RegisterStep:
    family: str
    diff: TaskDefinitionDiff
    # The family's latest revision when it already equals the render (a re-run after
    # an interruption): no register, the service moves to this one.
    reuse_arn: str | None = None
    kind: StepKind = StepKind.REGISTER

    @property
    def action(self) -> Action:
        return Action.READ if self.reuse_arn else Action.CREATE


# In a service request: the revision this plan registers, known once it is registered.
REGISTERED_BY_PLAN = None


@dataclass(frozen=True)
class ServiceStep:
    """Create or update the ECS service.

    `request` is the CreateService or UpdateService input apply sends, exactly;
    its `taskDefinition` is None when the revision is the one this plan registers
    (its ARN is known only then). `changes` is what a reviewer reads.
    """

    changes: tuple[Change, ...]
    create: bool = False
    request: Mapping[str, Any] = field(default_factory=dict)
    # Lines for the reviewer beyond the changes ("desired count: kept (live 7)").
    notes: tuple[str, ...] = ()
    # The TagResource input for the tags of an existing service (UpdateService takes
    # none), sent after the request; None when no tag changes.
    tag_resource: Mapping[str, Any] | None = None

    @property
    def kind(self) -> StepKind:
        return StepKind.CREATE_SERVICE if self.create else StepKind.UPDATE_SERVICE

    @property
    def action(self) -> Action:
        return Action.CREATE if self.create else Action.UPDATE


@dataclass(frozen=True)
class CodeDeployTarget:
    """The CodeDeploy application and deployment group that deploy a CODE_DEPLOY service."""

    application: str
    deployment_group: str
    # Seconds the group holds a deployment `Ready` for its traffic reroute to be started
    # (deploymentReadyOption STOP_DEPLOYMENT); None: it reroutes as soon as it can.
    ready_wait: float | None = None


@dataclass(frozen=True)
class CodeDeployStep:
    """Deploy through CodeDeploy what ECS's UpdateService may not change on a CODE_DEPLOY
    service (the task definition, load balancer container, network, platform version,
    capacity provider strategy): CreateDeployment of `request` with `appspec` as its
    revision (AppSpecContent: the JSON text of `appspec`, and its SHA-256).

    The AppSpec's TaskDefinition is None when it is the revision this plan registers
    (its ARN is known only then). `changes` is what a reviewer reads.
    """

    target: CodeDeployTarget
    appspec: Mapping[str, Any]
    request: Mapping[str, Any]  # CreateDeployment's input but the revision
    changes: tuple[Change, ...] = ()
    kind: StepKind = StepKind.CODEDEPLOY
    action: Action = Action.UPDATE


@dataclass(frozen=True)
class ScalingStep:
    """Application Auto Scaling of the service's desired count, once the service exists.

    Each request is the exact input apply sends, in this order: RegisterScalableTarget
    (None when min and max stay), the deletions of the policies and scheduled actions
    deploy.yaml no longer lists, then PutScalingPolicy and PutScheduledAction for the
    ones new or changed. `changes` is what a reviewer reads, field by field.
    """

    resource_id: str  # service/<cluster>/<service>
    changes: tuple[Change, ...]
    create: bool = False  # the service has no scalable target yet
    register: Mapping[str, Any] | None = None
    delete_policies: tuple[Mapping[str, Any], ...] = ()
    delete_scheduled: tuple[Mapping[str, Any], ...] = ()
    put_policies: tuple[Mapping[str, Any], ...] = ()
    put_scheduled: tuple[Mapping[str, Any], ...] = ()
    notes: tuple[str, ...] = ()
    kind: StepKind = StepKind.SCALING

    @property
    def action(self) -> Action:
        return Action.CREATE if self.create else Action.UPDATE


@dataclass(frozen=True)
class WaitStep:
    """Wait for the rollout and judge it; on failure, go back to the revision before."""

    timeout: float
    checks: tuple[str, ...]  # human descriptions of what success needs
    poll: float = 5.0
    circuit_breaker: bool = True  # ECS's breaker is on: its rollback is a failure to report
    # Target health and the HTTP check, for each target group of the service.
    load_balancers: tuple[LoadBalancer, ...] = ()
    # rolling, or ECS's blue_green, linear, canary: then the wait follows ECS's service
    # deployment through `stages` (in words), answers the pause for `test_http`, and
    # counts `bake` seconds of both revisions running.
    strategy: str = "rolling"
    stages: tuple[str, ...] = ()
    bake: float = 0.0
    # Seconds of linear steps' or the canary's bakes: with `bake`, added to `timeout`,
    # which counts the deployment's own work.
    shift_bake: float = 0.0
    # strategy "codedeploy": the group whose deployment is followed (GetDeployment);
    # `bake` is then its wait before the original task set goes, and `shift_bake` the
    # time its deployment configuration takes to move all production traffic.
    codedeploy: CodeDeployTarget | None = None
    kind: StepKind = StepKind.WAIT
    action: Action = Action.READ


@dataclass(frozen=True)
class DeregisterStep:
    arns: tuple[str, ...]
    kind: StepKind = StepKind.DEREGISTER
    action: Action = Action.DELETE


@dataclass(frozen=True)
class EcsConfigStep:
    """Bring a cluster's container instances' /etc/ecs/ecs.config up to date.

    One per cluster, carried by the first service of that cluster in the plan; it
    concerns the whole cluster. `lines` are masked: the plan never holds a secret.
    apply rebuilds the lines from `registries` (credentials from the environment
    variables the plan's registries name) and `settings`, and refuses the roll-out
    when the result's digest is not `digest`.
    """

    cluster: str  # ECS name
    cluster_key: str
    instances: tuple[str, ...]  # EC2 instance ids whose attribute differs from `digest`
    total: int  # container instances in the cluster
    digest: str  # EcsConfig.digest the instances will record
    lines: tuple[str, ...]  # the managed lines, secrets masked
    drain: bool = False
    registries: tuple[str, ...] = ()  # keys of the registries whose auth it carries
    settings: tuple[tuple[str, str], ...] = ()  # the cluster's other agent settings
    poll: float = 5.0
    drain_timeout: float = 900.0
    kind: StepKind = StepKind.ECS_CONFIG
    action: Action = Action.UPDATE


@dataclass(frozen=True)
class SecretStep:
    """Create or update the Secrets Manager secret of a repository_credentials registry."""

    registry: str  # key in deploy.yaml
    name: str
    arn: str | None  # None: created by apply, its ARN known after
    kind: StepKind = StepKind.SECRET

    @property
    def action(self) -> Action:
        return Action.CREATE if self.arn is None else Action.UPDATE


Step = (
    ImageStep
    | SecretStep
    | EcsConfigStep
    | RegisterStep
    | ServiceStep
    | CodeDeployStep
    | ScalingStep
    | WaitStep
    | DeregisterStep
)


@dataclass(frozen=True)
class Warning:
    service: str
    message: str
    fix: str | None = None
    severity: str = "warning"  # "warning" or "note"


@dataclass(frozen=True)
class Fingerprint:
    """The live state a service plan was computed from; apply refuses if it moved."""

    task_definition: str | None
    deployment: str | None
    exists: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "exists": self.exists,
            "task_definition": self.task_definition,
            "deployment": self.deployment,
        }


@dataclass(frozen=True)
class ServicePlan:
    key: str
    name: str
    cluster: str  # the ECS cluster name
    family: str
    current_task_definition: str | None
    task_definition: dict[str, Any]  # the rendered RegisterTaskDefinition input
    steps: tuple[Step, ...]
    fingerprint: Fingerprint
    warnings: tuple[Warning, ...] = ()
    depends_on: tuple[str, ...] = ()  # keys of services deployed first

    @property
    def register(self) -> RegisterStep | None:
        return next((s for s in self.steps if isinstance(s, RegisterStep)), None)

    @property
    def service_step(self) -> ServiceStep | None:
        return next((s for s in self.steps if isinstance(s, ServiceStep)), None)

    @property
    def codedeploy_step(self) -> CodeDeployStep | None:
        return next((s for s in self.steps if isinstance(s, CodeDeployStep)), None)

    @property
    def wait_step(self) -> WaitStep | None:
        return next((s for s in self.steps if isinstance(s, WaitStep)), None)

    @property
    def changed(self) -> bool:
        return any(s.action != Action.READ for s in self.steps)

    @property
    def acts(self) -> bool:
        """apply does something for this service: changes it, or waits on its rollout."""
        return self.changed or self.waits

    @property
    def waits(self) -> bool:
        """A wait with nothing to change: a rollout already under way."""
        return not self.changed and any(s.kind == StepKind.WAIT for s in self.steps)

    def steps_of(self, kind: StepKind) -> list[Step]:
        return [s for s in self.steps if s.kind == kind]


@dataclass(frozen=True)
class Inputs:
    """Digests of what the plan was made from, so a reader can tell which files it reflects."""

    config: str  # sha256 of deploy.yaml
    templates: Mapping[str, str]  # template path (relative to deploy.yaml) -> sha256
    variables: str  # sha256 of the variables after environment and --var overlays

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "templates": dict(self.templates),
            "variables": self.variables,
        }


@dataclass(frozen=True)
class Plan:
    services: tuple[ServicePlan, ...]
    revision: str | None
    environment: str | None
    config_path: str
    region: str | None
    created_at: str
    tool_version: str
    format_version: int = FORMAT_VERSION
    warnings: tuple[Warning, ...] = field(default=())
    # What apply needs to send the requests without deploy.yaml: the registries'
    # settings (names of credential variables, never values), every cluster's name
    # (no revision any service there uses is deregistered).
    registries: Mapping[str, Registry] = field(default_factory=dict)
    clusters: tuple[str, ...] = ()
    inputs: Inputs | None = None
    git_dirty: bool = False
    # The pre-flight's verdict: every finding, and whether downtime was accepted.
    findings: tuple[Finding, ...] = ()
    allow_downtime: bool = False

    def blocks(self, finding: Finding) -> bool:
        """Whether apply refuses this plan for `finding`: an error not accepted by
        `allow_downtime`, on a service the plan changes (or waits on). A service
        left as it is risks nothing; its errors are shown, not enforced."""
        acting = next((sp.acts for sp in self.services if sp.key == finding.service), False)
        return acting and finding.blocks(allow_downtime=self.allow_downtime)

    @property
    def blocking(self) -> list[Finding]:
        """The findings that make apply refuse this plan (exit 4)."""
        return [f for f in self.findings if self.blocks(f)]

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.services)

    @property
    def has_work(self) -> bool:
        """Something for apply to do: changes, or rollouts under way to wait for."""
        return any(s.acts for s in self.services)

    def counts(self) -> dict[str, int]:
        images = {s.target for sp in self.services for s in sp.steps if isinstance(s, ImageStep)}
        counts = {
            "images": len(images),
            "register": sum(
                1
                for sp in self.services
                for s in sp.steps
                if isinstance(s, RegisterStep) and s.reuse_arn is None
            ),
            "create": sum(
                1
                for sp in self.services
                for s in sp.steps
                if isinstance(s, ServiceStep) and s.create
            ),
            # A CODE_DEPLOY service is updated by UpdateService, CodeDeploy, or both.
            "update": sum(
                1
                for sp in self.services
                if any(
                    (isinstance(s, ServiceStep) and not s.create) or isinstance(s, CodeDeployStep)
                    for s in sp.steps
                )
            ),
            "deregister": sum(
                len(s.arns)
                for sp in self.services
                for s in sp.steps
                if isinstance(s, DeregisterStep)
            ),
        }
        # Only when there are some: plans without private registries read as before.
        steps = [s for sp in self.services for s in sp.steps]
        instances = sum(len(s.instances) for s in steps if isinstance(s, EcsConfigStep))
        if instances:
            counts["instances"] = instances
        secrets = sum(1 for s in steps if isinstance(s, SecretStep))
        if secrets:
            counts["secrets"] = secrets
        scaling = sum(1 for s in steps if isinstance(s, ScalingStep))
        if scaling:
            counts["scaling"] = scaling
        return counts

    def summary(self) -> str:
        if not self.changed:
            return "No changes."
        c = self.counts()

        def n(count: int, one: str, many: str) -> str:
            return f"{count} {one if count == 1 else many}"

        parts = [
            n(c["images"], "image to push", "images to push"),
            n(c["register"], "task definition to register", "task definitions to register"),
        ]
        if c["create"]:
            parts.append(n(c["create"], "service to create", "services to create"))
        parts += [
            n(c["update"], "service to update", "services to update"),
            n(c["deregister"], "revision to deregister", "revisions to deregister"),
        ]
        if c.get("secrets"):
            parts.append(n(c["secrets"], "secret to write", "secrets to write"))
        if c.get("instances"):
            parts.append(n(c["instances"], "instance to reconfigure", "instances to reconfigure"))
        if c.get("scaling"):
            parts.append(
                n(c["scaling"], "autoscaling setup to change", "autoscaling setups to change")
            )
        return "Plan: " + ", ".join(parts) + "."
