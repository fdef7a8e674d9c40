"""Rendering against real Git repositories and real files: context, shapes, environments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecsdeploy.cli import cli
from ecsdeploy.config import load_config
from ecsdeploy.render import Renderer
from tests.fixtures.gitrepo import git

DEPLOY = """version: 1
region: eu-west-1
vars: {app: shop, log_level: info}
environments:
  staging:
    vars: {log_level: debug}
    clusters: {main: {name: shop-staging}}
    services: {web: {desired_count: 1, vars: {port: 9090}}}
registries:
  ecr: {type: ecr, url: 123456789012.dkr.ecr.eu-west-1.amazonaws.com}
  hub: {type: docker, url: registry.example.com}
images:
  web: {registry: ecr, repository: shop/web, promote: latest}
  worker: {registry: hub, repository: shop/worker, local: "shop/worker:latest", tag: "w-{{ git.short_sha }}"}
clusters:
  main: {name: shop-prod}
services:
  web:
    cluster: main
    name: shop-web
    task_definition: taskdefs/web.json.j2
    desired_count: 3
    vars: {port: 8080}
  worker:
    cluster: main
    task_definition: taskdefs/worker.yaml.j2
"""

WEB = """{
  "family": "{{ vars.app }}-{{ service.key }}",
  "containerDefinitions": [{
    "name": "web",
    "image": "{{ images.web.uri }}",
    "memory": 256,
    "portMappings": [{"containerPort": {{ vars.port }}}],
    "environment": [
      {"name": "LOG_LEVEL", "value": "{{ vars.log_level }}"},
      {"name": "RELEASE", "value": "{{ git.short_sha }}"},
      {"name": "CONTEXT", "value": "{{ env }}/{{ cluster.name }}/{{ service.name }}/{{ service.desired_count }}/{{ region }}"},
      {"name": "BRANCH", "value": "{{ git.branch }}"},
      {"name": "TAG", "value": "{{ git.tag }}"},
      {"name": "DIRTY", "value": "{{ git.dirty }}"}
    ]
  }]
}
"""

WORKER = """family: {{ vars.app }}-worker
containerDefinitions:
  - name: worker
    image: {{ images.worker.uri }}
    memoryReservation: 128
    command: ["run", "--queue", "{{ images.worker.tag }}"]
