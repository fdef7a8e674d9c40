"""Convergence: apply killed (SIGKILL) right after each write it makes, then run again,
ends where an uninterrupted apply ends: same revision running, same revisions ACTIVE,
no duplicate revision, no lock left behind.

The sandbox carries out the chosen call and then holds its answer (`Sandbox.stall`),
so the process dies exactly after AWS acted and before it heard back.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.apps import App, lock_tags, spawn

TD = "quickstart-web"


def _active(sandbox: Any) -> list[int]:
    arns = sandbox.client("ecs").list_task_definitions(familyPrefix=TD, status="ACTIVE")
    return sorted(int(a.rsplit(":", 1)[1]) for a in arns["taskDefinitionArns"])


def _running(sandbox: Any) -> int | None:
    found = sandbox.client("ecs").describe_services(cluster="quickstart", services=["web"])
    live = [s for s in found["services"] if s["status"] == "ACTIVE"]
    return int(live[0]["taskDefinition"].rsplit(":", 1)[1]) if live else None


def _failed_copy_of_the_first_revision(sandbox: Any) -> None:
    """:2, an old release recorded as failed: retention deregisters it after a success."""
    ecs = sandbox.client("ecs")
    first = ecs.describe_task_definition(taskDefinition=f"{TD}:1")["taskDefinition"]
    keys = ("family", "containerDefinitions", "networkMode", "requiresCompatibilities")
    ecs.register_task_definition(
        **{k: first[k] for k in keys if k in first},
        tags=[{"key": "ecsdeploy:outcome", "value": "failed"}],
    )
    # As apply records a failure: on the revision, and on the service.
    service = ecs.describe_services(cluster="quickstart", services=["web"])["services"][0]
    ecs.tag_resource(
        resourceArn=service["serviceArn"],
        tags=[{"key": "ecsdeploy:failed-revisions", "value": "2"}],
    )


def _outcome(sandbox: Any, revision: int) -> str | None:
    tags = sandbox.client("ecs").describe_task_definition(
        taskDefinition=f"{TD}:{revision}", include=["TAGS"]
    )
    return {t["key"]: t["value"] for t in tags.get("tags", [])}.get("ecsdeploy:outcome")


def _delete_web(sandbox: Any) -> None:
    ecs = sandbox.client("ecs")
    ecs.update_service(cluster="quickstart", service="web", desiredCount=0)
    ecs.delete_service(cluster="quickstart", service="web", force=True)


# (the call after which apply dies, which of them) for a redeploy: seeded :1, a failed :2,
# apply registers :3, rolls it out, records it, deregisters :2.
REDEPLOY = [
    ("ecr:PutImage", 1),  # the image re-tagged, nothing changed in ECS yet
    ("ecs:RegisterTaskDefinition", 1),  # registered, the service not updated
    ("ecs:UpdateService", 1),  # updated, the rollout not waited for
    ("ecs:ListServiceDeployments", 1),  # during the wait, asking ECS's verdict
    ("ecs:TagResource", 2),  # the release recorded (the 1st is the lock), not deregistered
    ("ecs:DeregisterTaskDefinition", 1),  # during retention
]

# A first deploy: the service does not exist; apply registers :2 and creates it.
FIRST_DEPLOY = [
    ("ecs:RegisterTaskDefinition", 1),  # registered, the service not created yet
    ("ecs:CreateService", 1),  # created, its rollout not waited for
    ("ecs:ListServiceDeployments", 1),  # during the wait
]


def _kill_after(app: App, sandbox: Any, operation: str, nth: int) -> str:
    sandbox.control.stall(operation, nth)
    proc = spawn(app, "apply", "--yes", "--service", "web")
    try:
        held = sandbox.control.wait_stalled(timeout=120)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
    finally:
        sandbox.control.release_stalls()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert held, f"apply never made call {nth} of {operation}:\n{out}"
    assert proc.returncode == -signal.SIGKILL
    return out


@pytest.mark.parametrize(("operation", "nth"), REDEPLOY, ids=[o for o, _ in REDEPLOY])
def test_a_redeploy_killed_after_a_write_converges(
    app: App, sandbox: Any, operation: str, nth: int
) -> None:
    _failed_copy_of_the_first_revision(sandbox)
    _kill_after(app, sandbox, operation, nth)

    again = app.run("apply", "--yes", "--service", "web")
    assert again.exit_code == 0, again.output
    assert _running(sandbox) == 3
    assert _active(sandbox) == [1, 3]  # :2 (failed) deregistered, no duplicate of :3
    assert _outcome(sandbox, 3) == "succeeded"  # judged and recorded, whoever finished
    assert lock_tags(app.endpoint_url, "quickstart") == {}
    assert app.run("plan", "--service", "web").output.rstrip().endswith("No changes.")


@pytest.mark.parametrize(("operation", "nth"), FIRST_DEPLOY, ids=[o for o, _ in FIRST_DEPLOY])
def test_a_first_deploy_killed_after_a_write_converges(
    app: App, sandbox: Any, operation: str, nth: int
) -> None:
    _delete_web(sandbox)
    assert _running(sandbox) is None
    _kill_after(app, sandbox, operation, nth)

    again = app.run("apply", "--yes", "--service", "web")
    assert again.exit_code == 0, again.output
    assert _running(sandbox) == 2
    assert _active(sandbox) == [1, 2]
    assert _outcome(sandbox, 2) == "succeeded"
    assert lock_tags(app.endpoint_url, "quickstart") == {}
    assert app.run("plan", "--service", "web").output.rstrip().endswith("No changes.")


def test_the_uninterrupted_runs_end_in_the_same_state(app: App, sandbox: Any) -> None:
    """The reference the table compares with."""
    _failed_copy_of_the_first_revision(sandbox)
    assert app.run("apply", "--yes", "--service", "web").exit_code == 0
    assert (_running(sandbox), _active(sandbox)) == (3, [1, 3])
    _delete_web(sandbox)
    assert app.run("apply", "--yes", "--service", "web").exit_code == 0
    assert _running(sandbox) == 3  # created on the revision already registered


def test_a_stall_the_client_never_reaches_is_reported() -> None:
    """The harness can fail: an operation apply never calls is never held."""
    from ecsdeploy.sandbox.server import Stalls

    stalls = Stalls()
    stalls.arm("ecs:CreateService", 2)
    assert not stalls.should_hold("ecs:UpdateService")
    assert not stalls.should_hold("ecs:CreateService")
    assert stalls.should_hold("ecs:CreateService")
    assert not stalls.should_hold("ecs:CreateService")
    assert not stalls.stalled.is_set()


def test_a_failing_release_killed_during_its_rollback_fails_the_same_way_again(
    app: App, sandbox: Any
) -> None:
    """The release crashes; apply dies while it works out why, as ECS rolls it back.
    Run again, it deploys the same (already registered) revision, which fails the same
    way: exit 1, the service back on :1, no duplicate revision, the release recorded."""
    from tests.execute.conftest import break_web

    _failed_copy_of_the_first_revision(sandbox)
    break_web(app, "SANDBOX_CRASH")
    # Killed while it reads why the tasks stopped, as ECS's circuit breaker rolls back.
    died = _kill_after(app, sandbox, "ecs:ListTasks", 1)
    assert "updating service web on quickstart-web:3" in died
    assert "deployed" not in died

    again = app.run("apply", "--yes", "--service", "web")
    assert again.exit_code == 1, again.output
    assert "the service runs quickstart-web:1 again" in again.output
    assert _running(sandbox) == 1
    assert _active(sandbox) == [1, 2, 3]  # nothing deregistered after a failure
    tags = sandbox.client("ecs").describe_task_definition(
        taskDefinition=f"{TD}:3", include=["TAGS"]
    )["tags"]
    assert {"key": "ecsdeploy:outcome", "value": "rolled_back"} in tags
    assert lock_tags(app.endpoint_url, "quickstart") == {}
