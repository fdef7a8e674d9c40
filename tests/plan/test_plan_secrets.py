"""A registry password in the environment appears nowhere in a plan, in any format.

Uses the real htpasswd registry (an image pushed there through the real Docker
engine) so the plan really authenticates with the password it must not print.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.apps import REV_B, seed_app

pytestmark = [pytest.mark.docker, pytest.mark.registry]

DEPLOY = """version: 1
region: us-east-1
vars: {{app: shop, leak: placeholder}}
registries:
  ecr: {{type: ecr, url: 123456789012.dkr.ecr.us-east-1.amazonaws.com}}
  private:
    type: docker
    url: "{host}"
    insecure: true
    auth: {{username_env: REG_USER, password_env: REG_PASS, email: ops@example.com}}
images:
  web: {{registry: ecr, repository: shop/web, promote: latest}}
  side: {{registry: private, repository: shop/side, promote: v1}}
clusters:
  main: {{name: shop}}
services:
  web:
    cluster: main
    launch_type: EC2
    task_definition: web.json.j2
    desired_count: 1
    zero_downtime: false
"""

TEMPLATE = """{
  "family": "shop-web",
  "containerDefinitions": [
    {"name": "web", "image": "{{ images.web.uri }}", "memory": 128,
     "environment": [
       {"name": "API_TOKEN", "value": "{{ vars.leak }}"},
       {"name": "HARMLESS_LOOKING", "value": "{{ vars.leak }}"}
     ]},
    {"name": "side", "image": "{{ images.side.uri }}", "memory": 64}
  ]
}
"""


@pytest.fixture
def private_app(
    sandbox: Any, tmp_path: Path, registry: Any, docker_engine: Any, build_image: Any
) -> Any:
    build_image(registry.reference("shop/side", "v1"))
    docker_engine.client.images.push(
        f"{registry.host}/shop/side", tag="v1", auth_config=registry.auth_config
    )
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "deploy.yaml").write_text(DEPLOY.format(host=registry.host))
    (folder / "web.json.j2").write_text(TEMPLATE)
    return seed_app(sandbox, folder)


def test_password_appears_in_no_output(private_app: Any, registry: Any, tmp_path: Path) -> None:
    password = registry.password
    env = {"REG_USER": registry.username, "REG_PASS": password}
    forms = [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"{registry.username}:{password}".encode()).decode(),
    ]
    plan_file = tmp_path / "plan.json"
    outputs = {}
    for fmt in ("text", "json", "markdown"):
        result = private_app.run("plan", "--format", fmt, "--var", f"leak={password}", env=env)
        assert result.exit_code == 0, result.output
        outputs[fmt] = result.output
    # The plan file holds values as apply sends them: one holding the password is refused.
    saved = private_app.run("plan", "--out", str(plan_file), "--var", f"leak={password}", env=env)
    assert saved.exit_code == 3, saved.output
    assert "the plan holds the value of a registry credential" in saved.output
    assert not plan_file.exists()
    outputs["plan --out"] = saved.output
    for where, text in outputs.items():
        for form in forms:
            assert form not in text, f"the password ({form[:3]}…) is in the {where}"
    # The plan did use the registry: the private image is planned for a re-tag.
    plan = json.loads(outputs["json"])
    steps = plan["services"][0]["steps"]
    targets = [s["target"] for s in steps if s["kind"] == "image"]
    assert f"{registry.host}/shop/side:{REV_B[:7]}" in targets
    assert "(sensitive)" in outputs["text"]


def test_wrong_password_is_a_clear_error(private_app: Any, registry: Any) -> None:
    env = {"REG_USER": registry.username, "REG_PASS": "not-the-password"}
    result = private_app.run("plan", "--var", "leak=x", env=env)
    assert result.exit_code == 1
    assert f"{registry.host} answered 401 Unauthorized" in result.output
    assert "refused the credentials" in result.output


def test_missing_variable_is_an_input_error_before_any_call(private_app: Any, sandbox: Any) -> None:
    sandbox.control.reset_calls()
    result = private_app.run("plan", "--var", "leak=x", env={"REG_USER": "u", "REG_PASS": ""})
    assert result.exit_code == 3
    assert "environment variable REG_PASS is not set (registry `private` needs it)" in result.output
    assert "deploy.yaml:10:" in result.output
    assert sandbox.control.calls() == {}
