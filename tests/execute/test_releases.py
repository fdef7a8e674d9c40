"""Release records on the revisions ecsdeploy registers, and rollback to the last good one."""

from __future__ import annotations

from typing import Any

from tests.apps import REV_B, App
from tests.execute.conftest import break_web

REV_C = "c" * 40
REV_D = "d" * 40
TD = "quickstart-web"


def _tags(sandbox: Any, revision: int) -> dict[str, str]:
    answer = sandbox.client("ecs").describe_task_definition(
        taskDefinition=f"{TD}:{revision}", include=["TAGS"]
    )
    return {t["key"]: t["value"] for t in answer.get("tags", [])}


def _running(sandbox: Any) -> str:
    svc = sandbox.client("ecs").describe_services(cluster="quickstart", services=["web"])
    return str(svc["services"][0]["taskDefinition"]).rsplit("/", 1)[-1]


def test_a_registered_revision_records_its_release(app: App, sandbox: Any) -> None:
    result = app.run("apply", "--yes", "--service", "web")
    assert result.exit_code == 0, result.output
    tags = _tags(sandbox, 2)
    assert tags["ecsdeploy:git-revision"] == REV_B
    assert tags["ecsdeploy:outcome"] == "succeeded"
    # The records never make a difference: the next plan has nothing to register.
    assert "No changes." in app.run("plan", "--service", "web").output


def test_rollback_goes_to_the_last_good_release_never_to_a_failed_one(
    app: App, sandbox: Any
) -> None:
    """Releases good (:2), crashed (:3, rolled back by apply), good (:4): rollback goes
    to :2, the newest good one that is not running, not to :3."""
    assert app.run("apply", "--yes", "--service", "web", revision=REV_B).exit_code == 0
    template = app.dir / "taskdefs" / "web.json.j2"
    good = template.read_text()
    break_web(app, "SANDBOX_CRASH")
    crashed = app.run("apply", "--yes", "--service", "web", revision=REV_C)
    assert crashed.exit_code == 1, crashed.output
    assert _running(sandbox) == f"{TD}:2"
    template.write_text(good)
    assert app.run("apply", "--yes", "--service", "web", revision=REV_D).exit_code == 0
    assert _running(sandbox) == f"{TD}:4"
    assert _tags(sandbox, 3)["ecsdeploy:outcome"] == "rolled_back"
    assert _tags(sandbox, 4)["ecsdeploy:outcome"] == "succeeded"
    # The failure is also on the service, where every plan reads it without a call.
    service = sandbox.client("ecs").describe_services(
        cluster="quickstart", services=["web"], include=["TAGS"]
    )["services"][0]
    assert {"key": "ecsdeploy:failed-revisions", "value": "3"} in service["tags"]

    result = app.run("rollback", "web")
    assert result.exit_code == 0, result.output
    assert f"rolling back from {TD}:4 to {TD}:2" in result.output
    assert _running(sandbox) == f"{TD}:2"


def test_rollback_to_a_revision_that_is_not_active_lists_the_ones_there_are(
    app: App, sandbox: Any
) -> None:
    assert app.run("apply", "--yes", "--service", "web").exit_code == 0
    sandbox.client("ecs").deregister_task_definition(taskDefinition=f"{TD}:1")
    result = app.run("rollback", "web", "--to", "1")
    assert result.exit_code == 3, result.output
    assert f"{TD}:1 does not exist or is no longer ACTIVE" in result.output
    assert f"ACTIVE revisions of {TD}, newest first: 2" in result.output
    assert _running(sandbox) == f"{TD}:2"


