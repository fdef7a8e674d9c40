"""`ecsdeploy apply` on the sandbox: tag, push, register, update, deregister; waiting,
checks, rollback, safety."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.apps import REV_A, REV_B, App, lock_tags, write_calls
from tests.execute.conftest import HttpServer, break_web

REV_C = "ccccccc0000000000000000000000000000000c3"
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def _service(sandbox: Any, name: str) -> dict[str, Any]:
    svc: dict[str, Any] = sandbox.client("ecs").describe_services(
        cluster="quickstart", services=[name]
    )["services"][0]
    return svc


ONE_ATTEMPT = {"AWS_MAX_ATTEMPTS": "1"}  # an injected error is not retried


def _active(sandbox: Any, family: str) -> list[str]:
    arns: list[str] = sandbox.client("ecs").list_task_definitions(
        familyPrefix=family, status="ACTIVE", sort="ASC"
    )["taskDefinitionArns"]
    return [a.rsplit("/", 1)[-1] for a in arns]


def _digest(sandbox: Any, repository: str, tag: str) -> str:
    images = sandbox.client("ecr").batch_get_image(
        repositoryName=repository, imageIds=[{"imageTag": tag}]
    )["images"]
    return str(images[0]["imageId"]["imageDigest"])


def test_the_seed_flow_end_to_end(app: App, sandbox: Any) -> None:
    from ecsdeploy.config import load_config
    from ecsdeploy.render import Renderer

    # Older revisions that keep_revisions (3) will trim after success.
    config = load_config(app.deploy_yaml)
    for i in range(3):
        td = Renderer(config, revision=f"{i}" * 7).render_service("web").task_definition
        sandbox.client("ecs").register_task_definition(**td)
    assert _active(sandbox, "quickstart-web") == [f"quickstart-web:{i}" for i in range(1, 5)]

    result = app.run("apply", "--yes", "--allow-downtime")
    assert result.exit_code == 0, result.output
    out = result.output
    # 1-2: images tagged with the revision, same digest as the source.
    for name in ("web", "worker"):
        repo = f"quickstart/{name}"
        assert _digest(sandbox, repo, REV_B[:7]) == _digest(sandbox, repo, "latest")
        assert f"re-tag {ECR}/{repo}:latest -> {ECR}/{repo}:{REV_B[:7]}" in out
    # 4-5: a new revision with the revision-tagged image, and the service on it.
    web = _service(sandbox, "web")
    assert web["taskDefinition"].endswith("quickstart-web:5")
    td = sandbox.client("ecs").describe_task_definition(taskDefinition="quickstart-web:5")
    assert td["taskDefinition"]["containerDefinitions"][0]["image"] == (
        f"{ECR}/quickstart/web:{REV_B[:7]}"
    )
    assert [d["rolloutState"] for d in web["deployments"]] == ["COMPLETED"]
    assert web["runningCount"] == web["desiredCount"] == 2
    # 3 (after success): beyond keep_revisions, deregistered; the new one and two more kept.
    assert _active(sandbox, "quickstart-web") == [
        "quickstart-web:3",
        "quickstart-web:4",
        "quickstart-web:5",
    ]
    assert "deregistered quickstart-web:1" in out
    assert "Apply complete: 2 of 2 services ok." in out

    # A second apply changes nothing and registers nothing.
    sandbox.control.reset_calls()
    again = app.run("apply", "--yes", "--allow-downtime")
    assert again.exit_code == 0, again.output
    assert again.output.rstrip().endswith("No changes.")
    calls = sandbox.control.calls()
    assert "ecs:RegisterTaskDefinition" not in calls
    assert "ecs:UpdateService" not in calls
    assert "ecr:PutImage" not in calls


def test_circuit_breaker_rollback_is_a_failure(app: App, sandbox: Any) -> None:
    break_web(app, "SANDBOX_CRASH")
    result = app.run("apply", "--yes", "--allow-downtime")
    assert result.exit_code == 1, result.output
    out = result.output
    assert "release quickstart-web:2 failed" in out
    assert "ECS rolled the service back to quickstart-web:1" in out or "deployment failed" in out
    assert "Essential container in task exited" in out
    # ECS's own verdict, from DescribeServiceDeployments.
    assert "service deployment ROLLBACK_SUCCESSFUL: ECS deployment circuit breaker" in out
    assert "rolled back: the service runs quickstart-web:1 again" in out
    web = _service(sandbox, "web")
    assert web["taskDefinition"].endswith("quickstart-web:1")
    # Nothing deregistered after a failure.
    assert _active(sandbox, "quickstart-web") == ["quickstart-web:1", "quickstart-web:2"]
    assert "Apply failed: 1 of 2 services ok." in out


def test_without_circuit_breaker_the_tool_times_out_and_rolls_back(app: App, sandbox: Any) -> None:
    app.edit(
        "deploy.yaml", "circuit_breaker: {enable: true, rollback: true}", "circuit_breaker: false"
    )
    app.edit("deploy.yaml", "timeout: 5m", "timeout: 3s")
    # Tasks that take 10 simulated days to start: the rollout never completes.
    break_web(app, "SANDBOX_START_SECONDS", "864000")
    # verify requires the target group's draining to fit in the (here tiny) timeout.
    elbv2 = sandbox.client("elbv2")
    tg = elbv2.describe_target_groups(Names=["quickstart-web"])["TargetGroups"][0]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=tg["TargetGroupArn"],
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "1"}],
    )
    result = app.run("apply", "--yes", "--allow-downtime", "--service", "web")
    assert result.exit_code == 1, result.output
    assert "timed out after 3s" in result.output
    assert "rolling back to quickstart-web:1" in result.output
    assert _service(sandbox, "web")["taskDefinition"].endswith("quickstart-web:1")
    # ECS's record of the rollback apply made is ECS's word, not an error.
    assert "ecs: service deployment of the rollback SUCCESSFUL" in result.output
    assert not re.search(r"error: .*service deployment", result.output), result.output
    assert "Apply failed: 0 of 1 service ok." in result.output


def test_unhealthy_targets_fail_the_release(app: App, sandbox: Any) -> None:
    app.edit(
        "deploy.yaml", "circuit_breaker: {enable: true, rollback: true}", "circuit_breaker: false"
    )
    break_web(app, "SANDBOX_UNHEALTHY")
    result = app.run("apply", "--yes", "--allow-downtime", "--service", "web")
    assert result.exit_code == 1, result.output
    assert "failed ELB health checks" in result.output
    assert _service(sandbox, "web")["taskDefinition"].endswith("quickstart-web:1")


def test_failing_http_check_rolls_back(app: App, sandbox: Any, http_server: HttpServer) -> None:
    http_server.status = 503
    app.edit(
        "deploy.yaml",
        "        targets_healthy: true",
        f"        targets_healthy: true\n        http: {{url: '{http_server.url}', attempts: 2, "
        "interval: 100ms}",
    )
    result = app.run("apply", "--yes", "--allow-downtime", "--service", "web")
    assert result.exit_code == 1, result.output
    assert (
        f"HTTP check failed after 2 attempts: GET {http_server.url}: status 503, expected 200"
        in (result.output)
    )
    assert http_server.hits == 2
    assert _service(sandbox, "web")["taskDefinition"].endswith("quickstart-web:1")


def test_passing_http_check(app: App, sandbox: Any, http_server: HttpServer) -> None:
    http_server.body = "status: ok"
    app.edit(
        "deploy.yaml",
        "        targets_healthy: true",
        f"        targets_healthy: true\n        http: {{url: '{http_server.url}', body: 'status: ok'}}",
    )
    result = app.run("apply", "--yes", "--allow-downtime", "--service", "web")
    assert result.exit_code == 0, result.output
    assert http_server.hits >= 1


def test_no_wait_returns_after_the_update(app: App, sandbox: Any) -> None:
    result = app.run("apply", "--yes", "--allow-downtime", "--no-wait", "--format", "json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    kinds = {e["kind"] for e in lines if e["type"] == "event"}
    assert "ecs_event" not in kinds  # it did not watch the rollout
    services = {e["service"]: e for e in lines if e["type"] == "service"}
    assert services["web"]["status"] == "ok"
    assert services["web"]["waited"] is False
    assert "not waited for: --no-wait" in services["web"]["reason"]
    assert lines[-1]["type"] == "result"
    assert lines[-1]["status"] == "ok"


def test_stale_plan_is_refused(app: App, sandbox: Any, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    assert app.run("plan", "--out", str(plan)).exit_code == 0
    # Someone deploys in between.
    assert app.run("apply", "--yes", "--allow-downtime", revision=REV_C).exit_code == 0
    sandbox.control.reset_calls()
    result = app.run("apply", str(plan))
    assert result.exit_code == 4, result.output
    assert (
        "plan is stale: service worker now runs quickstart-worker:2, planned from quickstart-worker:1"
        in (result.output)
    )
    assert write_calls(sandbox.control.calls(), lock_aside=True) == []
    assert lock_tags(app.endpoint_url, "quickstart") == {}


def test_saved_plan_applies_exactly(app: App, sandbox: Any, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    assert app.run("plan", "--out", str(plan)).exit_code == 0
    # Applied at another revision: the plan's images and task definitions win.
    result = app.run("apply", str(plan), revision=REV_C)
    assert result.exit_code == 0, result.output
    td = sandbox.client("ecs").describe_task_definition(taskDefinition="quickstart-web:2")
    assert td["taskDefinition"]["containerDefinitions"][0]["image"].endswith(f":{REV_B[:7]}")


def test_without_a_terminal_apply_refuses_to_ask(app: App, sandbox: Any) -> None:
    sandbox.control.reset_calls()
    result = app.run("apply", "--allow-downtime")
    assert result.exit_code == 4
    assert "there is no terminal to ask on" in result.output
    assert "pass --yes" in result.output
    assert write_calls(sandbox.control.calls(), lock_aside=True) == []
    assert lock_tags(app.endpoint_url, "quickstart") == {}


def test_bad_plan_file_is_an_input_error(app: App, tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text(json.dumps({"format_version": 99}))
    result = app.run("apply", str(bad))
    assert result.exit_code == 3
    assert "has format_version 99; this ecsdeploy reads 2, 3 and 4" in result.output
    result = app.run("apply", str(tmp_path / "missing.json"))
    assert result.exit_code == 3
    assert "missing.json not found" in result.output


def test_revision_already_on_the_service_changes_nothing(app: App) -> None:
    result = app.run("apply", "--yes", revision=REV_A)
    assert result.exit_code == 0
    assert result.output.rstrip().endswith("No changes.")


def test_rollback_command(app: App, sandbox: Any) -> None:
    assert app.run("apply", "--yes", "--allow-downtime", "--service", "web").exit_code == 0
    assert _service(sandbox, "web")["taskDefinition"].endswith("quickstart-web:2")
    result = app.run("rollback", "web")
    assert result.exit_code == 0, result.output
    assert "rolling back from quickstart-web:2 to quickstart-web:1" in result.output
    assert "web: rolled back to quickstart-web:1." in result.output
    assert _service(sandbox, "web")["taskDefinition"].endswith("quickstart-web:1")
    # --to a given revision
    result = app.run("rollback", "web", "--to", "2")
    assert result.exit_code == 0, result.output
    assert _service(sandbox, "web")["taskDefinition"].endswith("quickstart-web:2")


def test_rollback_errors(app: App) -> None:
    result = app.run("rollback", "nope")
    assert result.exit_code == 3
    assert "unknown service `nope`" in result.output
    result = app.run("rollback", "web")
    assert result.exit_code == 1
    assert "quickstart-web has no revision to roll back to" in result.output
    assert "ecsdeploy rollback SERVICE --to N" in result.output
    result = app.run("rollback", "web", "--to", "x")
    assert result.exit_code == 3
    assert "expected a revision number" in result.output
    result = app.run("rollback", "web", "--to", "999")
    assert result.exit_code == 3
    assert "quickstart-web:999 does not exist or is no longer ACTIVE" in result.output
    assert "ACTIVE revisions of quickstart-web, newest first: 1" in result.output


ONE_ATTEMPT = {"AWS_MAX_ATTEMPTS": "1"}  # an injected error is not retried


def _active(sandbox: Any, family: str) -> list[str]:
    arns = sandbox.client("ecs").list_task_definitions(familyPrefix=family, status="ACTIVE")
    return sorted(a.rsplit("/", 1)[1] for a in arns["taskDefinitionArns"])


def test_no_wait_neither_lists_nor_deregisters_revisions(app: App, sandbox: Any) -> None:
    for revision in ("c" * 40, "d" * 40, "e" * 40):  # web :2 :3 :4, keep_revisions 3
        assert app.run("apply", "--yes", "--allow-downtime", revision=revision).exit_code == 0
    plan = app.run("plan", "--service", "web", revision=REV_B)
    assert "- deregister quickstart-web:2\n" in plan.output  # as an apply that waits would
    sandbox.control.reset_calls()
    result = app.run("apply", "--yes", "--allow-downtime", "--no-wait", "--service", "web")
    assert result.exit_code == 0, result.output
    assert "deregister quickstart-web" not in result.output  # the plan shown is performed
    assert "0 revisions to deregister" in result.output
    calls = sandbox.control.calls()
    assert "ecs:ListTaskDefinitions" not in calls
    assert calls["ecs:DescribeTaskDefinition"] == 1  # the family's newest, by family name
    assert _active(sandbox, "quickstart-web") == [f"quickstart-web:{n}" for n in range(2, 6)]


def test_no_wait_reuses_a_revision_registered_by_a_failed_apply(app: App, sandbox: Any) -> None:
    sandbox.control.set_faults(error=1.0, operations=("ecs:UpdateService",))
    failed = app.run("apply", "--yes", "--allow-downtime", "--service", "web", env=ONE_ATTEMPT)
    sandbox.control.clear_faults()
    assert failed.exit_code == 1, failed.output
    assert "registered quickstart-web:2" in failed.output
    result = app.run("apply", "--yes", "--allow-downtime", "--no-wait", "--service", "web")
    assert result.exit_code == 0, result.output
    assert "reusing quickstart-web:2, already registered" in result.output
    assert _active(sandbox, "quickstart-web") == ["quickstart-web:1", "quickstart-web:2"]
