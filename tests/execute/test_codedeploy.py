"""apply of a CODE_DEPLOY service against the sandbox: the new revision goes through a
CodeDeploy deployment (never UpdateService's taskDefinition, which ECS refuses there),
followed to Succeeded; a failed release is rolled back by CodeDeploy and reported so;
the timeout and Ctrl-C stop the deployment with rollback."""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

from tests.apps import REV_A, read_until, spawn
from tests.codedeploy_app import SERVICE, codedeploy_app, deployments, describe, revision
from tests.fixtures.sandbox import SANDBOX_SPEED

FAMILY = "billing-api"


def _outcome(sandbox: Any, number: int) -> str | None:
    answer = sandbox.client("ecs").describe_task_definition(
        taskDefinition=f"{FAMILY}:{number}", include=["TAGS"]
    )
    return {t["key"]: t["value"] for t in answer.get("tags", [])}.get("ecsdeploy:outcome")


def test_a_new_revision_is_deployed_through_codedeploy(sandbox: Any, tmp_path: Path) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    sandbox.control.reset_calls()
    result = app.run("apply", "--yes")
    assert result.exit_code == 0, result.output
    created = re.search(r"CodeDeploy deployment (d-[A-Z0-9]+) created", result.output)
    assert created, result.output
    assert f"deployed {FAMILY}:2" in result.output

    (deployment,) = deployments(sandbox)
    assert deployment["deploymentId"] == created.group(1)
    assert deployment["status"] == "Succeeded"
    assert deployment["autoRollbackConfiguration"] == {
        "enabled": True,
        "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"],
    }
    svc = describe(sandbox)
    assert revision(sandbox) == f"{FAMILY}:2"
    assert [t["status"] for t in svc["taskSets"]] == ["PRIMARY"]
    calls = sandbox.control.calls()
    assert calls.get("codedeploy:CreateDeployment") == 1
    assert "ecs:UpdateService" not in calls  # nothing else changed
    assert _outcome(sandbox, 2) == "succeeded"
    # The release is what deploy.yaml says: nothing left to do.
    assert "No changes." in app.run("plan").output


def test_settings_ecs_takes_go_by_update_service_without_a_task_definition(
    sandbox: Any, tmp_path: Path
) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    app.edit("deploy.yaml", "desired_count: 3", "desired_count: 4")
    sandbox.control.reset_calls()
    result = app.run("apply", "--yes", revision=REV_A)  # the same revision
    assert result.exit_code == 0, result.output
    calls = sandbox.control.calls()
    assert calls.get("ecs:UpdateService") == 1
    assert "codedeploy:CreateDeployment" not in calls
    svc = describe(sandbox)
    assert svc["desiredCount"] == 4
    assert svc["taskSets"][0]["runningCount"] == 4
    assert revision(sandbox) == f"{FAMILY}:1"


def test_a_broken_release_fails_and_codedeploy_rolls_it_back(sandbox: Any, tmp_path: Path) -> None:
    # CodeDeploy gives a replacement task set that never becomes healthy 60 minutes
    # (6 s here): the deployment's own timeout comes first.
    app = codedeploy_app(sandbox, tmp_path, timeout="2h")
    sandbox.control.break_service(SERVICE)
    result = app.run("apply", "--yes")
    assert result.exit_code == 1, result.output
    failed = next(d for d in deployments(sandbox) if d["creator"] == "user")
    assert (
        f"release {FAMILY}:2 failed: CodeDeploy deployment {failed['deploymentId']} Failed: "
        "TIMEOUT: The deployment timed out while waiting for the replacement task set to "
        "become healthy."
    ) in result.output
    assert f"rolled back: the service runs {FAMILY}:1 again" in result.output
    assert (
        f"CodeDeploy deployment {failed['rollbackInfo']['rollbackDeploymentId']} Succeeded (the rollback)"
        in result.output
    )

    rollback = failed["rollbackInfo"]["rollbackDeploymentId"]
    assert f"CodeDeploy rolls back in deployment {rollback}" in result.output
    assert revision(sandbox) == f"{FAMILY}:1"
    assert [t["status"] for t in describe(sandbox)["taskSets"]] == ["PRIMARY"]
    assert _outcome(sandbox, 2) == "rolled_back"


