"""The plan as data: steps per service, each with an action, rendered by views only.

Like terraform's plans: the code that computes a plan never prints it, and a
plan saved to a file is read back into these same types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .diff import TaskDefinitionDiff

FORMAT_VERSION = 1


class Action(StrEnum):
    CREATE = "+"
    UPDATE = "~"
    DELETE = "-"
    READ = "?"  # a wait or a check: it changes nothing, it looks


class StepKind(StrEnum):
    IMAGE = "image"  # tag with the revision and push (seed steps 1 and 2)
    SECRET = "secret"  # noqa: S105 (a step kind: registry credentials in Secrets Manager)
    ECS_CONFIG = "ecs_config"
    REGISTER = "register"
    CREATE_SERVICE = "create_service"
    UPDATE_SERVICE = "update_service"
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


@dataclass(frozen=True)
class ServiceStep:
    """Create or update the ECS service."""

    changes: tuple[Change, ...]
    create: bool = False

    @property
    def kind(self) -> StepKind:
        return StepKind.CREATE_SERVICE if self.create else StepKind.UPDATE_SERVICE

    @property
    def action(self) -> Action:
        return Action.CREATE if self.create else Action.UPDATE


@dataclass(frozen=True)
class WaitStep:
    timeout: float
    checks: tuple[str, ...]  # human descriptions of what success needs
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
    """

    cluster: str  # ECS name
    cluster_key: str
    instances: tuple[str, ...]  # EC2 instance ids whose attribute differs from `digest`
    total: int  # container instances in the cluster
    digest: str  # EcsConfig.digest the instances will record
    lines: tuple[str, ...]  # the managed lines, secrets masked
    drain: bool = False
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
    ImageStep | SecretStep | EcsConfigStep | RegisterStep | ServiceStep | WaitStep | DeregisterStep
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

    @property
    def changed(self) -> bool:
        return any(s.action != Action.READ for s in self.steps)

    @property
    def waits(self) -> bool:
        """A wait with nothing to change: a rollout already under way."""
        return not self.changed and any(s.kind == StepKind.WAIT for s in self.steps)

    def steps_of(self, kind: StepKind) -> list[Step]:
        return [s for s in self.steps if s.kind == kind]


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

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.services)

    @property
    def has_work(self) -> bool:
        """Something for apply to do: changes, or rollouts under way to wait for."""
        return any(s.changed or s.waits for s in self.services)

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
            "update": sum(
                1
                for sp in self.services
                for s in sp.steps
                if isinstance(s, ServiceStep) and not s.create
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
        return "Plan: " + ", ".join(parts) + "."
