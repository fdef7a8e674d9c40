"""Service settings beyond the rollout (ECS Exec, tags, placement, capacity providers,
service_overrides) and an omitted desired_count, planned and applied on the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.apps import REV_A, App, copy_fargate_for_sandbox, copy_sample, seed_app, write_calls
from tests.execute.conftest import fast


def _web(sandbox: Any, cluster: str = "quickstart", name: str = "web") -> dict[str, Any]:
    svc: dict[str, Any] = sandbox.client("ecs").describe_services(
        cluster=cluster, services=[name], include=["TAGS"]
    )["services"][0]
    return svc


def _add_to_web(app: App, yaml: str) -> None:
    app.edit("deploy.yaml", "    desired_count: 2\n", "    desired_count: 2\n" + yaml)


def _service_lines(output: str) -> list[str]:
    """The lines under `update service` in a plan's text."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "~ update service")
    found = []
    for line in lines[start + 1 :]:
        if not line.startswith("        "):
            break
        found.append(line.strip())
    return found


def _live(svc: dict[str, Any], field: str) -> Any:
    if field.startswith("tags."):
        return {t["key"]: t["value"] for t in svc.get("tags") or []}.get(field[5:])
    return svc.get(field)


CASES = [
    (
        "    enable_execute_command: true\n",
        ["enableExecuteCommand: false -> true"],
        {
            "enableExecuteCommand": True,
        },
    ),
    (
        "    propagate_tags: SERVICE\n",
        ["propagateTags: NONE -> SERVICE"],
        {
            "propagateTags": "SERVICE",
        },
    ),
    (
        "    tags: {team: shop, cost-centre: '42'}\n",
        [
            "tags.team: null -> shop",
            "tags.cost-centre: null -> 42",
        ],
        {"tags.team": "shop", "tags.cost-centre": "42"},
    ),
    (
        "    placement:\n      constraints: [{type: distinctInstance}]\n",
        ['placementConstraints: [] -> [{"type": "distinctInstance"}]'],
        {"placementConstraints": [{"type": "distinctInstance"}]},
    ),
    (
        "    placement:\n      strategy: [{type: binpack, field: memory}]\n",
        ['placementStrategy: [] -> [{"type": "binpack", "field": "memory"}]'],
        {"placementStrategy": [{"type": "binpack", "field": "memory"}]},
    ),
    (
        "    service_overrides:\n      enableECSManagedTags: true\n",
        ["enableECSManagedTags: false -> true"],
        {"enableECSManagedTags": True},
    ),
]


@pytest.mark.parametrize(
    ("yaml", "shown", "live"), CASES, ids=[c[0].split(":")[0].strip() for c in CASES]
)
def test_each_setting_is_planned_applied_and_then_unchanged(
    app: App, sandbox: Any, yaml: str, shown: list[str], live: dict[str, Any]
) -> None:
    _add_to_web(app, yaml)
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    # Exactly the field deploy.yaml added: nothing it does not mention is reset.
    assert sorted(_service_lines(plan.output)) == sorted(shown)
    assert "service worker (worker in cluster quickstart): no changes" in plan.output

    sandbox.control.reset_calls()
    result = app.run("apply", "--yes", "--allow-downtime", revision=REV_A)
    assert result.exit_code == 0, result.output
    svc = _web(sandbox)
    for field, value in live.items():
        assert _live(svc, field) == value, field
    calls = sandbox.control.calls()
    assert "ecs:RegisterTaskDefinition" not in calls
    if any(f.startswith("tags.") for f in live):
        # UpdateService takes no tags: TagResource on the service (and apply's lock).
        assert calls.get("ecs:TagResource", 0) >= 3

    again = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert again.exit_code == 0, again.output
    assert again.output.rstrip().endswith("No changes.")


