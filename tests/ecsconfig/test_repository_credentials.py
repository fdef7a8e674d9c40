"""`auth: {mode: repository_credentials}`: a Secrets Manager secret made by apply, and
`repositoryCredentials` on every container whose image is in that registry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.registry]


def _containers(sandbox: Any) -> list[dict[str, Any]]:
    ecs = sandbox.client("ecs")
    arn = ecs.describe_services(cluster="shop", services=["app"])["services"][0]["taskDefinition"]
    return list(
        ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"]
    )


def test_first_deploy_creates_the_secret_and_sets_repository_credentials(
    make_private_app: Callable[..., Any], sandbox: Any, registry: Any, tmp_path: Path
) -> None:
    app, env = make_private_app(mode="repository_credentials")
    plan_file = tmp_path / "plan.json"
    plan = app.run("plan", "--out", str(plan_file), env=env)
    assert plan.exit_code == 0, plan.output
    assert "+ create secret ecsdeploy/private (Secrets Manager)" in plan.output
    # Its ARN is not known before it exists: the plan says so, apply fills it in.
    assert "(known after apply: ARN of secret ecsdeploy/private)" in plan.output
    assert "ecs.config" not in plan.output  # the other mode: no roll-out
    assert "1 secret to write" in plan.output
    result = app.run("apply", str(plan_file), env=env)
    assert result.exit_code == 0, result.output
    sm = sandbox.client("secretsmanager")
    secret = sm.describe_secret(SecretId="ecsdeploy/private")
    value = json.loads(sm.get_secret_value(SecretId="ecsdeploy/private")["SecretString"])
    assert value == {"username": registry.username, "password": registry.password}
    (container,) = _containers(sandbox)
    assert container["repositoryCredentials"] == {"credentialsParameter": secret["ARN"]}
    tags = {t["Key"]: t["Value"] for t in secret["Tags"]}
    assert tags["ecsdeploy:credentials-hash"].startswith("pbkdf2-sha256$")
    assert registry.password not in json.dumps(tags)
    again = app.run("plan", "--detailed-exitcode", env=env)
    assert again.exit_code == 0, again.output
    assert again.output.rstrip().endswith("No changes.")
    for text in (plan.output, plan_file.read_text(), result.output, again.output):
        assert registry.password not in text


def test_changed_credentials_update_the_secret_only(
    make_private_app: Callable[..., Any], sandbox: Any, registry: Any
) -> None:
    app, env = make_private_app(mode="repository_credentials")
    assert app.run("apply", "--yes", env=env).exit_code == 0
    (before,) = _containers(sandbox)
    sandbox.control.reset_calls()
    assert app.run("plan", env=env).output.rstrip().endswith("No changes.")
    # The hash tag no longer matches (as after a password change): the secret is updated,
    # the task definition (same ARN) is not.
    sm = sandbox.client("secretsmanager")
    sm.tag_resource(
        SecretId="ecsdeploy/private",
        Tags=[{"Key": "ecsdeploy:credentials-hash", "Value": "pbkdf2-sha256$1$AAAA$AAAA"}],
    )
    plan = app.run("plan", env=env)
    assert "~ update secret ecsdeploy/private" in plan.output
    assert "register" not in plan.output.split("Plan:")[0]
    result = app.run("apply", "--yes", env=env)
    assert result.exit_code == 0, result.output
    assert sandbox.control.calls().get("secretsmanager:PutSecretValue") == 1
    assert not [c for c in sandbox.control.calls() if c == "ecs:RegisterTaskDefinition"]
    (after,) = _containers(sandbox)
    assert after["repositoryCredentials"] == before["repositoryCredentials"]
    assert app.run("plan", env=env).output.rstrip().endswith("No changes.")


def test_no_execution_role_blocks_in_the_plan_as_in_apply(
    make_private_app: Callable[..., Any],
) -> None:
    app, env = make_private_app(mode="repository_credentials", execution_role=False)
    plan = app.run("plan", env=env)
    assert plan.exit_code == 4, plan.output
    assert "x blocking: the task definition has no executionRoleArn but needs one" in plan.output
    assert "error: apply would refuse this plan: 1 blocking finding" in plan.output
    assert "uses repositoryCredentials but the task definition has no executionRoleArn" in (
        plan.output
    )
    assert "secretsmanager:GetSecretValue" in plan.output


def test_a_secret_scheduled_for_deletion_is_an_error(
    make_private_app: Callable[..., Any], sandbox: Any
) -> None:
    app, env = make_private_app(mode="repository_credentials")
    sm = sandbox.client("secretsmanager")
    sm.create_secret(Name="ecsdeploy/private", SecretString="{}")
    sm.delete_secret(SecretId="ecsdeploy/private", RecoveryWindowInDays=7)
    result = app.run("plan", env=env)
    assert result.exit_code == 1, result.output
    assert "secret ecsdeploy/private is scheduled for deletion" in result.output
    assert "restore-secret --secret-id ecsdeploy/private" in result.output