"""


@pytest.fixture
def app(tmp_path: Path, make_git_repo: Callable[..., Path]) -> Path:
    (tmp_path / "taskdefs").mkdir()
    (tmp_path / "deploy.yaml").write_text(DEPLOY)
    (tmp_path / "taskdefs" / "web.json.j2").write_text(WEB)
    (tmp_path / "taskdefs" / "worker.yaml.j2").write_text(WORKER)
    make_git_repo(tmp_path, branch="main", tag="v1.2.0")
    return tmp_path


def _env(td: dict, name: str) -> str:
    env = td["containerDefinitions"][0]["environment"]
    return next(e["value"] for e in env if e["name"] == name)


def test_git_context_from_a_real_repository(app: Path) -> None:
    config = load_config(app / "deploy.yaml")
    rendered = Renderer(config).render_all()
    sha = git(app, "rev-parse", "HEAD")
    web = rendered["web"].task_definition
    assert _env(web, "RELEASE") == sha[:7]
    assert web["containerDefinitions"][0]["image"] == (
        f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:{sha[:7]}"
    )
    assert _env(web, "BRANCH") == "main"
    assert _env(web, "TAG") == "v1.2.0"
    assert _env(web, "DIRTY") == "False"
    worker = rendered["worker"].task_definition
    assert worker["containerDefinitions"][0]["image"] == (
        f"registry.example.com/shop/worker:w-{sha[:7]}"
    )
    assert worker["containerDefinitions"][0]["command"] == ["run", "--queue", f"w-{sha[:7]}"]


def test_dirty_tree_and_detached_head(app: Path) -> None:
    (app / "taskdefs" / "worker.yaml.j2").write_text(WORKER + "\n")
    info = Renderer(load_config(app / "deploy.yaml")).git_info()
    assert info.dirty is True
    git(app, "checkout", "-q", "--", ".")
    git(app, "checkout", "-q", "--detach", "HEAD")
    info = Renderer(load_config(app / "deploy.yaml")).git_info()
    assert info.branch is None
    assert info.dirty is False
    assert len(info.short_sha) >= 7 and info.sha.startswith(info.short_sha)


def test_revision_stands_in_for_git(app: Path) -> None:
    config = load_config(app / "deploy.yaml")
    web = Renderer(config, revision="abcdef0123456789").render_service("web").task_definition
    assert _env(web, "RELEASE") == "abcdef0"
    assert web["containerDefinitions"][0]["image"].endswith(":abcdef0")


def test_context_and_images_used(app: Path) -> None:
    rendered = Renderer(load_config(app / "deploy.yaml")).render_all()
    web = rendered["web"]
    assert web.family == "shop-web"
    assert web.images == ("web",)
    assert rendered["worker"].images == ("worker",)
    assert _env(web.task_definition, "CONTEXT") == "None/shop-prod/shop-web/3/eu-west-1"
    assert web.task_definition["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 8080}
    ]


def test_environment_overlay_and_var_precedence(app: Path) -> None:
    config = load_config(app / "deploy.yaml", "staging", {"app": "cli"})
    assert config.clusters["main"].name == "shop-staging"
    assert config.services["web"].desired_count == 1
    assert config.services["web"].name == "shop-web"  # kept from the base
    web = Renderer(config).render_service("web").task_definition
    assert web["family"] == "cli-web"  # --var wins over deploy.yaml's vars
    assert _env(web, "LOG_LEVEL") == "debug"  # the environment's vars win over the base
    assert web["containerDefinitions"][0]["portMappings"] == [{"containerPort": 9090}]
    assert _env(web, "CONTEXT").startswith("staging/shop-staging/")


def test_describe_output_shape_renders_to_register_input(tmp_path: Path) -> None:
    described = {
        "taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
            "family": "web",
            "revision": 7,
            "status": "ACTIVE",
            "compatibilities": ["EC2"],
            "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
            "registeredAt": "2024-01-01T00:00:00+00:00",
            "registeredBy": "arn:aws:iam::123456789012:user/ci",
            "ipcMode": None,
            "containerDefinitions": [
                {"name": "web", "image": "{{ images.web.uri }}", "memory": 128, "user": None}
            ],
        },
        "tags": [{"key": "team", "value": "shop"}],
    }
    (tmp_path / "web.json").write_text(json.dumps(described))
    (tmp_path / "deploy.yaml").write_text(
        "version: 1\nregistries: {r: {type: docker, url: reg.example.com}}\n"
        "images: {web: {registry: r, repository: web, tag: v1}}\n"
        "clusters: {c: {name: c}}\nservices: {web: {cluster: c, task_definition: web.json}}\n"
    )
    td = Renderer(load_config(tmp_path / "deploy.yaml")).render_service("web").task_definition
    assert td == {
        "family": "web",
        "containerDefinitions": [{"name": "web", "image": "reg.example.com/web:v1", "memory": 128}],
        "tags": [{"key": "team", "value": "shop"}],
    }


def test_render_command_prints_json_for_jq(app: Path) -> None:
    result = CliRunner().invoke(cli, ["-f", str(app / "deploy.yaml"), "render", "worker"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == ["worker"]
    assert data["worker"]["family"] == "shop-worker"


def test_validate_checks_every_environment(app: Path) -> None:
    text = (
        (app / "deploy.yaml")
        .read_text()
        .replace("services: {web: {desired_count: 1", "services: {web: {desired_cont: 1")
    )
    (app / "deploy.yaml").write_text(text)
    result = CliRunner().invoke(cli, ["-f", str(app / "deploy.yaml"), "validate"])
    assert result.exit_code == 3
    assert "environments.staging.services.web.desired_cont" in result.output
    assert "did you mean `desired_count`?" in result.output


def test_validate_reports_each_environment(app: Path) -> None:
    result = CliRunner().invoke(cli, ["-f", str(app / "deploy.yaml"), "validate"])
    assert result.exit_code == 0, result.output
    assert "ok: deploy.yaml: 2 services, 2 images, 1 cluster" in result.output
    assert "ok: environment staging: 2 services" in result.output


def test_schema_command_prints_the_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    root = Path(__file__).resolve().parents[2]
    assert schema == json.loads((root / "schemas" / "deploy.schema.json").read_text())


def test_version_imports_no_aws_docker_or_git() -> None:
    code = (
        "import sys\nfrom ecsdeploy.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "heavy = [m for m in ('boto3', 'botocore', 'docker', 'git', 'moto', 'rich', 'jinja2')"
        " if m in sys.modules]\nprint(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    assert out.stdout.splitlines()[-1] == "[]"
    assert "ecsdeploy, version" in out.stdout


def test_python_dash_m_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ecsdeploy", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout.startswith("ecsdeploy, version ")


def test_an_unknown_image_in_a_template_is_named_with_its_line(app: Path) -> None:
    web = app / "taskdefs" / "web.json.j2"
    web.write_text(web.read_text().replace("images.web.uri", "images.wbe.uri"))
    result = CliRunner().invoke(cli, ["-f", str(app / "deploy.yaml"), "validate"])
    assert result.exit_code == 3, result.output
    assert "web.json.j2:5" in result.output
    assert "unknown image `wbe` in template" in result.output
    assert "under `images:` in deploy.yaml" in result.output
    assert "_ImagesContext" not in result.output


def test_yaml_numbers_render_as_plain_json_numbers(tmp_path: Path) -> None:
    # ruamel reads `0`, `0o17` and `1_000` as an int subclass; a rendered task
    # definition holds plain ints, so `cpu: 0` is the same value as ECS's
    # `"cpu": 0` (the diff compares types too).
    (tmp_path / "web.yaml").write_text(
        "family: web\ncontainerDefinitions:\n  - name: web\n    image: reg.example.com/web:v1\n"
        "    cpu: 0\n    memory: 1_024\n    stopTimeout: 0o17\n"
        "    ulimits: [{name: nofile, softLimit: 0, hardLimit: 0}]\n"
    )
    (tmp_path / "deploy.yaml").write_text(
        "version: 1\nregistries: {r: {type: docker, url: reg.example.com}}\n"
        "images: {web: {registry: r, repository: web, tag: v1}}\n"
        "clusters: {c: {name: c}}\nservices: {web: {cluster: c, task_definition: web.yaml}}\n"
    )
    td = Renderer(load_config(tmp_path / "deploy.yaml")).render_service("web").task_definition
    (web,) = td["containerDefinitions"]
    assert (web["cpu"], web["memory"], web["stopTimeout"]) == (0, 1024, 15)
    for value in (web["cpu"], web["memory"], web["stopTimeout"], web["ulimits"][0]["softLimit"]):
        assert type(value) is int


def test_an_omitted_desired_count_is_undefined_in_templates(app: Path) -> None:
    # worker has no desired_count: the live service's count is not known when rendering.
    (app / "taskdefs" / "worker.yaml.j2").write_text(
        WORKER + '    environment: [{name: REPLICAS, value: "{{ service.desired_count }}"}]\n'
    )
    result = CliRunner().invoke(cli, ["-f", str(app / "deploy.yaml"), "validate"])
    assert result.exit_code == 3, result.output
    assert "taskdefs/worker.yaml.j2:7: undefined in template" in result.output
    assert "desired_count" in result.output
    assert "service.desired_count | default(1)" in result.output
    # With a default the template renders.
    (app / "taskdefs" / "worker.yaml.j2").write_text(
        WORKER
        + '    environment: [{name: REPLICAS, value: "{{ service.desired_count | default(1) }}"}]\n'
    )
    result = CliRunner().invoke(cli, ["-f", str(app / "deploy.yaml"), "render", "worker"])
    assert result.exit_code == 0, result.output
    assert '"value": "1"' in result.output
