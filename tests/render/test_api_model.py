"""Broken task-definition templates refused by `validate` against botocore's ECS model.

Each case is a small deploy.yaml and one template with one mistake. They all run in
one fresh interpreter (the runner of tests/config) with AWS_ENDPOINT_URL pointing at
the sandbox: each must exit 3 naming the template and the key path, the sandbox must
have seen no call, and no AWS SDK may have been imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

DEPLOY = """version: 1
registries:
  ecr: {type: ecr, url: 123456789012.dkr.ecr.us-east-1.amazonaws.com}
images:
  web: {registry: ecr, repository: shop/web, promote: latest}
clusters:
  main: {name: shop}
services:
  web:
    cluster: main
    task_definition: taskdefs/web.json.j2
    desired_count: 2
"""

TEMPLATE = """{
  "family": "web",
  "containerDefinitions": [
    {
      "name": "web",
      "image": "{{ images.web.uri }}",
      "memory": 256,
      "essential": true,
      "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
      "environment": [{"name": "LOG_LEVEL", "value": "info"}],
      "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}],
      "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "web"}},
      "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 30}
    }
  ],
  "volumes": [{"name": "data", "host": {"sourcePath": "/srv/data"}}]
}
"""

YAML_TEMPLATE = """family: worker
containerDefinitions:
  - name: worker
    image: {{ images.web.uri | tojson }}
    memoryReservation: 128
    environment:
      - name: QUEUE
        value: jobs
