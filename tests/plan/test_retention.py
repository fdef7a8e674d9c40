"""Retention (`keep_revisions`) on release records: pure, on hand-made live state."""

from __future__ import annotations

from pathlib import Path

from ecsdeploy.config.model import Service
from ecsdeploy.plan.observe import ServiceState
from ecsdeploy.plan.planner import retention

ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:{}"
SERVICE_ARN = "arn:aws:ecs:us-east-1:123456789012:service/main/web"


def arn(n: int) -> str:
    return ARN.format(n)


def svc(keep: int) -> Service:
    return Service(
        key="web", cluster="main", name="web", task_definition=Path("/x.j2"), keep_revisions=keep
    )


def state(running: int) -> ServiceState:
    return ServiceState(
        key="web",
        cluster="main",
        name="web",
        service={"serviceArn": SERVICE_ARN, "taskDefinition": arn(running), "deployments": []},
    )


def gone(
    keep: int,
    outcomes: dict[int, str | None],
    running: int,
    *,
    registering: bool = True,
    target: int | None = None,
    users: dict[int, str] | None = None,
) -> list[int]:
    """Revision numbers deregistered, given each ACTIVE revision's recorded outcome."""
    revisions = tuple(arn(n) for n in sorted(outcomes, reverse=True))
    step = retention(
        svc(keep),
        state(running),
        revisions,
        registering,
        arn(target) if target is not None else None,
        {arn(n): frozenset({u}) for n, u in (users or {}).items()},
        {arn(n): o for n, o in outcomes.items()},
    )
    return [] if step is None else [int(a.rsplit(":", 1)[1]) for a in step.arns]


def test_failed_releases_do_not_count_and_go_after_the_next_success() -> None:
    # good :1, good :2, crashed :3 (the service went back to :2); deploying a new one.
    outcomes = {1: "succeeded", 2: "succeeded", 3: "rolled_back"}
    assert gone(2, outcomes, running=2) == [3, 1]
    assert gone(3, outcomes, running=2) == [3]


def test_unrecorded_revisions_count_as_good_by_age() -> None:
    outcomes: dict[int, str | None] = {1: None, 2: None, 3: None, 4: None}
    assert gone(3, outcomes, running=4) == [2, 1]


def test_the_last_good_release_is_kept_whatever_n_is() -> None:
    outcomes = {1: "succeeded", 2: "failed", 3: "rolled_back"}
    # keep_revisions 1 keeps only the new release, yet :1 is what a rollback goes to.
    assert gone(1, outcomes, running=1) == [3, 2]


def test_a_reused_revision_is_the_new_release() -> None:
    outcomes = {1: "succeeded", 2: "succeeded", 3: None}
    # The service moves to :3, registered by an interrupted run: it counts, :1 goes.
    assert gone(2, outcomes, running=2, registering=False, target=3) == [1]


def test_a_revision_another_service_uses_is_kept() -> None:
    outcomes = {1: "succeeded", 2: "succeeded", 3: "rolled_back"}
    assert gone(1, outcomes, running=2, users={3: "arn:other"}) == [1]
    assert gone(1, outcomes, running=2, users={1: "arn:other"}) == [3]
