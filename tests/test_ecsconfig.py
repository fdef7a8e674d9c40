"""ecs.config lines: one and two registries, both auth types, masking, merging, the command."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecsdeploy import ecsconfig
from ecsdeploy.adapters.credentials import Credentials
from ecsdeploy.cli import cli
from ecsdeploy.config import load_config
from ecsdeploy.errors import InputError

DEPLOY = """version: 1
registries:
  tutum:
    type: docker
    url: tutum.co
    ecs_config: true
    auth: {{username_env: TUTUM_USER, password_env: TUTUM_PASSWORD, email: ops@example.com{tutum_type}}}
  quay:
    type: docker
    url: quay.io
    ecs_config: true
    auth: {{username_env: QUAY_USER, password_env: QUAY_PASSWORD{quay_type}}}
  plain: {{type: docker, url: registry.example.com}}
images:
  web: {{registry: tutum, repository: shop/web, tag: v1}}
  side: {{registry: quay, repository: shop/side, tag: v1}}
  other: {{registry: plain, repository: shop/other, tag: v1}}
clusters:
  main:
    name: shop-prod
    ecs_config: {{settings: {{ECS_ENABLE_CONTAINER_METADATA: true, ECS_RESERVED_MEMORY: 256}}}}
  edge: {{name: shop-edge}}
services:
  web: {{cluster: main, task_definition: web.json}}
  edge: {{cluster: edge, task_definition: edge.json}}