"""


def _tpl(old: str, new: str, template: str = TEMPLATE) -> str:
    assert old in template, old
    return template.replace(old, new, 1)


@dataclass(frozen=True)
class Case:
    id: str
    expect: tuple[str, ...]  # substrings of stderr; the first names the file and key path
    template: str
    absent: tuple[str, ...] = ()  # what must not be printed
    extra: dict[str, str] = field(default_factory=dict)  # other files (relative path -> text)
    deploy: str = DEPLOY


def _case(cid: str, path_and_message: str, old: str, new: str, *more: str) -> Case:
    return Case(cid, (f"taskdefs/web.json.j2: {path_and_message}", *more), _tpl(old, new))


TAGS = ", ".join(f'{{"key": "k{i}", "value": "v"}}' for i in range(51))
FARGATE = '"family": "web", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",'

CASES: list[Case] = [
    # --- field names ------------------------------------------------------------------
    _case(
        "name-typo-in-container",
        "containerDefinitions[web].enviroment: unknown field (did you mean environment?)",
        '"environment":',
        '"enviroment":',
    ),
    _case(
        "name-typo-top-level",
        "netwrokMode: unknown field (did you mean networkMode?)",
        '"family": "web",',
        '"family": "web", "netwrokMode": "bridge",',
    ),
    _case(
        "name-wrong-case",
        "Family: unknown field (did you mean family?)",
        '"family": "web"',
        '"Family": "web"',
        "taskdefs/web.json.j2: family: required field is missing",
    ),
    _case(
        "name-typo-in-volume",
        "volumes[data].host.sourcepath: unknown field (did you mean sourcePath?)",
        '"sourcePath"',
        '"sourcepath"',
    ),
    _case(
        "name-unknown-no-suggestion",
        "containerDefinitions[web].zzz: unknown field (not a field of ContainerDefinition",
        '"essential": true,',
        '"essential": true, "zzz": 1,',
    ),
    # --- types ------------------------------------------------------------------------
    _case(
        "type-container-memory-with-unit",
        "containerDefinitions[web].memory: '256MB' is not an integer",
        '"memory": 256',
        '"memory": "256MB"',
    ),
    _case(
        "type-quoted-number",
        "containerDefinitions[web].memory: '256' is not an integer (write the number without "
        "quotes)",
        '"memory": 256',
        '"memory": "256"',
    ),
    _case(
        "type-boolean-as-string",
        "containerDefinitions[web].essential: 'yes' is not true or false",
        '"essential": true',
        '"essential": "yes"',
    ),
    _case(
        "type-command-not-a-list",
        "containerDefinitions[web].command: 'run --fast' is not a list (put it in a list",
        '"essential": true,',
        '"essential": true, "command": "run --fast",',
    ),
    _case(
        "type-port-mappings-object",
        "containerDefinitions[web].portMappings: expected a list, not an object",
        '"portMappings": [{"containerPort": 8080, "protocol": "tcp"}]',
        '"portMappings": {"containerPort": 8080}',
    ),
    _case(
        "type-fractional-task-cpu",
        "cpu: 0.5 is not a string",
        '"family": "web",',
        '"family": "web", "cpu": 0.5,',
    ),
    # --- enums ------------------------------------------------------------------------
    _case(
        "enum-network-mode",
        "networkMode: 'bridged' is not one of bridge, host, awsvpc, none (did you mean bridge?)",
        '"family": "web",',
        '"family": "web", "networkMode": "bridged",',
    ),
    _case(
        "enum-port-protocol",
        "containerDefinitions[web].portMappings[0].protocol: 'TCP6' is not one of tcp, udp",
        '"protocol": "tcp"',
        '"protocol": "TCP6"',
    ),
    _case(
        "enum-log-driver",
        "containerDefinitions[web].logConfiguration.logDriver: 'cloudwatch' is not one of",
        '"logDriver": "awslogs"',
        '"logDriver": "cloudwatch"',
    ),
    _case(
        "enum-compatibility",
        "requiresCompatibilities[0]: 'FARGATE_SPOT' is not one of EC2, FARGATE",
        '"family": "web",',
        '"family": "web", "requiresCompatibilities": ["FARGATE_SPOT"],',
    ),
    _case(
        "enum-depends-on-condition",
        "containerDefinitions[web].dependsOn[0].condition: 'RUNNING' is not one of START",
        '"essential": true,',
        '"essential": true, "dependsOn": [{"containerName": "web", "condition": "RUNNING"}],',
    ),
    _case(
        "enum-ulimit-name",
        "containerDefinitions[web].ulimits[0].name: 'files' is not one of core",
        '"essential": true,',
        '"essential": true, "ulimits": [{"name": "files", "softLimit": 1, "hardLimit": 2}],',
    ),
    # --- required members ---------------------------------------------------------------
    _case(
        "required-health-check-command",
        "containerDefinitions[web].healthCheck.command: required field is missing",
        '"healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 30}',
        '"healthCheck": {"interval": 30}',
    ),
    _case(
        "required-secret-value-from",
        "containerDefinitions[web].secrets[DB_URL].valueFrom: required field is missing",
        '"essential": true,',
        '"essential": true, "secrets": [{"name": "DB_URL"}],',
    ),
    _case(
        "required-environment-name",
        "containerDefinitions[web].environment[0].name: required field is missing",
        '{"name": "LOG_LEVEL", "value": "info"}',
        '{"value": "info"}',
    ),
    _case(
        "required-log-driver",
        "containerDefinitions[web].logConfiguration.logDriver: required field is missing",
        '"logDriver": "awslogs", ',
        "",
    ),
    _case(
        "required-efs-file-system",
        "volumes[data].efsVolumeConfiguration.fileSystemId: required field is missing",
        '"host": {"sourcePath": "/srv/data"}',
        '"efsVolumeConfiguration": {"rootDirectory": "/"}',
    ),
    _case(
        "required-image",
        "containerDefinitions[web].image: required field is missing",
        '"image": "{{ images.web.uri }}",',
        "",
        "{{ images.NAME.uri }}",
    ),
    Case(
        "required-name-by-index",
        ("taskdefs/web.json.j2: containerDefinitions[0].name: required field is missing",),
        _tpl(
            '"containerDefinitions": [',
            '"containerDefinitions": [{"image": "busybox", "memory": 64, "essential": false},',
        ),
    ),
    # --- ranges -----------------------------------------------------------------------
    _case(
        "range-health-check-interval",
        "containerDefinitions[web].healthCheck.interval: 1 is not between 5 and 300",
        '"interval": 30',
        '"interval": 1',
    ),
    _case(
        "range-health-check-retries",
        "containerDefinitions[web].healthCheck.retries: 20 is not between 1 and 10",
        '"interval": 30',
        '"interval": 30, "retries": 20',
    ),
    _case(
        "range-container-memory",
        "containerDefinitions[web].memory: 4 is less than the minimum, 6",
        '"memory": 256',
        '"memory": 4',
    ),
    _case(
        "range-ephemeral-storage",
        "ephemeralStorage.sizeInGiB: 10 is not between 21 and 200",
        '"family": "web",',
        '"family": "web", "ephemeralStorage": {"sizeInGiB": 10},',
    ),
    _case(
        "range-too-many-tags",
        "tags: has 51 items, more than the maximum, 50",
        '"family": "web",',
        f'"family": "web", "tags": [{TAGS}],',
    ),
    _case(
        "range-swappiness",
        "containerDefinitions[web].linuxParameters.swappiness: 101 is not between 0 and 100",
        '"essential": true,',
        '"essential": true, "linuxParameters": {"swappiness": 101},',
    ),
    # --- nested shapes ----------------------------------------------------------------
    _case(
        "nested-linux-parameters-boolean",
        "containerDefinitions[web].linuxParameters.initProcessEnabled: 'true' is not true or "
        "false (write true or false without quotes)",
        '"essential": true,',
        '"essential": true, "linuxParameters": {"initProcessEnabled": "true"},',
    ),
    _case(
        "nested-capabilities-not-a-list",
        "containerDefinitions[web].linuxParameters.capabilities.add: 'SYS_PTRACE' is not a list",
        '"essential": true,',
        '"essential": true, "linuxParameters": {"capabilities": {"add": "SYS_PTRACE"}},',
    ),
    _case(
        "nested-log-option-not-a-string",
        "containerDefinitions[web].logConfiguration.options[awslogs-create-group]: true is not "
        "a string",
        '"options": {"awslogs-group": "web"}',
        '"options": {"awslogs-group": "web", "awslogs-create-group": true}',
    ),
    _case(
        "nested-docker-label-number",
        "containerDefinitions[web].dockerLabels[tier]: 1 is not a string (quote it",
        '"essential": true,',
        '"essential": true, "dockerLabels": {"tier": 1},',
    ),
    Case(
        "nested-environment-value-not-printed",
        (
            "taskdefs/web.json.j2: containerDefinitions[web].environment[PORT].value: expected "
            "a string, not an integer (quote it",
        ),
        _tpl('"value": "info"}', '"value": "info"}, {"name": "PORT", "value": 47113}'),
        absent=("47113",),
    ),
    # --- ECS's rules across fields ------------------------------------------------------
    _case(
        "ecs-reservation-above-memory",
        "containerDefinitions[web].memoryReservation: 512 is more than the container's memory, 256",
        '"memory": 256',
        '"memory": 256, "memoryReservation": 512',
    ),
    _case(
        "ecs-no-essential-container",
        "containerDefinitions: no container is essential",
        '"essential": true',
        '"essential": false',
    ),
    _case(
        "ecs-depends-on-unknown-container",
        "containerDefinitions[web].dependsOn[0].containerName: 'db' is not a container of this "
        "task definition",
        '"essential": true,',
        '"essential": true, "dependsOn": [{"containerName": "db", "condition": "START"}],',
    ),
    _case(
        "ecs-mount-of-unknown-volume",
        "containerDefinitions[web].mountPoints[0].sourceVolume: 'logs' is not a volume of this "
        "task definition (volumes: data)",
        '"sourceVolume": "data"',
        '"sourceVolume": "logs"',
    ),
    _case(
        "ecs-health-check-without-cmd",
        "containerDefinitions[web].healthCheck.command: starts with 'curl -f localhost', not "
        "CMD or CMD-SHELL",
        '["CMD-SHELL", "true"]',
        '["curl -f localhost"]',
    ),
    Case(
        "ecs-awsvpc-host-port",
        (
            "taskdefs/web.json.j2: containerDefinitions[web].portMappings[0].hostPort: 80 "
            "differs from containerPort 8080",
        ),
        _tpl(
            '"family": "web",',
            '"family": "web", "networkMode": "awsvpc",',
            _tpl('"containerPort": 8080,', '"containerPort": 8080, "hostPort": 80,'),
        ),
    ),
    _case(
        "ecs-task-memory-unit",
        "memory: '256MB' is not a task memory",
        '"family": "web",',
        '"family": "web", "memory": "256MB",',
    ),
    _case(
        "ecs-task-cpu-too-small",
        "cpu: '64' is 64 CPU units, not between 128 and 196608",
        '"family": "web",',
        '"family": "web", "cpu": 64,',
    ),
    _case(
        "ecs-fargate-network-mode",
        "networkMode: Fargate needs networkMode awsvpc, not 'bridge'",
        '"family": "web",',
        FARGATE + ' "networkMode": "bridge",',
    ),
    Case(
        "ecs-containers-exceed-task-memory",
        (
            "taskdefs/web.json.j2: containerDefinitions[web].memory: 1024 MiB is more than the "
            "task's memory, 512 MiB",
        ),
        _tpl(
            '"family": "web",',
            '"family": "web", "memory": 512,',
            _tpl('"memory": 256', '"memory": 1024'),
        ),
    ),
    Case(
        "ecs-containers-reserve-more-than-the-task",
        (
            "taskdefs/web.json.j2: memory: the containers reserve 384 MiB, more than the task's "
            "300 MiB",
        ),
        _tpl(
            '"family": "web",',
            '"family": "web", "memory": 300,',
            _tpl(
                '"containerDefinitions": [',
                '"containerDefinitions": [{"name": "side", "image": "busybox", "memory": 128},',
            ),
        ),
    ),
    # --- YAML templates and the service ----------------------------------------------------
    Case(
        "yaml-template-typo",
        (
            "taskdefs/worker.yaml.j2: containerDefinitions[worker].enviroment: unknown field "
            "(did you mean environment?)",
        ),
        TEMPLATE,
        extra={"taskdefs/worker.yaml.j2": _tpl("environment:", "enviroment:", YAML_TEMPLATE)},
        deploy=DEPLOY + "  worker: {cluster: main, task_definition: taskdefs/worker.yaml.j2}\n",
    ),
    Case(
        "service-load-balancer-port",
        ("taskdefs/web.json.j2: services.web: container 'web' does not map load_balancer.port",),
        TEMPLATE,
        deploy=DEPLOY + "    load_balancer: {target_group: tg, container: web, port: 9090}\n",
    ),
]


def _lay_out(case: Case, root: Path) -> Path:
    folder = root / case.id
    (folder / "taskdefs").mkdir(parents=True)
    (folder / "deploy.yaml").write_text(case.deploy)
    (folder / "taskdefs" / "web.json.j2").write_text(case.template)
    for name, text in case.extra.items():
        (folder / name).write_text(text)
    return folder


def _run_cli(
    cases: list[tuple[str, Path, list[str]]], endpoint: str, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run `ecsdeploy ARGV` for each case in one fresh interpreter (tests.config.run_corpus)."""
    payload = [{"id": cid, "cwd": str(cwd), "argv": argv} for cid, cwd, argv in cases]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECSDEPLOY_", "AWS_"))}
    env |= {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_REGION": "us-east-1",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "tests.config.run_corpus"],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


REVISION = ["--revision", "0123456789abcdef0123456789abcdef01234567"]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, sandbox_server: Any) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("broken-templates")
    sandbox_server.reset()
    runs = [(c.id, _lay_out(c, root), [*REVISION, "validate"]) for c in CASES]
    data = _run_cli(runs, sandbox_server.endpoint_url)
    data["__calls__"] = sandbox_server.calls()
    return data


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 20
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_template_is_refused_before_any_aws_call(
    case: Case, results: dict[str, Any]
) -> None:
    result = results[case.id]
    stderr = result["stderr"]
    assert result["code"] == 3, stderr
    for text in case.expect:
        assert text in stderr, f"{text!r} not in:\n{stderr}"
    for text in case.absent:
        assert text not in stderr
    assert "Traceback" not in stderr
    assert result["aws_loaded"] == [], "validate imported an AWS SDK"
    assert results["__calls__"] == {}, "validate called AWS"