def test_update_sends_only_the_changed_settings(app: App, tmp_path: Path) -> None:
    _add_to_web(app, "    enable_execute_command: true\n    tags: {team: shop}\n")
    out = tmp_path / "plan.json"
    plan = app.run("plan", "--out", str(out), revision=REV_A)
    assert plan.exit_code == 0, plan.output
    data = json.loads(out.read_text())
    web = next(s for s in data["services"] if s["key"] == "web")
    step = next(s for s in web["steps"] if s["kind"] == "update_service")
    assert step["request"]["enableExecuteCommand"] is True
    for absent in ("tags", "propagateTags", "placementConstraints", "capacityProviderStrategy"):
        assert absent not in step["request"]
    assert step["tag_resource"] == {
        "resourceArn": "arn:aws:ecs:us-east-1:123456789012:service/quickstart/web",
        "tags": [{"key": "team", "value": "shop"}],
    }


def _associate(sandbox: Any, *providers: str, default: list[dict[str, Any]] | None = None) -> None:
    """Capacity providers associated with the quickstart cluster, as ECS requires."""
    ecs = sandbox.client("ecs")
    for name in providers:
        if not name.startswith("FARGATE"):
            ecs.create_capacity_provider(
                name=name,
                autoScalingGroupProvider={
                    "autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:123456789012:"
                    f"autoScalingGroup:0:autoScalingGroupName/{name}",
                },
            )
    ecs.put_cluster_capacity_providers(
        cluster="quickstart",
        capacityProviders=list(providers),
        defaultCapacityProviderStrategy=default or [],
    )


def test_capacity_provider_strategy_change_is_a_new_deployment(app: App, sandbox: Any) -> None:
    _associate(sandbox, "main-asg")
    app.edit(
        "deploy.yaml",
        "    launch_type: EC2\n    desired_count: 2\n",
        "    capacity_provider_strategy:\n"
        "      - {capacity_provider: main-asg, weight: 1, base: 1}\n"
        "    desired_count: 2\n",
    )
    before = _web(sandbox)["deployments"][0]["id"]
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    assert _service_lines(plan.output) == [
        'capacityProviderStrategy: [] -> [{"capacityProvider": "main-asg", "weight": 1, '
        '"base": 1}]',
        "the capacity provider strategy changes: ECS starts a new deployment "
        "(forceNewDeployment), replacing every task",
    ]
    result = app.run("apply", "--yes", "--allow-downtime", revision=REV_A)
    assert result.exit_code == 0, result.output
    svc = _web(sandbox)
    assert svc["capacityProviderStrategy"] == [
        {"capacityProvider": "main-asg", "weight": 1, "base": 1}
    ]
    assert "launchType" not in svc
    assert svc["deployments"][0]["id"] != before
    again = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert again.output.rstrip().endswith("No changes."), again.output


def test_sandbox_refuses_a_provider_the_cluster_does_not_have(app: App, sandbox: Any) -> None:
    from botocore.exceptions import ClientError

    ecs = sandbox.client("ecs")
    with pytest.raises(ClientError, match="not associated with the cluster"):
        ecs.update_service(
            cluster="quickstart",
            service="web",
            capacityProviderStrategy=[{"capacityProvider": "other-asg", "weight": 1}],
            forceNewDeployment=True,
        )
    app.edit(
        "deploy.yaml",
        "    launch_type: EC2\n    desired_count: 2\n",
        "    capacity_provider_strategy: [{capacity_provider: other-asg, weight: 1}]\n"
        "    desired_count: 2\n",
    )
    # The pre-flight finds it first: apply refuses before any call ECS would refuse.
    result = app.run("apply", "--yes", revision=REV_A)
    assert result.exit_code == 4, result.output
    assert "capacity provider other-asg is not associated with the service's cluster" in (
        result.output
    )


def test_sandbox_gives_a_new_service_the_cluster_default_strategy(app: App, sandbox: Any) -> None:
    _associate(sandbox, "main-asg", default=[{"capacityProvider": "main-asg", "weight": 1}])
    ecs = sandbox.client("ecs")
    created = ecs.create_service(
        cluster="quickstart",
        serviceName="other",
        taskDefinition=_web(sandbox)["taskDefinition"],
        desiredCount=0,
    )["service"]
    assert created["capacityProviderStrategy"] == [
        {"capacityProvider": "main-asg", "weight": 1, "base": 0}
    ]
    assert "launchType" not in _web(sandbox, name="other")


