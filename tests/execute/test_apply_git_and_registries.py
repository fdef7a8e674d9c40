"""apply with a real Git checkout, the real Docker engine and the real htpasswd registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.apps import App, copy_sample, lock_tags, seed_app, write_calls
from tests.execute.conftest import fast
from tests.fixtures.gitrepo import git


def test_dirty_tree_is_refused_unless_allowed(
    sandbox: Any, tmp_path: Path, make_git_repo: Callable[..., Path]
) -> None:
    folder = copy_sample("quickstart", tmp_path)
    fast(folder)
    make_git_repo(folder)
    app = seed_app(sandbox, folder, revision=git(folder, "rev-parse", "HEAD"))
    app.edit("taskdefs/web.json.j2", '"value": "8080"', '"value": "8081"')
    sandbox.control.reset_calls()
    result = app.run("apply", "--yes", "--allow-downtime", revision=None)
    assert result.exit_code == 4, result.output
    assert "the Git tree has uncommitted changes" in result.output
    assert "--allow-dirty" in result.output
    assert write_calls(sandbox.control.calls()) == []
    result = app.run("apply", "--yes", "--allow-downtime", "--allow-dirty", revision=None)
    assert result.exit_code == 0, result.output
    assert "deployed quickstart-web:2" in result.output


DEPLOY = """version: 1
region: us-east-1
registries:
  ecr: {{type: ecr, url: 123456789012.dkr.ecr.us-east-1.amazonaws.com}}
  private:
    type: docker
    url: "{host}"
    insecure: true
    auth: {{username_env: REG_USER, password_env: REG_PASS}}
images:
  app: {{registry: private, repository: shop/app, {source}}}
clusters:
  main: {{name: shop}}
services:
  app:
    cluster: main
    launch_type: EC2
    task_definition: app.json.j2
    desired_count: 1
    zero_downtime: false
    deployment: {{minimum_healthy_percent: 0, maximum_percent: 100, poll_interval: 100ms}}
"""

TEMPLATE = """{
  "family": "shop-app",
  "containerDefinitions": [{"name": "app", "image": "{{ images.app.uri }}", "memory": 64}]
}
"""


def _private_app(sandbox: Any, tmp_path: Path, host: str, source: str) -> App:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "deploy.yaml").write_text(DEPLOY.format(host=host, source=source))
    (folder / "app.json.j2").write_text(TEMPLATE)
    return seed_app(sandbox, folder)


@pytest.mark.docker
@pytest.mark.registry
def test_local_image_pushed_to_the_htpasswd_registry(
    sandbox: Any,
    tmp_path: Path,
    registry: Any,
    build_image: Any,
    docker_engine: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    build_image("shop/app:latest")
    # The revision the sandbox is seeded with (aaaaaaa) must exist too.
    build_image(registry.reference("shop/app", "aaaaaaa"))
    docker_engine.client.images.push(
        f"{registry.host}/shop/app", tag="aaaaaaa", auth_config=registry.auth_config
    )
    app = _private_app(sandbox, tmp_path, registry.host, "local: 'shop/app:latest'")
    env = {"REG_USER": registry.username, "REG_PASS": registry.password}
    result = app.run("apply", "--yes", "--allow-downtime", env=env)
    assert result.exit_code == 0, result.output
    assert f"push shop/app:latest -> {registry.host}/shop/app:bbbbbbb" in result.output
    assert "bbbbbbb" in registry.tags("shop/app")
    pushed = registry.manifest_digest("shop/app", "bbbbbbb")
    local = docker_engine.client.images.get("shop/app:latest").attrs["RepoDigests"]
    assert f"{registry.host}/shop/app@{pushed}" in local
    # Pushed once: the next plan sees the same digest and plans no push.
    again = app.run("plan", env=env)
    assert "push" not in again.output.split("Plan:")[0]
    assert registry.password not in result.output + again.output


@pytest.mark.docker
@pytest.mark.registry
def test_promote_retags_on_the_htpasswd_registry(
    sandbox: Any, tmp_path: Path, registry: Any, build_image: Any, docker_engine: Any
) -> None:
    for tag in ("latest", "aaaaaaa"):
        build_image(registry.reference("shop/app", tag), content=b"same image")
        docker_engine.client.images.push(
            f"{registry.host}/shop/app", tag=tag, auth_config=registry.auth_config
        )
    app = _private_app(sandbox, tmp_path, registry.host, "promote: latest")
    env = {"REG_USER": registry.username, "REG_PASS": registry.password}
    result = app.run("apply", "--yes", "--allow-downtime", env=env)
    assert result.exit_code == 0, result.output
    assert registry.manifest_digest("shop/app", "bbbbbbb") == registry.manifest_digest(
        "shop/app", "latest"
    )


@pytest.mark.docker
@pytest.mark.registry
def test_wrong_registry_password_fails_before_any_ecs_change(
    sandbox: Any, tmp_path: Path, registry: Any, build_image: Any, docker_engine: Any
) -> None:
    build_image(registry.reference("shop/app", "latest"))
    docker_engine.client.images.push(
        f"{registry.host}/shop/app", tag="latest", auth_config=registry.auth_config
    )
    app = _private_app(sandbox, tmp_path, registry.host, "promote: latest")
    sandbox.control.reset_calls()
    env = {"REG_USER": registry.username, "REG_PASS": "wrong-password"}
    result = app.run("apply", "--yes", "--allow-downtime", env=env)
    assert result.exit_code == 1, result.output
    assert f"{registry.host} answered 401 Unauthorized" in result.output
    assert write_calls(sandbox.control.calls(), lock_aside=True) == []
    assert lock_tags(app.endpoint_url, "shop") == {}