def test_every_problem_of_a_template_is_reported_at_once(tmp_path: Path, sandbox: Any) -> None:
    from click.testing import CliRunner

    from ecsdeploy.cli import cli

    template = _tpl('"protocol": "tcp"', '"protocol": "TCP6"')
    template = _tpl('"environment":', '"enviroment":', template)
    template = _tpl('"interval": 30', '"interval": 1', template)
    folder = _lay_out(Case("all-at-once", (), template), tmp_path)
    result = CliRunner().invoke(cli, ["-f", str(folder / "deploy.yaml"), *REVISION, "validate"])
    assert result.exit_code == 3
    assert "3 problems found" in result.stderr
    for path in ("enviroment", "portMappings[0].protocol", "healthCheck.interval"):
        assert f"containerDefinitions[web].{path}:" in result.stderr
    assert sandbox.control.calls() == {}


def test_plan_refuses_a_broken_template_before_any_aws_call(tmp_path: Path, sandbox: Any) -> None:
    from click.testing import CliRunner

    from ecsdeploy.cli import cli

    folder = _lay_out(Case("plan", (), _tpl('"protocol": "tcp"', '"protocol": "TCP6"')), tmp_path)
    for command in (["plan"], ["verify"], ["apply", "--yes"]):
        result = CliRunner().invoke(cli, ["-f", str(folder / "deploy.yaml"), *REVISION, *command])
        assert result.exit_code == 3, result.output
        assert (
            "taskdefs/web.json.j2: containerDefinitions[web].portMappings[0].protocol: 'TCP6' "
            "is not one of tcp, udp"
        ) in result.stderr
    assert sandbox.control.calls() == {}


def test_without_botocore_the_model_check_is_skipped(tmp_path: Path) -> None:
    """botocore missing: the essentials are still checked, nested ones are left to ECS."""
    nested = _lay_out(Case("nested", (), _tpl('"environment":', '"enviroment":')), tmp_path)
    top = _lay_out(
        Case("top", (), _tpl('"family": "web",', '"family": "web", "Tags": [],')), tmp_path
    )
    code = (
        "import importlib.util\n"
        "found = importlib.util.find_spec\n"
        "importlib.util.find_spec = "
        "lambda name, *a: None if name == 'botocore' else found(name, *a)\n"
        "import runpy\n"
        "runpy.run_module('tests.config.run_corpus', run_name='__main__')\n"
    )
    payload = [
        {"id": "nested", "cwd": str(nested), "argv": [*REVISION, "validate"]},
        {"id": "top", "cwd": str(top), "argv": [*REVISION, "validate"]},
    ]
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["nested"]["code"] == 0, data["nested"]["stderr"]
    assert data["top"]["code"] == 3
    assert "taskdefs/web.json.j2: Tags: unknown field (did you mean tags?)" in data["top"]["stderr"]