def test_sandbox_refuses_a_strategy_change_without_a_new_deployment(app: App, sandbox: Any) -> None:
    from botocore.exceptions import ClientError

    _associate(sandbox, "main-asg")
    ecs = sandbox.client("ecs")
    with pytest.raises(ClientError, match="you must force a new deployment"):
        ecs.update_service(
            cluster="quickstart",
            service="web",
            capacityProviderStrategy=[{"capacityProvider": "main-asg", "weight": 1}],
        )
    with pytest.raises(ClientError, match="both a launch type and capacity provider"):
        ecs.create_service(
            cluster="quickstart",
            serviceName="other",
            taskDefinition=_web(sandbox)["taskDefinition"],
            desiredCount=0,
            launchType="EC2",
            capacityProviderStrategy=[{"capacityProvider": "main-asg", "weight": 1}],
        )


def test_sandbox_reports_ecs_defaults_for_settings_never_sent(app: App, sandbox: Any) -> None:
    svc = _web(sandbox)
    assert svc["enableExecuteCommand"] is False
    assert svc["propagateTags"] == "NONE"
    assert svc["placementConstraints"] == []
    assert svc["placementStrategy"] == []
    assert "platformVersion" not in svc  # an EC2 service has none


def test_platform_version_on_fargate(sandbox: Any, tmp_path: Path) -> None:
    folder = copy_fargate_for_sandbox(tmp_path)
    app = seed_app(sandbox, folder)
    # No HTTP check: its host is not in the sandbox.
    deploy = app.deploy_yaml.read_text()
    start = deploy.index("        http:\n")
    end = deploy.index("    health_check_grace_period:")
    app.deploy_yaml.write_text(deploy[:start] + deploy[end:])
    deploy = app.deploy_yaml.read_text()
    cluster, name = _fargate_names(app)
    assert _web(sandbox, cluster, name)["platformVersion"] == "LATEST"
    assert "    desired_count:" in deploy
    app.edit("deploy.yaml", "    desired_count:", "    platform_version: 1.4.0\n    desired_count:")
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    assert _service_lines(plan.output) == ["platformVersion: LATEST -> 1.4.0"]
    result = app.run("apply", "--yes", "--allow-downtime", revision=REV_A)
    assert result.exit_code == 0, result.output
    assert _web(sandbox, cluster, name)["platformVersion"] == "1.4.0"
    again = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert again.output.rstrip().endswith("No changes."), again.output


def _fargate_names(app: App) -> tuple[str, str]:
    from ecsdeploy.config import load_config

    config = load_config(app.deploy_yaml)
    service = next(iter(config.services.values()))
    return config.clusters[service.cluster].name, service.name


# -- desired_count left to the live service ------------------------------------------


@pytest.fixture
def seven(sandbox: Any, tmp_path: Path) -> App:
    """The quickstart with web seeded at 7 tasks, and deploy.yaml then omitting the count."""
    folder = copy_sample("quickstart", tmp_path)
    fast(folder)
    deploy = folder / "deploy.yaml"
    deploy.write_text(
        deploy.read_text().replace("    desired_count: 2\n", "    desired_count: 7\n")
    )
    app = seed_app(sandbox, folder)
    app.edit("deploy.yaml", "    desired_count: 7\n", "")
    return app


def test_omitted_desired_count_keeps_the_live_count(
    seven: App, sandbox: Any, tmp_path: Path
) -> None:
    assert _web(sandbox)["desiredCount"] == 7
    # A new release: the service is updated, its count left alone.
    seven.edit("deploy.yaml", "      timeout: 5m\n", "      timeout: 6m\n")
    seven.edit("taskdefs/web.json.j2", '"value": "8080"', '"value": "8081"')
    out = tmp_path / "plan.json"
    plan = seven.run("plan", "--out", str(out))
    assert plan.exit_code == 0, plan.output
    data = json.loads(out.read_text())
    step = next(
        s
        for svc in data["services"]
        if svc["key"] == "web"
        for s in svc["steps"]
        if s["kind"] == "update_service"
    )
    assert "desiredCount" not in step["request"]
    assert "desiredCount" not in [c["field"] for c in step["changes"]]
    assert step["notes"] == ["desired count: kept (live 7)"]
    text = seven.run("plan")
    assert "        desired count: kept (live 7)" in text.output.splitlines()

    result = seven.run("apply", "--yes", "--allow-downtime")
    assert result.exit_code == 0, result.output
    web = _web(sandbox)
    assert web["desiredCount"] == web["runningCount"] == 7
    assert seven.run("plan").output.rstrip().endswith("No changes.")


