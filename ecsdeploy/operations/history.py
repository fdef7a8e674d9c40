"""The history operation: a service's releases, newest first, from the records on its
task-definition revisions (ACTIVE and deregistered alike: a deregistered revision
keeps its tags)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecsdeploy.context import Context, live_service
from ecsdeploy.errors import OperationError

OUTPUT_VERSION = 1


@dataclass(frozen=True)
class Release:
    revision: int
    task_definition: str  # its ARN
    status: str  # ACTIVE, INACTIVE (deregistered)
    running: bool  # the service runs it now
    outcome: str | None  # succeeded, rolled_back, failed; None: no record (not ecsdeploy's)
    git_revision: str | None
    environment: str | None
    images: tuple[str, ...]
    registered_at: str | None  # ISO 8601
    registered_by: str | None  # the AWS principal that registered it
    finished_at: str | None  # when its outcome was known

    def as_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "task_definition": self.task_definition,
            "status": self.status,
            "running": self.running,
            "outcome": self.outcome,
            "git_revision": self.git_revision,
            "environment": self.environment,
            "images": list(self.images),
            "registered_at": self.registered_at,
            "registered_by": self.registered_by,
            "finished_at": self.finished_at,
        }


@dataclass(frozen=True)
class History:
    service: str  # key in deploy.yaml
    name: str
    cluster: str
    family: str
    releases: tuple[Release, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": OUTPUT_VERSION,
            "service": self.service,
            "name": self.name,
            "cluster": self.cluster,
            "family": self.family,
            "releases": [r.as_dict() for r in self.releases],
        }


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
    return str(value) if value else None


def history(ctx: Context, key: str, *, limit: int = 20) -> History:
    """The newest `limit` revisions of the service's family, with their records."""
    from ecsdeploy import releases
    from ecsdeploy.adapters.ecs import EcsReader, family_and_revision
    from ecsdeploy.threads import each

    config = ctx.config
    service = config.services[key]
    cluster = config.clusters[service.cluster].name
    reader = EcsReader(ctx.clients)
    live = live_service(ctx, key)
    running = str(live["taskDefinition"]) if live is not None else None
    family = family_and_revision(running)[0] if running is not None else ctx.rendered[key].family
    arns = reader.revisions(family, "ACTIVE") + reader.revisions(family, "INACTIVE")
    arns.sort(key=lambda a: family_and_revision(a)[1], reverse=True)
    arns = arns[: max(0, limit)]
    if not arns:
        raise OperationError(
            f"{family} has no revision in region {ctx.clients.region}",
            hint="deploy it first (ecsdeploy apply), or check --region",
        )
    described = each(reader.describe_task_definition, arns, workers=8)
    found = []
    for arn, td in zip(arns, described, strict=True):
        tags = releases.tag_map(td)
        found.append(
            Release(
                revision=family_and_revision(arn)[1],
                task_definition=arn,
                status=str(td.get("status") or ""),
                running=arn == running,
                outcome=tags.get(releases.OUTCOME),
                git_revision=tags.get(releases.GIT_REVISION),
                environment=tags.get(releases.ENVIRONMENT),
                images=tuple(
                    str(c.get("image") or "") for c in td.get("containerDefinitions") or []
                ),
                registered_at=_iso(td.get("registeredAt")),
                registered_by=td.get("registeredBy"),
                finished_at=tags.get(releases.FINISHED_AT),
            )
        )
    return History(key, service.name, cluster, family, tuple(found))
