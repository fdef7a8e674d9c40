"""The new plan steps as data: counts and summary, JSON round trip, the script's text,
and repositoryCredentials injection (pure, no AWS)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from ecsdeploy.execute.ecsconfig_rollout import parameter_name, script
from ecsdeploy.plan.model import EcsConfigStep, Fingerprint, Plan, SecretStep, ServicePlan
from ecsdeploy.plan.planner import (
    inject_repository_credentials,
    known_after_apply,
    placeholder_secret,
)
from ecsdeploy.plan.serialize import from_dict, to_dict
from ecsdeploy.views import plan as view

STEP = EcsConfigStep(
    cluster="shop",
    cluster_key="main",
    instances=("i-1", "i-2"),
    total=3,
    digest="d" * 32,
    lines=(
        "ECS_ENGINE_AUTH_TYPE=dockercfg",
        'ECS_ENGINE_AUTH_DATA={"r.example":{"auth":"(sensitive)"}}',
    ),
    drain=True,
)


def _plan(*steps: Any) -> Plan:
    return Plan(
        services=(
            ServicePlan(
                key="web",
                name="web",
                cluster="shop",
                family="web",
                current_task_definition=None,
                task_definition={"family": "web", "containerDefinitions": []},
                steps=tuple(steps),
                fingerprint=Fingerprint(None, None, True),
            ),
        ),
        revision=None,
        environment=None,
        config_path="deploy.yaml",
        region="us-east-1",
        created_at="2026-11-28T00:00:00+00:00",
        tool_version="0",
    )


def test_counts_and_summary_mention_instances_and_secrets_only_when_there_are_some() -> None:
    plain = _plan()
    assert "instances" not in plain.counts() and "secrets" not in plain.counts()
    assert plain.summary() == "No changes."
    plan = _plan(SecretStep("private", "ecsdeploy/private", None), STEP)
    assert plan.counts()["instances"] == 2 and plan.counts()["secrets"] == 1
    assert plan.summary().endswith(
        "0 revisions to deregister, 1 secret to write, 2 instances to reconfigure."
    )


def test_new_steps_round_trip_through_json() -> None:
    plan = _plan(SecretStep("private", "ecsdeploy/private", "arn:secret"), STEP)
    back = from_dict(to_dict(plan, for_apply=True))
    assert back.services[0].steps == plan.services[0].steps
    data = to_dict(plan)
    kinds = [s["kind"] for s in data["services"][0]["steps"]]
    assert kinds == ["secret", "ecs_config"]
    assert data["services"][0]["steps"][0]["action"] == "~"


def test_views_show_the_rollout_masked() -> None:
    plan = _plan(SecretStep("private", "ecsdeploy/private", None), STEP)
    text = view.text(plan, color=False)
    assert "~ ecs.config on cluster shop: 2 of 3 instances out of date" in text
    assert "(drain, update through SSM, restart the ECS agent)" in text
    assert "instances: i-1, i-2" in text
    assert '"auth":"(sensitive)"' in text
    assert "+ create secret ecsdeploy/private (Secrets Manager)" in text
    markdown = view.markdown(plan)
    assert "`~` ecs_config" in markdown and "! ecs.config on cluster shop" in markdown


def test_the_script_is_posix_sh_and_names_only_the_parameter() -> None:
    commands = script(parameter_name("shop"), "us-east-1", ["ECS_LOGLEVEL"])
    text = "\n".join(commands)
    assert '--name "$PARAMETER" --with-decryption' in text
    assert "PARAMETER=/ecsdeploy/shop/ecs-config" in text
    assert "MANAGED_KEYS='ECS_ENGINE_AUTH_DATA ECS_ENGINE_AUTH_TYPE ECS_LOGLEVEL'" in text
    assert 'ECS_CONFIG_FILE="${ECS_CONFIG_FILE:-/etc/ecs/ecs.config}"' in text
    for shell in ("dash", "bash"):
        checked = subprocess.run([shell, "-n"], input=text, text=True, capture_output=True)
        assert checked.returncode == 0, checked.stderr


def test_repository_credentials_go_on_the_registry_containers_only() -> None:
    td = {
        "family": "web",
        "containerDefinitions": [
            {"name": "a", "image": "reg.example:5000/shop/a:1"},
            {"name": "b", "image": "123.dkr.ecr.us-east-1.amazonaws.com/shop/b:1"},
            {
                "name": "c",
                "image": "reg.example:5000/shop/c:1",
                "repositoryCredentials": {"credentialsParameter": "mine"},
            },
            {"name": "d", "image": "reg.example:50001/shop/d:1"},  # another registry
        ],
    }
    out = inject_repository_credentials(td, {"reg.example:5000": "arn:secret"})
    creds = {c["name"]: c.get("repositoryCredentials") for c in out["containerDefinitions"]}
    assert creds == {
        "a": {"credentialsParameter": "arn:secret"},
        "b": None,
        "c": {"credentialsParameter": "mine"},
        "d": None,
    }
    assert "repositoryCredentials" not in td["containerDefinitions"][0]  # not mutated


@pytest.mark.parametrize("name", ["ecsdeploy/private", "shop/hub"])
def test_the_first_deploy_placeholder_names_its_secret(name: str) -> None:
    assert placeholder_secret(known_after_apply(name)) == name
    assert placeholder_secret("arn:aws:secretsmanager:…") is None


FARGATE_DEPLOY = """version: 1
region: us-east-1
registries:
  private:
    type: docker
    url: reg.example:5000
    auth: {username_env: U, password_env: P}
    ecs_config: true
images:
  app: {registry: private, repository: shop/app, tag: v1}
clusters:
  main: {name: shop}
services:
  app:
    cluster: main
    launch_type: FARGATE
    task_definition: app.json
    network: {subnets: [subnet-0123456789abcdef0]}
"""


def test_fargate_with_an_ecs_config_registry_is_warned(tmp_path: Any) -> None:
    from ecsdeploy.config import load_config
    from ecsdeploy.plan.observe import ImageState, LiveState, ServiceState
    from ecsdeploy.plan.planner import make_plan
    from ecsdeploy.render import Renderer

    (tmp_path / "deploy.yaml").write_text(FARGATE_DEPLOY)
    (tmp_path / "app.json").write_text(
        '{"family": "app", "networkMode": "awsvpc", "cpu": "256", "memory": "512",'
        ' "requiresCompatibilities": ["FARGATE"],'
        ' "containerDefinitions": [{"name": "app", "image": "{{ images.app.uri }}"}]}'
    )
    config = load_config(tmp_path / "deploy.yaml")
    renderer = Renderer(config, revision="a" * 40, region="us-east-1")
    rendered = renderer.render_all()
    live = LiveState(
        services={"app": ServiceState("app", "shop", "app", None)},
        task_definitions={},
        families={},
        images={"app": ImageState("app", "sha256:1", "sha256:1")},
    )
    plan = make_plan(config, rendered, renderer.images(), live, revision=None, region=None)
    (warning,) = [w for w in plan.services[0].warnings if "Fargate" in w.message]
    assert "registry `private`" in warning.message
    assert warning.fix == "set auth.mode: repository_credentials on registry `private`"