def test_omitted_desired_count_creates_with_one(sandbox: Any, tmp_path: Path) -> None:
    folder = copy_sample("quickstart", tmp_path)
    fast(folder)
    app = seed_app(sandbox, folder)
    # The worker under a new name: a service to create, with no count in deploy.yaml.
    # Its settings go in CreateService itself, tags included.
    app.edit(
        "deploy.yaml",
        "    desired_count: 1\n",
        "    name: worker-two\n"
        "    enable_execute_command: true\n"
        "    tags: {team: jobs}\n"
        "    scheduling_strategy: REPLICA\n"
        "    service_overrides: {enableECSManagedTags: true}\n",
    )
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    lines = plan.output.splitlines()
    for shown in (
        "desiredCount: 1",
        "enableExecuteCommand: true",
        "tags.team: jobs",
        "schedulingStrategy: REPLICA",
    ):
        assert f"        {shown}" in lines, shown
    sandbox.control.reset_calls()
    result = app.run("apply", "--yes", "--allow-downtime", revision=REV_A)
    assert result.exit_code == 0, result.output
    created = _web(sandbox, name="worker-two")
    assert created["desiredCount"] == 1
    assert created["enableExecuteCommand"] is True
    assert created["enableECSManagedTags"] is True
    assert {"key": "team", "value": "jobs"} in created["tags"]
    # CreateService-only fields are not compared with the service once it exists.
    again = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert again.exit_code == 0, again.output


# -- refused before any AWS call ------------------------------------------------------


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        (
            "    service_overrides:\n      enableExecuteCommand: true\n",
            "services.web.service_overrides.enableExecuteCommand: `enableExecuteCommand` has a "
            "key of its own in deploy.yaml (write it as `enable_execute_command:` on the service)",
        ),
        (
            "    service_overrides:\n      desiredCount: 3\n",
            "services.web.service_overrides.desiredCount: `desiredCount` has a key of its own "
            "in deploy.yaml (write it as `desired_count:` on the service)",
        ),
        (
            "    service_overrides:\n      loadBalancers: []\n",
            "write it as `load_balancers:` on the service",
        ),
        (
            "    service_overrides:\n      enableEcsManagedTags: true\n",
            "services.web.service_overrides.enableEcsManagedTags: `enableEcsManagedTags` is not "
            "a CreateService field (did you mean `enableECSManagedTags`?)",
        ),
        (
            "    service_overrides:\n      schedulingStrategy: SOMETIMES\n",
            "services.web.service_overrides.schedulingStrategy:",
        ),
        (
            "    service_overrides:\n      vpcLatticeConfigurations:\n"
            "        - {roleArn: arn:x, targetGroupArn: arn:y, portName: 80}\n",
            "services.web.service_overrides.vpcLatticeConfigurations[0].portName:",
        ),
        (
            "    capacity_provider_strategy: [{capacity_provider: FARGATE}]\n",
            "services.web.capacity_provider_strategy: `launch_type` and "
            "`capacity_provider_strategy` together: ECS takes one or the other",
        ),
    ],
    ids=["named", "desired", "load-balancers", "unknown", "enum", "nested", "launch-type"],
)
def test_bad_service_settings_are_refused_offline(
    app: App, sandbox: Any, yaml: str, message: str
) -> None:
    _add_to_web(app, yaml)
    sandbox.control.reset_calls()
    for command in ("validate", "plan"):
        result = app.run(command, revision=REV_A)
        assert result.exit_code == 3, result.output
        assert "deploy.yaml:" in result.output
        assert message in " ".join(result.output.split()), result.output
    assert sandbox.control.calls() == {}
    assert write_calls(sandbox.control.calls()) == []


