"""Service Connect, Cloud Map registries, Availability Zone rebalancing, EBS volume
configurations and deployment alarms: planned, applied and read back on the sandbox;
what they name checked by verify; bad ones refused offline; init writes them back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ecsdeploy.cli import cli
from tests.apps import REV_A, App, copy_sample, seed_app, write_calls
from tests.execute.conftest import fast

NAMESPACE = "shop.local"
REGISTRY = "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-0123456789abcdef"
ROLE = "arn:aws:iam::123456789012:role/ecsInfrastructureRole"


def _web(sandbox: Any, name: str = "web") -> dict[str, Any]:
    svc: dict[str, Any] = sandbox.client("ecs").describe_services(
        cluster="quickstart", services=[name]
    )["services"][0]
    return svc


def _primary(svc: dict[str, Any]) -> dict[str, Any]:
    return next(d for d in svc["deployments"] if d["status"] == "PRIMARY")


def _service_lines(output: str, head: str = "~ update service") -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == head)
    found = []
    for line in lines[start + 1 :]:
        if not line.startswith("        "):
            break
        found.append(line.strip())
    return found


@pytest.fixture
def app(sandbox: Any, tmp_path: Path) -> App:
    """The quickstart with web's port mapping named `http` and a volume configured at
    launch, seeded; a Cloud Map namespace and two CloudWatch alarms exist."""
    folder = copy_sample("quickstart", tmp_path)
    fast(folder)
    template = folder / "taskdefs" / "web.json.j2"
    text = template.read_text()
    text = text.replace(
        '{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}',
        '{"containerPort": 8080, "hostPort": 0, "protocol": "tcp", "name": "http"}',
    )
    text = text.replace(
        '  "containerDefinitions": [',
        '  "volumes": [{"name": "data", "configuredAtLaunch": true}],\n  "containerDefinitions": [',
    )
    template.write_text(text)
    seeded = seed_app(sandbox, folder)
    sandbox.client("servicediscovery").create_http_namespace(Name=NAMESPACE)
    cloudwatch = sandbox.client("cloudwatch")
    for name in ("web-5xx", "web-latency"):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="HTTPCode_Target_5XX_Count",
            Namespace="AWS/ApplicationELB",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold",
        )
    return seeded


def _add_to_web(app: App, yaml: str) -> None:
    app.edit("deploy.yaml", "    desired_count: 2\n", "    desired_count: 2\n" + yaml)


def _add_alarms(app: App, yaml: str) -> None:
    app.edit(
        "deploy.yaml",
        "      poll_interval: 100ms\n",
        "      poll_interval: 100ms\n" + yaml,
    )


SERVICE_CONNECT = (
    "    service_connect:\n"
    f"      namespace: {NAMESPACE}\n"
    "      services:\n"
    "        - port_name: http\n"
    "          client_aliases: [{port: 80, dns_name: web}]\n"
    "      log_configuration:\n"
    "        log_driver: awslogs\n"
    "        options: {awslogs-group: /ecs/quickstart/connect, awslogs-region: us-east-1}\n"
)
SC_API = {
    "enabled": True,
    "namespace": NAMESPACE,
    "services": [{"portName": "http", "clientAliases": [{"port": 80, "dnsName": "web"}]}],
    "logConfiguration": {
        "logDriver": "awslogs",
        "options": {"awslogs-group": "/ecs/quickstart/connect", "awslogs-region": "us-east-1"},
    },
}
VOLUMES = (
    "    volume_configurations:\n"
    "      - name: data\n"
    "        managed_ebs_volume:\n"
    f"          role_arn: {ROLE}\n"
    "          size_in_gib: 20\n"
    "          volume_type: gp3\n"
    "          tag_specifications: [{resource_type: volume, tags: {team: shop}}]\n"
)
VOLUMES_API = [
    {
        "name": "data",
        "managedEBSVolume": {
            "roleArn": ROLE,
            "sizeInGiB": 20,
            "volumeType": "gp3",
            "tagSpecifications": [
                {"resourceType": "volume", "tags": [{"key": "team", "value": "shop"}]}
            ],
        },
    }
]
REGISTRIES = (
    "    service_registries:\n"
    f"      - {{registry_arn: {REGISTRY}, container_name: web, container_port: 8080}}\n"
)
REGISTRIES_API = [{"registryArn": REGISTRY, "containerName": "web", "containerPort": 8080}]

REDEPLOYS = "ECS starts a new deployment, replacing every task"

# (deploy.yaml lines, where they go, the plan's lines, what the live service shows, a
# new deployment)
CASES = [
    (
        SERVICE_CONNECT,
        "service",
        [
            "serviceConnectConfiguration.enabled: false -> true",
            f"serviceConnectConfiguration.namespace: null -> {NAMESPACE}",
            "serviceConnectConfiguration.services: [] -> " + json.dumps(SC_API["services"]),
            "serviceConnectConfiguration.logConfiguration: null -> "
            + json.dumps(SC_API["logConfiguration"]),
            f"the Service Connect configuration changes: {REDEPLOYS}",
        ],
        {
            "serviceConnectConfiguration": SC_API
            | {
                "services": [
                    {
                        "portName": "http",
                        "discoveryName": "http",
                        "clientAliases": [{"port": 80, "dnsName": "web"}],
                    }
                ]
            }
        },
        True,
    ),
    (
        REGISTRIES,
        "service",
        [
            "serviceRegistries: [] -> " + json.dumps(REGISTRIES_API),
            f"the service registries change: {REDEPLOYS}",
        ],
        {"serviceRegistries": REGISTRIES_API},
        True,
    ),
    (
        "    availability_zone_rebalancing: DISABLED\n",
        "service",
        ["availabilityZoneRebalancing: ENABLED -> DISABLED"],
        {"availabilityZoneRebalancing": "DISABLED"},
        False,
    ),
    (
        VOLUMES,
        "service",
        [
            "volumeConfigurations: [] -> " + json.dumps(VOLUMES_API),
            f"the volume configurations change: {REDEPLOYS}",
        ],
        {"volumeConfigurations": VOLUMES_API},
        True,
    ),
    (
        "      alarms: {names: [web-latency, web-5xx], rollback: true}\n",
        "deployment",
        [
            'deploymentConfiguration.alarms.alarmNames: [] -> ["web-5xx", "web-latency"]',
            "deploymentConfiguration.alarms.enable: false -> true",
            "deploymentConfiguration.alarms.rollback: false -> true",
        ],
        {
            "deploymentConfiguration.alarms": {
                "alarmNames": ["web-latency", "web-5xx"],
                "enable": True,
                "rollback": True,
            }
        },
        False,
    ),
]


def _live(svc: dict[str, Any], field: str) -> Any:
    if field in ("serviceConnectConfiguration", "volumeConfigurations"):
        return _primary(svc).get(field)  # ECS reports these on the deployments
    if field == "deploymentConfiguration.alarms":
        return svc["deploymentConfiguration"].get("alarms")
    return svc.get(field)


def _add(app: App, yaml: str, where: str) -> None:
    if where == "deployment":
        _add_alarms(app, yaml)
    else:
        _add_to_web(app, yaml)


@pytest.mark.parametrize(
    ("yaml", "where", "shown", "live", "redeploys"),
    CASES,
    ids=["service_connect", "service_registries", "az_rebalancing", "volumes", "alarms"],
)
def test_each_key_is_planned_applied_and_then_unchanged(
    app: App,
    sandbox: Any,
    yaml: str,
    where: str,
    shown: list[str],
    live: dict[str, Any],
    redeploys: bool,
) -> None:
    _add(app, yaml, where)
    before = _primary(_web(sandbox))["id"]
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    # Exactly the field deploy.yaml added, and the note when ECS redeploys for it.
    assert _service_lines(plan.output) == shown
    assert "service worker (worker in cluster quickstart): no changes" in plan.output

    sandbox.control.reset_calls()
    result = app.run("apply", "--yes", "--allow-downtime", revision=REV_A)
    assert result.exit_code == 0, result.output
    assert "ecs:RegisterTaskDefinition" not in sandbox.control.calls()
    svc = _web(sandbox)
    for field, value in live.items():
        assert _live(svc, field) == value, field
    assert (_primary(svc)["id"] != before) is redeploys

    again = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert again.exit_code == 0, again.output
    assert again.output.rstrip().endswith("No changes.")


def test_update_sends_only_the_changed_key(app: App, tmp_path: Path) -> None:
    _add_to_web(app, SERVICE_CONNECT + "    availability_zone_rebalancing: ENABLED\n")
    out = tmp_path / "plan.json"
    plan = app.run("plan", "--out", str(out), revision=REV_A)
    assert plan.exit_code == 0, plan.output
    web = next(s for s in json.loads(out.read_text())["services"] if s["key"] == "web")
    step = next(s for s in web["steps"] if s["kind"] == "update_service")
    assert step["request"]["serviceConnectConfiguration"] == SC_API
    # Live already ENABLED (ECS's default for a service created without it): not sent.
    for absent in ("availabilityZoneRebalancing", "serviceRegistries", "volumeConfigurations"):
        assert absent not in step["request"]
    assert "alarms" not in step["request"]["deploymentConfiguration"]


def test_a_service_created_with_every_key_has_them_live(app: App, sandbox: Any) -> None:
    """The worker under a new name: CreateService carries every key; the plan after the
    apply has nothing to do."""
    worker = app.dir / "taskdefs" / "worker.yaml.j2"
    worker.write_text(
        worker.read_text().replace(
            "containerDefinitions:",
            "volumes:\n  - {name: data, configuredAtLaunch: true}\ncontainerDefinitions:",
            1,
        )
    )
    app.edit(
        "deploy.yaml",
        "    desired_count: 1\n",
        "    name: worker-two\n    desired_count: 1\n"
        "    service_connect: {namespace: shop.local}\n"
        + REGISTRIES.replace("container_name: web, container_port: 8080", "port: 9000")
        + "    availability_zone_rebalancing: DISABLED\n"
        + VOLUMES,
    )
    app.edit(
        "deploy.yaml",
        "      maximum_percent: 100\n",
        "      maximum_percent: 100\n      alarms: {names: [web-5xx]}\n",
    )
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    lines = plan.output.splitlines()
    for shown in (
        "serviceConnectConfiguration.enabled: true",
        f"serviceConnectConfiguration.namespace: {NAMESPACE}",
        "availabilityZoneRebalancing: DISABLED",
        'deploymentConfiguration.alarms.alarmNames: ["web-5xx"]',
    ):
        assert f"        {shown}" in lines, shown
    assert "        serviceConnectConfiguration.logConfiguration: null" not in lines
    result = app.run("apply", "--yes", "--allow-downtime", revision=REV_A)
    assert result.exit_code == 0, result.output
    created = _web(sandbox, "worker-two")
    assert _primary(created)["serviceConnectConfiguration"] == {
        "enabled": True,
        "namespace": NAMESPACE,
    }
    assert created["serviceRegistries"] == [{"registryArn": REGISTRY, "port": 9000}]
    assert created["availabilityZoneRebalancing"] == "DISABLED"
    assert _primary(created)["volumeConfigurations"] == VOLUMES_API
    assert created["deploymentConfiguration"]["alarms"] == {
        "alarmNames": ["web-5xx"],
        "enable": True,
        "rollback": True,
    }
    again = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert again.exit_code == 0, again.output


def test_alarms_turned_off_and_left_out(app: App, sandbox: Any) -> None:
    _add_alarms(app, "      alarms: {names: [web-5xx]}\n")
    assert app.run("apply", "--yes", "--allow-downtime", revision=REV_A).exit_code == 0
    # Left out of deploy.yaml: UpdateService carries none, ECS keeps them.
    app.edit("deploy.yaml", "      alarms: {names: [web-5xx]}\n", "")
    app.edit("deploy.yaml", "    desired_count: 2\n", "    desired_count: 3\n")
    assert app.run("apply", "--yes", "--allow-downtime", revision=REV_A).exit_code == 0
    assert _web(sandbox)["deploymentConfiguration"]["alarms"]["alarmNames"] == ["web-5xx"]
    # Turned off: only `enable` is compared.
    _add_alarms(app, "      alarms: {enable: false}\n")
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert _service_lines(plan.output) == ["deploymentConfiguration.alarms.enable: true -> false"]
    assert app.run("apply", "--yes", "--allow-downtime", revision=REV_A).exit_code == 0
    assert _web(sandbox)["deploymentConfiguration"]["alarms"]["enable"] is False
    again = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert again.exit_code == 0, again.output


def test_order_and_ecs_defaults_are_no_change(app: App, sandbox: Any) -> None:
    """Alarm names in another order, the discovery name ECS fills in: the same."""
    sandbox.client("ecs").update_service(
        cluster="quickstart",
        service="web",
        serviceConnectConfiguration=SC_API | {"namespace": NAMESPACE},
        deploymentConfiguration={
            "alarms": {"alarmNames": ["web-5xx", "web-latency"], "enable": True, "rollback": True}
        },
    )
    sandbox.control.settle()
    assert (
        _primary(_web(sandbox))["serviceConnectConfiguration"]["services"][0]["discoveryName"]
        == "http"
    )
    _add_to_web(
        app,
        SERVICE_CONNECT.replace(
            "port_name: http\n", "port_name: http\n          discovery_name: http\n"
        ),
    )
    _add_alarms(app, "      alarms: {names: [web-latency, web-5xx]}\n")
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 0, plan.output


# -- verify ------------------------------------------------------------------------------


def test_verify_finds_missing_alarms(app: App) -> None:
    _add_alarms(app, "      alarms: {names: [web-5xx, web-errors, web-p99]}\n")
    result = app.run("verify", revision=REV_A)
    assert result.exit_code == 4, result.output
    text = " ".join(result.output.split())
    assert "deployment alarms web-errors, web-p99 do not exist in CloudWatch" in text
    assert "web-5xx" not in text.split("do not exist")[0].split("alarms")[-1]


def test_verify_finds_a_missing_namespace(app: App) -> None:
    _add_to_web(app, SERVICE_CONNECT.replace(NAMESPACE, "nowhere.local"))
    result = app.run("verify", revision=REV_A)
    assert result.exit_code == 4, result.output
    assert "Service Connect namespace nowhere.local does not exist in Cloud Map" in " ".join(
        result.output.split()
    )


def test_verify_finds_a_namespace_by_arn(app: App, sandbox: Any) -> None:
    arn = sandbox.client("servicediscovery").list_namespaces()["Namespaces"][0]["Arn"]
    _add_to_web(app, SERVICE_CONNECT.replace(NAMESPACE, f'"{arn}"'))
    assert "does not exist in Cloud Map" not in app.run("verify", revision=REV_A).output
    gone = arn.rsplit("/", 1)[0] + "/ns-0000000000000000"
    app.edit("deploy.yaml", arn, gone)
    result = app.run("verify", revision=REV_A)
    assert result.exit_code == 4, result.output
    assert f"namespace {gone} does not exist" in " ".join(result.output.split())


def test_verify_finds_a_port_name_the_task_definition_lacks(app: App) -> None:
    _add_to_web(app, SERVICE_CONNECT.replace("port_name: http", "port_name: grpc"))
    result = app.run("verify", revision=REV_A)
    assert result.exit_code == 4, result.output
    assert (
        "Service Connect port_name `grpc` is not the name of a port mapping in the task "
        "definition (named: http)" in " ".join(result.output.split())
    )


def test_verify_finds_a_registry_container_the_task_definition_lacks(app: App) -> None:
    _add_to_web(app, REGISTRIES.replace("container_port: 8080", "container_port: 9090"))
    result = app.run("verify", revision=REV_A)
    assert result.exit_code == 4, result.output
    assert (
        "service registry port 9090 is not a containerPort of container `web` (its ports: 8080)"
        in " ".join(result.output.split())
    )


# -- refused before any AWS call ---------------------------------------------------------


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        (
            "    service_overrides:\n      serviceConnectConfiguration: {enabled: true}\n",
            "services.web.service_overrides.serviceConnectConfiguration: "
            "`serviceConnectConfiguration` has a key of its own in deploy.yaml (write it as "
            "`service_connect:` on the service)",
        ),
        (
            "    service_overrides:\n      volumeConfigurations: []\n",
            "write it as `volume_configurations:` on the service",
        ),
        (
            "    service_connect:\n      services: [{port_name: http, client_alias: []}]\n",
            "services.web.service_connect.services[0].client_alias: unknown key `client_alias` "
            "(did you mean `client_aliases`?)",
        ),
        (
            "    service_connect:\n      services: [{discovery_name: web}]\n",
            "services.web.service_connect.services[0]: missing required key `port_name`",
        ),
        (
            "    service_registries: [{registry_arn: srv-1}]\n",
            "services.web.service_registries[0].registry_arn:",
        ),
        (
            "    availability_zone_rebalancing: SOMETIMES\n",
            "services.web.availability_zone_rebalancing: 'SOMETIMES' is not one of: ENABLED, "
            "DISABLED",
        ),
        (
            "    volume_configurations: [{name: data, managed_ebs_volume: {size_in_gib: 20}}]\n",
            "services.web.volume_configurations[0].managed_ebs_volume: missing required key "
            "`role_arn`",
        ),
    ],
    ids=["override-named", "override-volumes", "unknown", "required", "arn", "enum", "ebs-role"],
)
def test_bad_keys_are_refused_offline(app: App, sandbox: Any, yaml: str, message: str) -> None:
    _add_to_web(app, yaml)
    sandbox.control.reset_calls()
    result = app.run("validate", revision=REV_A)
    assert result.exit_code == 3, result.output
    assert "deploy.yaml:" in result.output
    assert message in " ".join(result.output.split()), result.output
    assert write_calls(sandbox.control.calls()) == []


def test_alarms_need_names_unless_off(app: App) -> None:
    _add_alarms(app, "      alarms: {rollback: true}\n")
    result = app.run("validate", revision=REV_A)
    assert result.exit_code == 3, result.output
    assert "services.web.deployment.alarms: missing required key `names`" in " ".join(
        result.output.split()
    )


# -- init ----------------------------------------------------------------------------------


def test_init_writes_the_keys_and_plans_no_changes(app: App, sandbox: Any, tmp_path: Path) -> None:
    _add_to_web(
        app,
        SERVICE_CONNECT + REGISTRIES + "    availability_zone_rebalancing: DISABLED\n" + VOLUMES,
    )
    _add_alarms(app, "      alarms: {names: [web-5xx], rollback: false}\n")
    assert app.run("apply", "--yes", "--allow-downtime", revision=REV_A).exit_code == 0

    out = tmp_path / "onboarded"
    result = CliRunner().invoke(
        cli,
        [
            "init",
            "--cluster",
            "quickstart",
            "--service",
            "web",
            "--service",
            "worker",
            "--dir",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    from ruamel.yaml import YAML

    web = YAML(typ="safe").load((out / "deploy.yaml").read_text())["services"]["web"]
    assert web["service_connect"] == {
        "enabled": True,
        "namespace": NAMESPACE,
        "services": [{"port_name": "http", "client_aliases": [{"port": 80, "dns_name": "web"}]}],
        "log_configuration": {
            "log_driver": "awslogs",
            "options": {"awslogs-group": "/ecs/quickstart/connect", "awslogs-region": "us-east-1"},
        },
    }
    assert web["service_registries"] == [
        {"registry_arn": REGISTRY, "container_name": "web", "container_port": 8080}
    ]
    assert web["availability_zone_rebalancing"] == "DISABLED"
    assert web["volume_configurations"] == [
        {
            "name": "data",
            "managed_ebs_volume": {
                "role_arn": ROLE,
                "size_in_gib": 20,
                "volume_type": "gp3",
                "tag_specifications": [{"resource_type": "volume", "tags": {"team": "shop"}}],
            },
        }
    ]
    assert web["deployment"]["alarms"] == {"names": ["web-5xx"], "enable": True, "rollback": False}
    onboarded = App(out, sandbox.endpoint_url)
    assert onboarded.run("validate").exit_code == 0
    plan = onboarded.run("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert plan.output.rstrip().endswith("No changes.")