"""

WEB = """{"family": "web", "containerDefinitions": [
  {"name": "web", "image": "{{ images.web.uri }}", "memory": 64},
  {"name": "side", "image": "{{ images.side.uri }}", "memory": 64}]}"""
EDGE = """{"family": "edge", "containerDefinitions": [
  {"name": "edge", "image": "{{ images.web.uri }}", "memory": 64},
  {"name": "other", "image": "{{ images.other.uri }}", "memory": 64}]}"""

ENV = {
    "TUTUM_USER": "alice",
    "TUTUM_PASSWORD": "s3cret-tutum",
    "QUAY_USER": "bob",
    "QUAY_PASSWORD": "s3cret-quay",
}
CREDS = {
    "tutum": Credentials("alice", "s3cret-tutum", "ops@example.com"),
    "quay": Credentials("bob", "s3cret-quay"),
}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def app(tmp_path: Path) -> Path:
    def write(tutum_type: str = "", quay_type: str = "") -> Path:
        (tmp_path / "deploy.yaml").write_text(
            DEPLOY.format(tutum_type=tutum_type, quay_type=quay_type)
        )
        (tmp_path / "web.json").write_text(WEB)
        (tmp_path / "edge.json").write_text(EDGE)
        return tmp_path / "deploy.yaml"

    write()
    return tmp_path


def test_one_registry_dockercfg_and_extra_settings(app: Path) -> None:
    config = load_config(app / "deploy.yaml")
    result = ecsconfig.build(config, "edge", ["tutum"], CREDS)
    assert result.lines(show_secrets=True) == [
        "ECS_ENGINE_AUTH_TYPE=dockercfg",
        'ECS_ENGINE_AUTH_DATA={"tutum.co":{"auth":"'
        + _b64("alice:s3cret-tutum")
        + '","email":"ops@example.com"}}',
    ]


def test_two_registries_share_one_line(app: Path) -> None:
    config = load_config(app / "deploy.yaml")
    result = ecsconfig.build(config, "main", ["tutum", "quay"], CREDS)
    assert result.lines(show_secrets=True) == [
        "ECS_ENGINE_AUTH_TYPE=dockercfg",
        'ECS_ENGINE_AUTH_DATA={"quay.io":{"auth":"' + _b64("bob:s3cret-quay") + '"},'
        '"tutum.co":{"auth":"' + _b64("alice:s3cret-tutum") + '","email":"ops@example.com"}}',
        "ECS_ENABLE_CONTAINER_METADATA=true",
        "ECS_RESERVED_MEMORY=256",
    ]


def test_docker_auth_type(app: Path) -> None:
    (app / "deploy.yaml").write_text(
        DEPLOY.format(tutum_type=", auth_type: docker", quay_type=", auth_type: docker")
    )
    config = load_config(app / "deploy.yaml")
    result = ecsconfig.build(config, "main", ["tutum", "quay"], CREDS)
    assert result.lines(show_secrets=True)[:2] == [
        "ECS_ENGINE_AUTH_TYPE=docker",
        'ECS_ENGINE_AUTH_DATA={"quay.io":{"username":"bob","password":"s3cret-quay"},'
        '"tutum.co":{"username":"alice","password":"s3cret-tutum","email":"ops@example.com"}}',
    ]
    masked = result.lines()[1]
    assert masked == (
        'ECS_ENGINE_AUTH_DATA={"quay.io":{"username":"bob","password":"(sensitive)"},'
        '"tutum.co":{"username":"alice","password":"(sensitive)","email":"ops@example.com"}}'
    )


def test_mixed_auth_types_in_one_cluster_are_refused(app: Path) -> None:
    (app / "deploy.yaml").write_text(DEPLOY.format(tutum_type=", auth_type: docker", quay_type=""))
    config = load_config(app / "deploy.yaml")
    with pytest.raises(
        InputError, match="needs registries of two auth types: quay \\(dockercfg\\)"
    ):
        ecsconfig.build(config, "main", ["tutum", "quay"], CREDS)


def test_registries_by_cluster_follow_the_images_services_run(app: Path) -> None:
    config = load_config(app / "deploy.yaml")
    found = ecsconfig.registries_by_cluster(
        config, {"web": ("web", "side"), "edge": ("web", "other")}
    )
    assert found == {"main": ["tutum", "quay"], "edge": ["tutum"]}


def test_merge_keeps_the_other_lines_and_replaces_ours(app: Path) -> None:
    config = load_config(app / "deploy.yaml")
    result = ecsconfig.build(config, "edge", ["tutum"], CREDS)
    existing = (
        "ECS_CLUSTER=shop-edge\n# a comment\nECS_ENGINE_AUTH_TYPE=docker\n"
        'ECS_ENGINE_AUTH_DATA={"old.example.com":{}}\nECS_LOGLEVEL=debug\n'
    )
    merged = ecsconfig.merge(existing, result)
    assert merged.splitlines() == [
        "ECS_CLUSTER=shop-edge",
        "# a comment",
        "ECS_LOGLEVEL=debug",
        "ECS_ENGINE_AUTH_TYPE=dockercfg",
        'ECS_ENGINE_AUTH_DATA={"tutum.co":{"auth":"'
        + _b64("alice:s3cret-tutum")
        + '","email":"ops@example.com"}}',
    ]
    assert ecsconfig.merge(merged, result) == merged  # idempotent


def test_digest_changes_with_the_credentials(app: Path) -> None:
    config = load_config(app / "deploy.yaml")
    one = ecsconfig.build(config, "edge", ["tutum"], CREDS)
    other = ecsconfig.build(
        config, "edge", ["tutum"], {"tutum": Credentials("alice", "rotated", "ops@example.com")}
    )
    assert one.digest != other.digest
    assert "s3cret" not in one.digest and len(one.digest) == 32


def test_command_masks_by_default(app: Path) -> None:
    result = CliRunner().invoke(cli, ["-f", str(app / "deploy.yaml"), "ecs-config"], env=ENV)
    assert result.exit_code == 0, result.output
    assert "# cluster main (shop-prod)" in result.output
    assert "# cluster edge (shop-edge)" in result.output
    assert '"tutum.co":{"auth":"(sensitive)","email":"ops@example.com"}' in result.output
    for secret in ("s3cret-tutum", _b64("alice:s3cret-tutum"), "s3cret-quay"):
        assert secret not in result.output
    shown = CliRunner().invoke(
        cli, ["-f", str(app / "deploy.yaml"), "ecs-config", "shop-edge", "--show-secrets"], env=ENV
    )
    assert shown.exit_code == 0
    assert _b64("alice:s3cret-tutum") in shown.output
    assert "# cluster" not in shown.output  # one cluster: just its lines


def test_command_errors(app: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["-f", str(app / "deploy.yaml"), "ecs-config", "nope"], env=ENV)
    assert result.exit_code == 3
    assert "unknown cluster `nope`" in result.output
    assert "main (shop-prod)" in result.output
    env = {**ENV, "QUAY_PASSWORD": ""}
    result = runner.invoke(cli, ["-f", str(app / "deploy.yaml"), "ecs-config"], env=env)
    assert result.exit_code == 3
    assert (
        "environment variable QUAY_PASSWORD is not set (registry `quay` needs it)" in result.output
    )