def test_a_saved_plan_applies_the_tags_it_shows(app: App, sandbox: Any, tmp_path: Path) -> None:
    _add_to_web(app, "    tags: {team: shop}\n    propagate_tags: TASK_DEFINITION\n")
    out = tmp_path / "plan.json"
    plan = app.run("plan", "--allow-downtime", "--out", str(out), revision=REV_A)
    assert plan.exit_code == 0, plan.output
    result = app.run("apply", "--yes", str(out), revision=None)
    assert result.exit_code == 0, result.output
    web = _web(sandbox)
    assert _live(web, "tags.team") == "shop"
    assert web["propagateTags"] == "TASK_DEFINITION"
    assert app.run("plan", revision=REV_A).output.rstrip().endswith("No changes.")


def test_init_writes_every_setting_and_plans_no_changes(
    app: App, sandbox: Any, tmp_path: Path
) -> None:
    from click.testing import CliRunner
    from ruamel.yaml import YAML

    from ecsdeploy.cli import cli

    _associate(sandbox, "main-asg")

    app.edit(
        "deploy.yaml",
        "    launch_type: EC2\n    desired_count: 2\n",
        "    capacity_provider_strategy:\n"
        "      - {capacity_provider: main-asg, weight: 1, base: 1}\n"
        "    desired_count: 2\n"
        "    enable_execute_command: true\n"
        "    propagate_tags: SERVICE\n"
        "    tags: {team: shop, cost-centre: '42'}\n"
        "    placement:\n"
        "      constraints: [{type: distinctInstance}]\n"
        "      strategy: [{type: spread, field: 'attribute:ecs.availability-zone'}, "
        "{type: binpack, field: memory}]\n"
        "    service_overrides:\n      enableECSManagedTags: true\n",
    )
    result = app.run("apply", "--yes", "--allow-downtime", revision=REV_A)
    assert result.exit_code == 0, result.output

    out = tmp_path / "onboarded"
    init = CliRunner().invoke(
        cli,
        [
            *("--endpoint-url", sandbox.endpoint_url, "init", "--cluster", "quickstart"),
            *("--service", "web", "--service", "worker", "--dir", str(out)),
        ],
        catch_exceptions=False,
    )
    assert init.exit_code == 0, init.output
    web = YAML(typ="safe").load((out / "deploy.yaml").read_text())["services"]["web"]
    assert web["capacity_provider_strategy"] == [
        {"capacity_provider": "main-asg", "weight": 1, "base": 1}
    ]
    assert "launch_type" not in web
    assert web["enable_execute_command"] is True
    assert web["propagate_tags"] == "SERVICE"
    assert web["tags"] == {"team": "shop", "cost-centre": "42"}  # not ecsdeploy's own
    assert web["placement"] == {
        "constraints": [{"type": "distinctInstance"}],
        "strategy": [
            {"type": "spread", "field": "attribute:ecs.availability-zone"},
            {"type": "binpack", "field": "memory"},
        ],
    }
    assert web["service_overrides"] == {"enableECSManagedTags": True}
    onboarded = App(out, sandbox.endpoint_url)
    plan = onboarded.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 0, plan.output
    assert plan.output.rstrip().endswith("No changes."), plan.output


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (
            "[{capacity_provider: FARGATE, weight: 1}, {capacity_provider: main-asg, weight: 1}]",
            "services.web.capacity_provider_strategy: `capacity_provider_strategy` mixes "
            "Fargate and Auto Scaling group capacity providers",
        ),
        (
            "[{capacity_provider: FARGATE, base: 1}, {capacity_provider: FARGATE_SPOT, base: 2}]",
            "services.web.capacity_provider_strategy: `capacity_provider_strategy`: only one "
            "provider may have a `base`",
        ),
    ],
    ids=["mixed", "two-bases"],
)
def test_a_strategy_ecs_refuses_is_refused_offline(
    app: App, sandbox: Any, strategy: str, message: str
) -> None:
    app.edit(
        "deploy.yaml", "    launch_type: EC2\n", f"    capacity_provider_strategy: {strategy}\n"
    )
    sandbox.control.reset_calls()
    result = app.run("validate", revision=REV_A)
    assert result.exit_code == 3, result.output
    assert message in " ".join(result.output.split()), result.output
    assert sandbox.control.calls() == {}
