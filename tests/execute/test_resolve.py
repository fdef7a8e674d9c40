"""ECSDEPLOY_RESOLVE against the sandbox: a private registry named registry.example.com
and an HTTP check on https://shop.example.com, both answered by the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.apps import REV_A, App, seed_app

DEPLOY = """version: 1
region: us-east-1
registries:
  private:
    type: docker
    url: registry.example.com
    auth: {username_env: REGISTRY_USER, password_env: REGISTRY_PASSWORD}
images:
  web: {registry: private, repository: shop/web, SOURCE}
clusters:
  main: {name: shop-prod}
vars:
  http_status: ""
services:
  web:
    cluster: main
    name: shop-web
    launch_type: EC2
    task_definition: web.json.j2
    desired_count: 1
    deployment:
      minimum_healthy_percent: 100
      maximum_percent: 200
      circuit_breaker: true
      timeout: 5m
      poll_interval: 100ms
    load_balancer:
      target_group: shop-web
      container: web
      port: 8080
      checks:
        targets_healthy: true
        http:
          url: https://shop.example.com/healthz
          body: '"status":\\s*"ok"'
          attempts: 2
          interval: 100ms
"""

TEMPLATE = """{
  "family": "shop-web",
  "networkMode": "bridge",
  "containerDefinitions": [{
    "name": "web",
    "image": {{ images.web.uri | tojson }},
    "essential": true,
    "memory": 128,
    "portMappings": [{"containerPort": 8080, "hostPort": 0}],
    "environment": [{"name": "SANDBOX_HTTP_STATUS", "value": {{ vars.http_status | tojson }}}]
  }]
}
"""

USER, PASSWORD = "deploy", "s3cret-registry-password"


def _app(sandbox: Any, tmp_path: Path, source: str = "promote: main") -> App:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "deploy.yaml").write_text(DEPLOY.replace("SOURCE", source))
    (folder / "web.json.j2").write_text(TEMPLATE)
    control = sandbox.control
    control.put_image("shop/web", REV_A[:7])  # what the seeded revision runs
    app = seed_app(sandbox, folder)
    # After seeding, which sets the registry's users from the environment (unset here).
    control.registry_users({USER: PASSWORD})
    return app


def _env(sandbox: Any, resolve: str | None = None) -> dict[str, str]:
    url = sandbox.endpoint_url
    mapping = f"registry.example.com={url}, shop.example.com={url}"
    return {
        "REGISTRY_USER": USER,
        "REGISTRY_PASSWORD": PASSWORD,
        "ECSDEPLOY_RESOLVE": mapping if resolve is None else resolve,
    }


def _service(sandbox: Any) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.client("ecs").describe_services(
        cluster="shop-prod", services=["shop-web"]
    )["services"][0]
    return found


def _image(sandbox: Any, arn: str) -> str:
    td = sandbox.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return str(td["containerDefinitions"][0]["image"])


def test_promote_and_check_through_the_mapping(sandbox: Any, tmp_path: Path) -> None:
    main = sandbox.control.put_image("shop/web", "main")
    app = _app(sandbox, tmp_path)
    env = _env(sandbox)
    url = sandbox.endpoint_url

    plan = app.run("plan", "--out", str(tmp_path / "plan.json"), env=env)
    assert plan.exit_code == 0, plan.output
    assert f"note: registry registry.example.com goes to {url} (ECSDEPLOY_RESOLVE)" in plan.output
    assert "registry.example.com/shop/web:main -> registry.example.com/shop/web:bbbbbbb" in (
        plan.output
    )
    # The mapping is the environment of a run, never part of the plan.
    saved = (tmp_path / "plan.json").read_text()
    assert "ECSDEPLOY_RESOLVE" not in saved and f"{url}" not in saved
    assert PASSWORD not in saved + plan.output

    applied = app.run("apply", str(tmp_path / "plan.json"), env=env)
    assert applied.exit_code == 0, applied.output
    out = applied.output
    assert out.count(f"registry registry.example.com goes to {url} (ECSDEPLOY_RESOLVE)") == 1
    assert out.count(f"checks for shop.example.com go to {url} (ECSDEPLOY_RESOLVE)") == 1
    assert "GET https://shop.example.com/healthz: 200" in out
    tags = sandbox.control.registry.describe()["repositories"]["shop/web"]["tags"]
    assert tags["bbbbbbb"] == main
    arn = _service(sandbox)["taskDefinition"]
    assert arn.endswith("shop-web:2")
    assert _image(sandbox, arn) == "registry.example.com/shop/web:bbbbbbb"

    verified = app.run("verify", env=env)
    assert verified.exit_code == 0, verified.output
    assert f"note: registry registry.example.com goes to {url}" in verified.output
    # rollback checks through the mapping too.
    back = app.run("rollback", "web", "--to", "1", env=env)
    assert back.exit_code == 0, back.output
    assert back.output.count(f"checks for shop.example.com go to {url}") == 1
    assert "GET https://shop.example.com/healthz: 200" in back.output
    assert _service(sandbox)["taskDefinition"].endswith("shop-web:1")


def test_release_answering_500_is_rolled_back(sandbox: Any, tmp_path: Path) -> None:
    sandbox.control.put_image("shop/web", "main")
    app = _app(sandbox, tmp_path)
    env = _env(sandbox)
    result = app.run("apply", "--yes", "--var", "http_status=500", env=env)
    assert result.exit_code == 1, result.output
    assert (
        "HTTP check failed after 2 attempts: GET https://shop.example.com/healthz: "
        "status 500, expected 200" in result.output
    )
    assert "rolled back: the service runs shop-web:1 again" in result.output
    assert _service(sandbox)["taskDefinition"].endswith("shop-web:1")
    # Back on revision 1, the check host answers 200 again.
    import requests

    session = requests.Session()
    session.trust_env = False
    answer = session.get(
        f"{sandbox.endpoint_url}/healthz", headers={"Host": "shop.example.com"}, timeout=10
    )
    assert answer.status_code == 200 and answer.json()["taskDefinition"] == "shop-web:1"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "registry.example.com",
            "ECSDEPLOY_RESOLVE: bad pair `registry.example.com`: it is not HOST=URL",
        ),
        (
            "registry.example.com=ftp://127.0.0.1:21",
            "ECSDEPLOY_RESOLVE: bad pair `registry.example.com=ftp://127.0.0.1:21`: "
            "`ftp://127.0.0.1:21` is not an http:// or https:// URL",
        ),
        (
            "https://registry.example.com=http://127.0.0.1:4566",
            "`https://registry.example.com` is not a host name",
        ),
        (
            "shop.example.com=http://user:hunter2@127.0.0.1:4566",
            "bad pair `shop.example.com=http://…@127.0.0.1:4566`: `http://",
        ),
    ],
)
def test_malformed_mapping_is_bad_input(
    sandbox: Any, tmp_path: Path, value: str, message: str
) -> None:
    app = _app(sandbox, tmp_path)
    sandbox.control.reset_calls()
    result = app.run("plan", env=_env(sandbox, value))
    assert result.exit_code == 3, result.output
    assert message in result.output
    assert "comma-separated HOST=URL pairs" in result.output or "credentials" in result.output
    assert "hunter2" not in result.output
    assert sandbox.control.calls() == {}  # refused before any call


def test_malformed_mapping_refuses_a_saved_plan(sandbox: Any, tmp_path: Path) -> None:
    sandbox.control.put_image("shop/web", "main")
    app = _app(sandbox, tmp_path)
    plan_file = tmp_path / "plan.json"
    assert app.run("plan", "--out", str(plan_file), env=_env(sandbox)).exit_code == 0
    sandbox.control.reset_calls()
    result = app.run("apply", str(plan_file), env=_env(sandbox, "registry.example.com=,"))
    assert result.exit_code == 3, result.output
    assert "ECSDEPLOY_RESOLVE: bad pair `registry.example.com=`" in result.output
    assert sandbox.control.calls() == {}


@pytest.mark.docker
def test_local_image_pushed_through_the_mapping(
    sandbox: Any,
    tmp_path: Path,
    docker_engine: Any,
    build_image: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine pushes 127.0.0.1:PORT/shop/web:bbbbbbb; ECS is told registry.example.com."""
    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    build_image("shop/web:latest")
    app = _app(sandbox, tmp_path, "local: 'shop/web:latest'")
    env = _env(sandbox)
    address = f"127.0.0.1:{sandbox.control.port}"
    result = app.run("apply", "--yes", env=env)
    assert result.exit_code == 0, result.output
    assert "push shop/web:latest -> registry.example.com/shop/web:bbbbbbb" in result.output
    pushed = sandbox.control.registry.describe()["repositories"]["shop/web"]["tags"]["bbbbbbb"]
    local = docker_engine.client.images.get("shop/web:latest").attrs["RepoDigests"]
    assert f"{address}/shop/web@{pushed}" in local
    arn = _service(sandbox)["taskDefinition"]
    assert _image(sandbox, arn) == "registry.example.com/shop/web:bbbbbbb"
    # The next plan finds the image pushed already (its digest under the mapped address).
    again = app.run("plan", env=env)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.output
