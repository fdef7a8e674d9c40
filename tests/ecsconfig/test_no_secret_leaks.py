"""The registry password appears nowhere: not in stdout/stderr of plan and apply, not in
the plan file, not in the SSM command's parameters, not in the SSM outputs."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.registry]


def _forms(username: str, password: str) -> list[str]:
    return [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"{username}:{password}".encode()).decode(),
    ]


def _ssm_texts(sandbox: Any) -> dict[str, str]:
    """Everything SSM keeps about the commands: parameters, stdout, stderr."""
    ssm = sandbox.client("ssm")
    texts: dict[str, str] = {}
    for command in ssm.list_commands()["Commands"]:
        cid = command["CommandId"]
        texts[f"command {cid} parameters"] = json.dumps(command["Parameters"])
        texts[f"command {cid} comment"] = command.get("Comment", "")
        for instance in command["InstanceIds"]:
            out = ssm.get_command_invocation(CommandId=cid, InstanceId=instance)
            texts[f"{instance} stdout"] = out["StandardOutputContent"]
            texts[f"{instance} stderr"] = out["StandardErrorContent"]
    listed = ssm.list_command_invocations(Details=True)["CommandInvocations"]
    texts["list_command_invocations"] = json.dumps(listed, default=str)
    return texts


@pytest.mark.parametrize("auth_type", ["dockercfg", "docker"])
def test_the_password_is_in_no_output(
    make_private_app: Callable[..., Any],
    sandbox: Any,
    registry: Any,
    tmp_path: Path,
    auth_type: str,
) -> None:
    app, env = make_private_app()
    if auth_type == "docker":
        app.edit(
            "deploy.yaml", "email: ops@example.com", "email: ops@example.com, auth_type: docker"
        )
    plan_file = tmp_path / "plan.json"
    outputs: dict[str, str] = {}
    for fmt in ("text", "json", "markdown"):
        result = app.run("plan", "--format", fmt, "--out", str(plan_file), env=env)
        assert result.exit_code == 0, result.output
        outputs[f"plan {fmt}"] = result.output + (result.stderr if result.stderr_bytes else "")
    outputs["plan file"] = plan_file.read_text()
    assert "3 instances to reconfigure" in outputs["plan text"]
    result = app.run("apply", str(plan_file), env=env)
    assert result.exit_code == 0, result.output
    outputs["apply"] = result.output
    result = app.run("ecs-config", env=env)
    outputs["ecs-config"] = result.output
    outputs.update(_ssm_texts(sandbox))
    assert len([k for k in outputs if k.endswith("stdout")]) == 3
    for where, text in outputs.items():
        for form in _forms(registry.username, registry.password):
            assert form not in text, f"the password ({form[:3]}…) is in the {where}"
    # It did reach the instances, and only through the SecureString parameter.
    for host in sandbox.control.hosts.describe().values():
        assert (
            registry.password in host["ecs_config"]
            or _forms(registry.username, registry.password)[2] in host["ecs_config"]
        )
    parameter = sandbox.client("ssm").get_parameter(Name="/ecsdeploy/shop/ecs-config")
    assert parameter["Parameter"]["Type"] == "SecureString"
    assert "(sensitive)" in outputs["plan text"]


def test_wrong_password_fails_before_any_change(
    make_private_app: Callable[..., Any], sandbox: Any, registry: Any
) -> None:
    # promote (re-tag in the htpasswd registry) and ecs_config together
    app, env = make_private_app(source="promote: latest")
    sandbox.control.reset_calls()
    result = app.run("apply", "--yes", env={**env, "REG_PASS": "not-the-password"})
    assert result.exit_code == 1, result.output
    assert f"{registry.host} answered 401 Unauthorized" in result.output
    writes = [
        c
        for c in sandbox.control.calls()
        if c.startswith(("ssm:", "secretsmanager:"))
        or c.split(":")[1].startswith(("Register", "Update", "Put", "Create"))
    ]
    assert writes == []
    assert "not-the-password" not in result.output


def test_promote_and_rollout_with_the_htpasswd_registry(
    make_private_app: Callable[..., Any], sandbox: Any, registry: Any
) -> None:
    app, env = make_private_app(source="promote: latest")
    result = app.run("apply", "--yes", env=env)
    assert result.exit_code == 0, result.output
    assert f"re-tag {registry.host}/shop/app:latest -> {registry.host}/shop/app:bbbbbbb" in (
        result.output
    )
    assert registry.manifest_digest("shop/app", "bbbbbbb") == registry.manifest_digest(
        "shop/app", "latest"
    )
    assert "ecs.config on shop: 3 instances reconfigured" in result.output
    assert app.run("plan", env=env).output.rstrip().endswith("No changes.")


def test_a_plan_file_that_would_hold_a_registry_password_is_not_written(
    make_private_app: Callable[..., Any], registry: Any, tmp_path: Path
) -> None:
    """A template that embeds the registry password: the plan is refused, not saved with
    the password in it (nor with a mask that apply would then register)."""
    app, env = make_private_app()
    app.edit(
        "app.json.j2",
        '"name": "app",',
        f'"name": "app", "environment": [{{"name": "X", "value": "{registry.password}"}}],',
    )
    plan_file = tmp_path / "plan.json"
    result = app.run("plan", "--out", str(plan_file), env=env)
    assert result.exit_code == 3, result.output
    assert f"the plan holds the value of a registry credential; {plan_file} was not written" in (
        result.output
    )
    assert not plan_file.exists()
    assert registry.password not in result.output