def _validator() -> Any:
    import json
    from pathlib import Path

    from jsonschema import Draft202012Validator

    schema = json.loads(
        (Path(__file__).resolve().parents[2] / "schemas" / "history.schema.json").read_text()
    )
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_history_lists_every_release_newest_first(app: App, sandbox: Any) -> None:
    import json

    assert app.run("apply", "--yes", "--service", "web", revision=REV_B).exit_code == 0
    break_web(app, "SANDBOX_CRASH")
    assert app.run("apply", "--yes", "--service", "web", revision=REV_C).exit_code == 1
    # A deregistered revision keeps its record.
    sandbox.client("ecs").deregister_task_definition(taskDefinition=f"{TD}:3")

    result = app.run("history", "web", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    errors = [e.message for e in _validator().iter_errors(data)]
    assert errors == []
    rows = [(r["revision"], r["outcome"], r["status"], r["running"]) for r in data["releases"]]
    assert rows == [
        (3, "rolled_back", "INACTIVE", False),
        (2, "succeeded", "ACTIVE", True),
        (1, None, "ACTIVE", False),  # seeded, not registered by ecsdeploy: no record
    ]
    newest = data["releases"][0]
    assert newest["git_revision"] == REV_C
    assert newest["images"][0].endswith(f"quickstart/web:{REV_C[:7]}")
    assert newest["registered_by"].startswith("arn:aws:iam::")
    assert newest["registered_at"] and newest["finished_at"]

    text = app.run("history", "web", "--limit", "2")
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert (
        lines[0] == "service web (web in cluster quickstart), family quickstart-web, newest first:"
    )
    assert lines[1].split()[:3] == ["REVISION", "OUTCOME", "GIT"]
    assert lines[2].startswith("3 (deregistered)") and "rolled_back" in lines[2]
    assert lines[3].startswith("2 (running)") and "succeeded" in lines[3]
    assert len(lines) == 4


def test_history_of_an_unknown_service_is_an_input_error(app: App) -> None:
    result = app.run("history", "nope")
    assert result.exit_code == 3
    assert "unknown service `nope`" in result.output


def test_the_history_schema_can_fail() -> None:
    bad = {"version": 1, "service": "web", "name": "web", "cluster": "c", "family": "f"}
    assert list(_validator().iter_errors(bad))
    wrong = {**bad, "releases": [{"revision": 0}]}
    assert list(_validator().iter_errors(wrong))


def _active(sandbox: Any) -> list[int]:
    arns = sandbox.client("ecs").list_task_definitions(familyPrefix=TD, status="ACTIVE")
    return sorted(int(a.rsplit(":", 1)[1]) for a in arns["taskDefinitionArns"])


def test_retention_keeps_the_last_good_release_and_drops_failed_ones(
    app: App, sandbox: Any
) -> None:
    """keep_revisions 2 with releases seeded :1, good :2, crashed :3, good :4: the failed
    :3 goes, :2 (the last good one before :4) stays, :1 is beyond the two kept."""
    app.edit(
        "deploy.yaml",
        "    keep_revisions: 3\n    depends_on",
        "    keep_revisions: 2\n    depends_on",
    )
    assert app.run("apply", "--yes", "--service", "web", revision=REV_B).exit_code == 0
    template = app.dir / "taskdefs" / "web.json.j2"
    good = template.read_text()
    break_web(app, "SANDBOX_CRASH")
    assert app.run("apply", "--yes", "--service", "web", revision=REV_C).exit_code == 1
    assert _active(sandbox) == [1, 2, 3]  # nothing is deregistered after a failure
    template.write_text(good)
    plan = app.run("plan", "--service", "web", revision=REV_D)
    assert "- deregister quickstart-web:3, quickstart-web:1" in plan.output
    result = app.run("apply", "--yes", "--service", "web", revision=REV_D)
    assert result.exit_code == 0, result.output
    assert _active(sandbox) == [2, 4]
    assert app.run("rollback", "web").exit_code == 0
    assert _running(sandbox) == f"{TD}:2"


def test_retention_left_undone_is_finished_without_a_rollout(app: App, sandbox: Any) -> None:
    app.edit(
        "deploy.yaml",
        "    keep_revisions: 3\n    depends_on",
        "    keep_revisions: 1\n    depends_on",
    )
    assert app.run("apply", "--yes", "--service", "web", revision=REV_B).exit_code == 0
    assert app.run("apply", "--yes", "--service", "web", revision=REV_C).exit_code == 0
    # :1 went after :2 succeeded; :2 is kept as the last good one before :3.
    assert _active(sandbox) == [2, 3]
    # A failed release left behind (as by a run that died before deregistering it).
    assert app.run("apply", "--yes", "--service", "web", revision=REV_D).exit_code == 0
    assert _active(sandbox) == [3, 4]
    sandbox.client("ecs").register_task_definition(
        **{
            k: v
            for k, v in sandbox.client("ecs")
            .describe_task_definition(taskDefinition=f"{TD}:4")["taskDefinition"]
            .items()
            if k in ("family", "containerDefinitions", "networkMode", "requiresCompatibilities")
        }
        | {"tags": [{"key": "ecsdeploy:outcome", "value": "failed"}]}
    )
    assert _active(sandbox) == [3, 4, 5]
    plan = app.run("plan", "--service", "web", revision=REV_D)
    assert "- deregister quickstart-web:5" in plan.output
    result = app.run("apply", "--yes", "--service", "web", revision=REV_D)
    assert result.exit_code == 0, result.output
    assert "deregistered quickstart-web:5" in result.output
    assert _active(sandbox) == [3, 4]


def test_rollback_without_waiting_returns_after_the_update(app: App, sandbox: Any) -> None:
    assert app.run("apply", "--yes", "--service", "web", revision=REV_B).exit_code == 0
    result = app.run("rollback", "web", "--no-wait")
    assert result.exit_code == 0, result.output
    assert f"web: updated to {TD}:1 (not waited for)" in result.output
    assert _running(sandbox) == f"{TD}:1"


def test_rollback_without_records_asks_ecs_which_revisions_ever_served(
    app: App, sandbox: Any
) -> None:
    """Revisions made by another tool carry no record. ECS's deployment history says
    which ones a deployment completed on: :2 was registered but never deployed, so
    rollback from :3 goes to :1, not to the newest older one."""
    ecs = sandbox.client("ecs")
    first = ecs.describe_task_definition(taskDefinition=f"{TD}:1")["taskDefinition"]
    keys = ("family", "containerDefinitions", "networkMode", "requiresCompatibilities")
    for _ in range(2):
        ecs.register_task_definition(**{k: first[k] for k in keys if k in first})
    ecs.update_service(cluster="quickstart", service="web", taskDefinition=f"{TD}:3")
    assert sandbox.control.settle()
    assert _running(sandbox) == f"{TD}:3"

    sandbox.control.reset_calls()
    result = app.run("rollback", "web")
    assert result.exit_code == 0, result.output
    assert f"rolling back from {TD}:3 to {TD}:1" in result.output
    assert sandbox.control.calls()["ecs:DescribeServiceRevisions"] == 1
