"""`scheduling_strategy: DAEMON` end to end on the sandbox: the quickstart's web as a
daemon (one task on each of 3 container instances) — deployed, released, broken and
rolled back, verified, refused offline, and onboarded by init."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from ecsdeploy.cli import cli
from tests.apps import REV_A, REV_B, App, copy_sample, seed_app, write_calls
from tests.execute.conftest import fast

CLUSTER = "quickstart"


def daemon_folder(tmp_path: Path, minimum: int | None = 50) -> Path:
    """The quickstart with web as a DAEMON service (no count, no maximum_percent)."""
    folder = copy_sample("quickstart", tmp_path)
    fast(folder)
    deploy = folder / "deploy.yaml"
    text = deploy.read_text()
    text = text.replace("    desired_count: 2\n", "    scheduling_strategy: DAEMON\n", 1)
    text = text.replace("      maximum_percent: 200\n", "", 1)
    if minimum is None:
        text = text.replace("      minimum_healthy_percent: 50\n", "", 1)
    else:
        text = text.replace(
            "      minimum_healthy_percent: 50\n", f"      minimum_healthy_percent: {minimum}\n", 1
        )
    deploy.write_text(text)
    return folder


@pytest.fixture
def app(sandbox: Any, tmp_path: Path) -> App:
    return seed_app(sandbox, daemon_folder(tmp_path), instances=3)


def web(sandbox: Any, name: str = "web") -> dict[str, Any]:
    found: dict[str, Any] = sandbox.client("ecs").describe_services(
        cluster=CLUSTER, services=[name]
    )["services"][0]
    return found


def tasks(sandbox: Any, name: str = "web") -> list[dict[str, Any]]:
    ecs = sandbox.client("ecs")
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName=name)["taskArns"]
    found: list[dict[str, Any]] = (
        ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []
    )
    return found


def instances(sandbox: Any) -> list[str]:
    found: list[str] = sandbox.client("ecs").list_container_instances(cluster=CLUSTER)[
        "containerInstanceArns"
    ]
    return found


def one_per_instance(sandbox: Any, name: str = "web") -> bool:
    return Counter(t["containerInstanceArn"] for t in tasks(sandbox, name)) == Counter(
        dict.fromkeys(instances(sandbox), 1)
    )


def new_release(app: App, port: str = "8081") -> None:
    app.edit(
        "taskdefs/web.json.j2",
        '{"name": "PORT", "value": "8080"}',
        f'{{"name": "PORT", "value": "{port}"}}',
    )


# --- deployed, released, rolled back --------------------------------------------------


def test_daemon_runs_one_task_per_instance_and_plans_no_changes(app: App, sandbox: Any) -> None:
    svc = web(sandbox)
    assert svc["schedulingStrategy"] == "DAEMON"
    assert (svc["desiredCount"], svc["runningCount"]) == (3, 3)
    assert svc["deploymentConfiguration"]["maximumPercent"] == 100
    assert one_per_instance(sandbox)
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 0, plan.output
    assert plan.output.rstrip().endswith("No changes.")


def test_new_release_rolls_out_instance_by_instance(app: App, sandbox: Any, tmp_path: Path) -> None:
    new_release(app)
    out = tmp_path / "plan.json"
    plan = app.run("plan", "--out", str(out))
    assert plan.exit_code == 0, plan.output
    assert "        desired count: one task per container instance (live 3)" in plan.output
    assert "running tasks == desired count (one per container instance)" in plan.output
    data = json.loads(out.read_text())
    step = next(
        s
        for svc in data["services"]
        if svc["key"] == "web"
        for s in svc["steps"]
        if s["kind"] == "update_service"
    )
    assert "desiredCount" not in step["request"]
    assert "schedulingStrategy" not in step["request"]  # sent on create only

    result = app.run("apply", "--yes")
    assert result.exit_code == 0, result.output
    assert "web: COMPLETED: 3/3 running" in result.output
    svc = web(sandbox)
    assert (svc["desiredCount"], svc["runningCount"]) == (3, 3)
    assert {t["taskDefinitionArn"] for t in tasks(sandbox)} == {svc["taskDefinition"]}
    assert svc["taskDefinition"].endswith("quickstart-web:2")
    assert one_per_instance(sandbox)
    assert app.run("plan").output.rstrip().endswith("No changes.")


def test_broken_release_is_rolled_back(app: App, sandbox: Any) -> None:
    before = web(sandbox)["taskDefinition"]
    sandbox.control.break_service("web")
    new_release(app)
    result = app.run("apply", "--yes")
    assert result.exit_code == 1, result.output
    assert "ECS rolled the service back to quickstart-web:1" in result.output
    assert "Apply failed: 1 of 2 services ok." in result.output
    svc = web(sandbox)
    assert svc["taskDefinition"] == before
    assert (svc["desiredCount"], svc["runningCount"]) == (3, 3)
    assert one_per_instance(sandbox)


def test_apply_creates_a_daemon_service(app: App, sandbox: Any, tmp_path: Path) -> None:
    # The worker under a new name, as a daemon: created with no desiredCount.
    app.edit(
        "deploy.yaml",
        "    desired_count: 1\n    deployment:\n      # No load balancer, nothing to keep "
        "serving: stop the old task, then start the new one.\n"
        "      minimum_healthy_percent: 0\n      poll_interval: 100ms\n"
        "      maximum_percent: 100\n",
        "    name: agent\n    scheduling_strategy: DAEMON\n"
        "    deployment:\n      poll_interval: 100ms\n",
    )
    out = tmp_path / "plan.json"
    plan = app.run("plan", "--out", str(out), revision=REV_A)
    assert plan.exit_code == 0, plan.output
    lines = plan.output.splitlines()
    assert "        schedulingStrategy: DAEMON" in lines
    assert "        deploymentConfiguration.minimumHealthyPercent: 0" in lines
    assert "        deploymentConfiguration.maximumPercent: 100" in lines
    data = json.loads(out.read_text())
    step = next(
        s
        for svc in data["services"]
        if svc["key"] == "worker"
        for s in svc["steps"]
        if s["kind"] == "create_service"
    )
    assert step["request"]["schedulingStrategy"] == "DAEMON"
    assert "desiredCount" not in step["request"]
    assert "desiredCount" not in [c["field"] for c in step["changes"]]

    result = app.run("apply", "--yes", "--allow-downtime", revision=REV_A)
    assert result.exit_code == 0, result.output
    agent = web(sandbox, "agent")
    assert agent["schedulingStrategy"] == "DAEMON"
    assert (agent["desiredCount"], agent["runningCount"]) == (3, 3)
    assert one_per_instance(sandbox, "agent")
    again = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    scheduling_strategy: DAEMON\n",
            "",
            "service `web`: deploy.yaml says no scheduling_strategy (REPLICA) but web is a "
            "DAEMON service; ECS cannot change a service's scheduling strategy, so the service "
            "must be recreated",
        ),
        (
            "    desired_count: 1\n",
            "    scheduling_strategy: DAEMON\n",
            "service `worker`: deploy.yaml says scheduling_strategy: DAEMON but worker is a "
            "REPLICA service; ECS cannot change a service's scheduling strategy, so the "
            "service must be recreated",
        ),
    ],
    ids=["daemon-to-replica", "replica-to-daemon"],
)
def test_a_strategy_change_is_a_plan_error(
    app: App, sandbox: Any, old: str, new: str, message: str
) -> None:
    app.edit("deploy.yaml", old, new)
    sandbox.control.reset_calls()
    for command in ("plan", "apply"):
        result = app.run(command, "--yes") if command == "apply" else app.run(command)
        assert result.exit_code == 1, result.output
        assert message in " ".join(result.output.split()), result.output
        assert "write the live service's `scheduling_strategy` in deploy.yaml" in " ".join(
            result.output.split()
        )
    assert write_calls(sandbox.control.calls(), lock_aside=True) == []


# --- verify -----------------------------------------------------------------------------


def test_verify_passes_a_daemon_that_keeps_instances_serving(app: App) -> None:
    result = app.run("verify", "--service", "web")
    assert result.exit_code == 0, result.output
    assert "minimum_healthy_percent" not in result.output
    assert "maximum_percent" not in result.output


@pytest.mark.parametrize(
    ("minimum", "shown"),
    [
        (
            0,
            [
                "DAEMON service on 3 instances with minimum_healthy_percent 0: no task has to "
                "stay healthy during an update (ceil(3 x 0%) = 0), so ECS may replace the task "
                "on every instance at once",
                "set minimum_healthy_percent: 50 (keeps 2 of 3 instances serving while the "
                "others are replaced)",
            ],
        ),
        (
            100,
            [
                "DAEMON service on 3 instances with minimum_healthy_percent 100: all 3 tasks "
                "must keep running (ceil(3 x 100%)), and ECS never starts a second task on an "
                "instance, so it can replace none",
                "set minimum_healthy_percent: 50 (ECS then replaces 1 at a time)",
            ],
        ),
    ],
    ids=["all-at-once", "no-progress"],
)
def test_verify_judges_the_daemon_arithmetic(app: App, minimum: int, shown: list[str]) -> None:
    app.edit(
        "deploy.yaml",
        "      minimum_healthy_percent: 50\n",
        f"      minimum_healthy_percent: {minimum}\n",
    )
    result = app.run("verify", "--service", "web")
    assert result.exit_code == 4, result.output
    flat = " ".join(result.output.split())
    for text in shown:
        assert text in flat, result.output
    # No REPLICA arithmetic: spare capacity and maximum_percent do not apply.
    assert "maximum_percent" not in flat
    assert "extra task" not in flat


def test_verify_finds_a_cluster_without_instances(app: App, sandbox: Any) -> None:
    ecs = sandbox.client("ecs")
    for arn in instances(sandbox):
        ecs.deregister_container_instance(cluster=CLUSTER, containerInstance=arn, force=True)
    assert sandbox.control.settle()
    assert web(sandbox)["desiredCount"] == 0
    result = app.run("verify", "--service", "web")
    assert result.exit_code == 4, result.output
    assert (
        "the cluster has no ACTIVE container instance for the DAEMON service to run on"
        in " ".join(result.output.split())
    )


# --- refused before any AWS call ----------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    scheduling_strategy: DAEMON\n",
            "    scheduling_strategy: DAEMON\n    desired_count: 3\n",
            "services.web.desired_count: `desired_count` with `scheduling_strategy: DAEMON`: "
            "ECS runs one task on each container instance and sets the count itself (remove "
            "`desired_count`",
        ),
        (
            "    launch_type: EC2\n    scheduling_strategy: DAEMON\n",
            "    launch_type: FARGATE\n    scheduling_strategy: DAEMON\n",
            "services.web.launch_type: `launch_type: FARGATE` with `scheduling_strategy: "
            "DAEMON`: Fargate has no container instances",
        ),
        (
            "    launch_type: EC2\n    scheduling_strategy: DAEMON\n",
            "    scheduling_strategy: DAEMON\n"
            "    capacity_provider_strategy: [{capacity_provider: main-asg}]\n",
            "services.web.capacity_provider_strategy: `capacity_provider_strategy` with "
            "`scheduling_strategy: DAEMON`: ECS takes no capacity provider strategy",
        ),
        (
            "    scheduling_strategy: DAEMON\n",
            "    scheduling_strategy: DAEMON\n"
            "    placement:\n      strategy: [{type: spread, field: instanceId}]\n",
            "services.web.placement.strategy: `placement.strategy` with `scheduling_strategy: "
            "DAEMON`: ECS takes no placement strategy",
        ),
        (
            "      minimum_healthy_percent: 50\n",
            "      minimum_healthy_percent: 50\n      maximum_percent: 200\n",
            "services.web.deployment.maximum_percent: `maximum_percent: 200` with "
            "`scheduling_strategy: DAEMON`: ECS takes only 100",
        ),
        (
            "    scheduling_strategy: DAEMON\n",
            "    service_overrides: {schedulingStrategy: DAEMON}\n",
            "services.web.service_overrides.schedulingStrategy: `schedulingStrategy` has a key "
            "of its own in deploy.yaml (write it as `scheduling_strategy:` on the service)",
        ),
        (
            "    scheduling_strategy: DAEMON\n",
            "    scheduling_strategy: daemon\n",
            "services.web.scheduling_strategy:",
        ),
    ],
    ids=[
        "desired-count",
        "fargate",
        "capacity-providers",
        "placement-strategy",
        "maximum-percent",
        "override",
        "lowercase",
    ],
)
def test_bad_daemon_settings_are_refused_offline(
    app: App, sandbox: Any, old: str, new: str, message: str
) -> None:
    app.edit("deploy.yaml", old, new)
    sandbox.control.reset_calls()
    for command in ("validate", "plan"):
        result = app.run(command)
        assert result.exit_code == 3, result.output
        assert "deploy.yaml:" in result.output
        assert message in " ".join(result.output.split()), result.output
    assert sandbox.control.calls() == {}


# --- init ---------------------------------------------------------------------------------


def test_init_onboards_a_daemon(app: App, sandbox: Any, tmp_path: Path) -> None:
    out = tmp_path / "onboarded"
    result = CliRunner().invoke(
        cli,
        [
            "init",
            "--cluster",
            CLUSTER,
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
    onboarded = App(out, sandbox.endpoint_url)
    text = onboarded.deploy_yaml.read_text()
    assert (
        "    scheduling_strategy: DAEMON  # one task on each container instance (runs 3 now)\n"
        in text
    )
    data = YAML(typ="safe").load(text)
    assert "desired_count" not in data["services"]["web"]
    assert data["services"]["worker"]["desired_count"] == 1
    assert "scheduling_strategy" not in data["services"]["worker"]
    plan = onboarded.run("plan", "--detailed-exitcode", revision=REV_B)
    assert plan.exit_code == 0, plan.output
    assert plan.output.rstrip().endswith("No changes.")