def test_the_timeout_stops_the_deployment_with_rollback(sandbox: Any, tmp_path: Path) -> None:
    app = codedeploy_app(sandbox, tmp_path, timeout="2s")  # CodeDeploy's own: 6 s
    # A timeout that short needs a target group that drains at once (verify says so).
    elbv2 = sandbox.client("elbv2")
    group = elbv2.describe_target_groups(Names=[SERVICE])["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=group,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}],
    )
    sandbox.control.break_service(SERVICE)
    result = app.run("apply", "--yes")
    assert result.exit_code == 1, result.output
    (stopped,) = [d for d in deployments(sandbox) if d["creator"] == "user"]
    assert stopped["status"] == "Stopped"
    assert stopped["errorInformation"]["code"] == "MANUAL_STOP"
    assert (
        f"timed out after 2s: stopped CodeDeploy deployment {stopped['deploymentId']} with "
        "rollback (StopDeployment)"
    ) in result.output
    assert (
        f"release {FAMILY}:2 failed: timed out after 2s; CodeDeploy deployment "
        f"{stopped['deploymentId']} Stopped: MANUAL_STOP"
    ) in result.output
    assert f"rolled back: the service runs {FAMILY}:1 again" in result.output
    assert revision(sandbox) == f"{FAMILY}:1"


def test_ctrl_c_stops_the_deployment_with_rollback(sandbox: Any, tmp_path: Path) -> None:
    app = codedeploy_app(sandbox, tmp_path, timeout="2h")
    sandbox.control.break_service(SERVICE)  # keeps the deployment going for a while
    proc = spawn(app, "apply", "--yes")
    try:
        seen = read_until(proc, "waiting for the rollout of")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = seen + out
    assert proc.returncode == 130, out
    created = re.search(r"CodeDeploy deployment (d-[A-Z0-9]+) created", out)
    assert created, out
    deployment_id = created.group(1)
    assert (
        f"apply was interrupted: stopped CodeDeploy deployment {deployment_id} with rollback "
        "(StopDeployment)"
    ) in out
    assert f"interrupted: CodeDeploy deployment {deployment_id} stopped with rollback" in out
    info = sandbox.client("codedeploy").get_deployment(deploymentId=deployment_id)
    assert info["deploymentInfo"]["status"] == "Stopped"
    sandbox.control.advance(60)
    assert revision(sandbox) == f"{FAMILY}:1"
    assert [t["status"] for t in describe(sandbox)["taskSets"]] == ["PRIMARY"]


def test_apply_waits_while_codedeploy_holds_the_deployment_ready(
    sandbox: Any, tmp_path: Path
) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    cd = sandbox.client("codedeploy")
    cd.update_deployment_group(
        applicationName=SERVICE,
        currentDeploymentGroupName=SERVICE,
        blueGreenDeploymentConfiguration={
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": 0,
            },
            "deploymentReadyOption": {
                "actionOnTimeout": "STOP_DEPLOYMENT",
                "waitTimeInMinutes": 600,
            },
        },
    )
    plan = app.run("plan")
    assert "holds it Ready up to 10h for the traffic reroute to be started" in plan.output
    proc = spawn(app, "apply", "--yes")
    try:
        seen = read_until(proc, "Ready: the new revision runs, production traffic has not moved")
        deployment_id = re.findall(r"CodeDeploy deployment (d-[A-Z0-9]+) created", seen)[0]
        assert (
            f"aws deploy continue-deployment --deployment-id {deployment_id} "
            "--deployment-wait-type READY_WAIT"
        ) in seen
        # Production has not moved: the hold is the group's gate, apply does not open it.
        sandbox.control.advance(600)
        assert revision(sandbox) == f"{FAMILY}:1"
        assert cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] == "Ready"
        cd.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, seen + out
    assert revision(sandbox) == f"{FAMILY}:2"


def test_a_rerun_after_a_kill_follows_the_deployment_under_way(
    sandbox: Any, tmp_path: Path
) -> None:
    app = codedeploy_app(sandbox, tmp_path)
    # The new revision's tasks take 1200 simulated seconds to start (~2 s).
    app.edit(
        "taskdefs/api.yaml.j2",
        '      - name: PORT\n        value: "{{ vars.port | int }}"\n',
        '      - name: PORT\n        value: "{{ vars.port | int }}"\n'
        '      - name: SANDBOX_START_SECONDS\n        value: "1200"\n',
    )
    proc = spawn(app, "apply", "--yes")
    try:
        read_until(proc, "waiting for the rollout of")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    sandbox.control.speed = 0  # the deployment stays where it is while we look
    (under_way,) = deployments(sandbox)
    assert under_way["status"] == "InProgress"

    plan = app.run("plan")
    assert plan.exit_code == 0, plan.output
    assert "no changes; its release is waited for" in plan.output
    sandbox.control.reset_calls()
    rerun = spawn(app, "apply", "--yes")
    try:
        seen = read_until(rerun, f"following CodeDeploy deployment {under_way['deploymentId']}")
        sandbox.control.speed = SANDBOX_SPEED
        out, _ = rerun.communicate(timeout=60)
    finally:
        if rerun.poll() is None:
            rerun.kill()
    assert rerun.returncode == 0, seen + out
    calls = sandbox.control.calls()
    assert "codedeploy:CreateDeployment" not in calls
    assert "ecs:RegisterTaskDefinition" not in calls
    assert revision(sandbox) == f"{FAMILY}:2"
    assert _outcome(sandbox, 2) == "succeeded"
