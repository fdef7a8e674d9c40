"""Plan against the sandbox, which stores task definitions as ECS does (defaults filled
in, unit strings converted): an unchanged deploy is "No changes.", a change is only
itself. The app here leans on every default it can; the samples are checked too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.apps import REV_A, App, copy_fargate_for_sandbox, copy_sample, seed_app
from tests.verify.apps import REGISTRY_ENV, private_registry

DEPLOY = """version: 1
region: us-east-1
registries:
  ecr: {type: ecr, url: 123456789012.dkr.ecr.us-east-1.amazonaws.com}
images:
  api: {registry: ecr, repository: lean/api, promote: latest}
  worker: {registry: ecr, repository: lean/worker, promote: latest}
clusters:
  main: {name: lean}
services:
  api:
    cluster: main
    task_definition: api.yaml.j2
    launch_type: FARGATE
    desired_count: 1
    zero_downtime: false
  worker:
    cluster: main
    task_definition: worker.yaml.j2
    launch_type: EC2
    desired_count: 1
    zero_downtime: false
"""

# Fargate: task size in units, a port with neither hostPort nor protocol, no
# `essential` on the main container, no container cpu, a health check with its
# timings left to their defaults.
API = """family: lean-api
requiresCompatibilities: [FARGATE]
networkMode: awsvpc
cpu: 0.25 vCPU
memory: 1 GB
executionRoleArn: arn:aws:iam::123456789012:role/lean-execution
containerDefinitions:
  - name: api
    image: {{ images.api.uri | tojson }}
    portMappings:
      - containerPort: 8000
    environment:
      - {name: LOG_LEVEL, value: info}
    healthCheck:
      command: [CMD-SHELL, "curl -f http://localhost:8000/ || exit 1"]
    logConfiguration:
      logDriver: awslogs
      options: {awslogs-group: /ecs/lean/api, awslogs-region: us-east-1, awslogs-stream-prefix: api}
  - name: sidecar
    image: {{ images.api.uri | tojson }}
    essential: false
"""

# EC2 with no network mode (bridge): a container with only a memory reservation,
# no cpu, no `essential`, a port with only its container port.
WORKER = """family: lean-worker
requiresCompatibilities: [EC2]
containerDefinitions:
  - name: worker
    image: {{ images.worker.uri | tojson }}
    memoryReservation: 128
    portMappings:
      - containerPort: 9000
    environment:
      - {name: QUEUE, value: jobs}
"""


@pytest.fixture
def lean(sandbox: Any, tmp_path: Path) -> App:
    folder = tmp_path / "lean"
    folder.mkdir()
    (folder / "deploy.yaml").write_text(DEPLOY)
    (folder / "api.yaml.j2").write_text(API)
    (folder / "worker.yaml.j2").write_text(WORKER)
    return seed_app(sandbox, folder)


def _live(sandbox: Any, family: str) -> dict[str, Any]:
    td: dict[str, Any] = sandbox.client("ecs").describe_task_definition(taskDefinition=family)[
        "taskDefinition"
    ]
    return td


def _register_changes(app: App, key: str, *args: str) -> list[dict[str, Any]]:
    result = app.run("plan", "--format", "json", *args, revision=REV_A)
    assert result.exit_code == 0, result.output
    service = next(s for s in json.loads(result.output)["services"] if s["key"] == key)
    steps = [s for s in service["steps"] if s["kind"] == "register"]
    return [] if not steps else list(steps[0]["diff"]["changes"])


def test_live_revisions_carry_ecs_defaults(sandbox: Any, lean: App) -> None:
    api = _live(sandbox, "lean-api")
    assert (api["cpu"], api["memory"]) == ("256", "1024")
    main, sidecar = api["containerDefinitions"]
    assert main["essential"] is True and sidecar["essential"] is False
    assert main["cpu"] == 0
    assert main["portMappings"] == [{"containerPort": 8000, "hostPort": 8000, "protocol": "tcp"}]
    assert main["healthCheck"]["interval"] == 30
    worker = _live(sandbox, "lean-worker")
    (container,) = worker["containerDefinitions"]
    assert container["memoryReservation"] == 128 and "memory" not in container
    assert container["portMappings"] == [{"containerPort": 9000, "hostPort": 0, "protocol": "tcp"}]
    assert "networkMode" not in worker


def test_unchanged_plans_no_changes(lean: App) -> None:
    result = lean.run("plan", "--detailed-exitcode", revision=REV_A)
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("No changes.")


def test_spelling_out_a_default_is_no_change(lean: App) -> None:
    lean.edit("api.yaml.j2", "      - containerPort: 8000\n", _port_spelled_out())
    lean.edit("api.yaml.j2", "cpu: 0.25 vCPU", 'cpu: "256"')
    lean.edit(
        "worker.yaml.j2",
        "    memoryReservation: 128\n",
        "    memoryReservation: 128\n    cpu: 0\n    essential: true\n",
    )
    result = lean.run("plan", "--detailed-exitcode", revision=REV_A)
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("No changes.")


def _port_spelled_out() -> str:
    return "      - containerPort: 8000\n        hostPort: 8000\n        protocol: tcp\n"


def test_a_changed_variable_is_the_only_change(lean: App) -> None:
    lean.edit("api.yaml.j2", "value: info", "value: debug")
    assert _register_changes(lean, "api") == [
        {
            "path": "containerDefinitions[api].environment[LOG_LEVEL]",
            "action": "update",
            "before": "info",
            "after": "debug",
        }
    ]
    assert _register_changes(lean, "worker") == []


def test_a_value_over_a_default_is_the_only_change(lean: App) -> None:
    lean.edit(
        "worker.yaml.j2",
        "    memoryReservation: 128\n",
        "    memoryReservation: 128\n    cpu: 64\n",
    )
    lean.edit("api.yaml.j2", "memory: 1 GB", "memory: 2 GB")
    assert _register_changes(lean, "worker") == [
        {"path": "containerDefinitions[worker].cpu", "action": "add", "before": None, "after": 64}
    ]
    assert _register_changes(lean, "api") == [
        {"path": "memory", "action": "update", "before": 1024, "after": 2048}
    ]


def test_a_dropped_non_default_shows(lean: App) -> None:
    lean.edit("api.yaml.j2", "    essential: false\n", "")
    changes = _register_changes(lean, "api")
    assert changes == [
        {
            "path": "containerDefinitions[sidecar].essential",
            "action": "remove",
            "before": False,
            "after": None,
        }
    ]


def _multi_env(tmp_path: Path) -> Path:
    folder = copy_sample("multi-env", tmp_path)
    path = folder / "deploy.yaml"
    path.write_text(path.read_text().replace("eu-west-1", "us-east-1"))
    return folder


SAMPLES = {
    "quickstart": lambda tmp: copy_sample("quickstart", tmp),
    "fargate": copy_fargate_for_sandbox,
    "multi-env": _multi_env,
    "private-registry": private_registry,
}


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_unchanged_sample_plans_no_task_definition_change(
    sandbox: Any, tmp_path: Path, sample: str
) -> None:
    app = seed_app(sandbox, SAMPLES[sample](tmp_path))
    # The private registry's credentials are read (its ecs_config), though no image uses it.
    result = app.run("plan", "--format", "json", revision=REV_A, env=REGISTRY_ENV)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert (plan["counts"]["register"], plan["counts"]["update"]) == (0, 0), result.output
    for service in plan["services"]:
        assert [s for s in service["steps"] if s["kind"] == "register"] == [], service["key"]
    if sample != "private-registry":  # seeding writes no ecs.config: that one plans a roll-out
        assert plan["changed"] is False
