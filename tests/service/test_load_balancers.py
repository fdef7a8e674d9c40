"""A service in several target groups (`load_balancers:`), and an existing service's load
balancers and network configuration compared and updated, on the sandbox."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ecsdeploy.cli import cli
from ecsdeploy.plan.serialize import from_dict
from tests.apps import REV_A, App, copy_fargate_for_sandbox, copy_sample, seed_app, write_calls
from tests.execute.conftest import HttpServer, fast, http_server  # noqa: F401

SINGLE = (
    "    load_balancer:\n"
    "      target_group: quickstart-web\n"
    "      container: web\n"
    "      port: 8080\n"
    "      checks:\n"
    "        targets_healthy: true   # new tasks' targets healthy, old ones drained\n"
)


def _entries(*groups: str) -> str:
    text = "    load_balancers:\n"
    for group in groups:
        text += f"      - target_group: {group}\n        container: web\n        port: 8080\n"
    return text


def _web(sandbox: Any, name: str = "web") -> dict[str, Any]:
    svc: dict[str, Any] = sandbox.client("ecs").describe_services(
        cluster="quickstart", services=[name]
    )["services"][0]
    return svc


def _arn(sandbox: Any, name: str) -> str:
    groups = sandbox.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"]
    return str(groups[0]["TargetGroupArn"])


def _health(sandbox: Any, name: str) -> list[str]:
    described = sandbox.client("elbv2").describe_target_health(TargetGroupArn=_arn(sandbox, name))
    return sorted(d["TargetHealth"]["State"] for d in described["TargetHealthDescriptions"])


def _target_group(sandbox: Any, name: str) -> str:
    """A target group behind the sandbox's load balancer, timed as seeding times its own."""
    from ecsdeploy.sandbox import seed

    elbv2 = sandbox.client("elbv2")
    balancer = elbv2.describe_load_balancers(Names=["ecsdeploy-sandbox"])["LoadBalancers"][0]
    arn = elbv2.create_target_group(
        Name=name,
        Protocol="HTTP",
        Port=8080,
        VpcId=balancer["VpcId"],
        TargetType="instance",
        HealthCheckPath="/",
        HealthCheckIntervalSeconds=seed.HEALTH_CHECK_INTERVAL,
        HealthyThresholdCount=seed.HEALTHY_THRESHOLD,
        UnhealthyThresholdCount=seed.UNHEALTHY_THRESHOLD,
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": str(seed.DEREGISTRATION_DELAY)}
        ],
    )
    ports = [
        listener["Port"]
        for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])[
            "Listeners"
        ]
    ]
    elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=max(ports) + 1,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}],
    )
    return str(arn)


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


@pytest.fixture
def two(sandbox: Any, tmp_path: Path) -> App:
    """The quickstart with web in two target groups (an internal one besides), seeded."""
    folder = copy_sample("quickstart", tmp_path)
    fast(folder)
    deploy = folder / "deploy.yaml"
    text = deploy.read_text()
    assert SINGLE in text
    deploy.write_text(text.replace(SINGLE, _entries("quickstart-web", "quickstart-web-int")))
    return seed_app(sandbox, folder)


# -- creating, and what the sandbox reports --------------------------------------------


def test_apply_creates_the_service_in_every_target_group(app: App, sandbox: Any) -> None:
    first, second = _target_group(sandbox, "quickstart-a"), _target_group(sandbox, "quickstart-b")
    # web under a new name: a service to create, in two target groups of its own.
    app.edit(
        "deploy.yaml", SINGLE, "    name: web-two\n" + _entries("quickstart-a", "quickstart-b")
    )
    plan = app.run("plan", revision=REV_A)
    assert plan.exit_code == 0, plan.output
    assert "targets healthy in quickstart-a, old targets drained" in plan.output
    assert "targets healthy in quickstart-b, old targets drained" in plan.output

    result = app.run("apply", "--yes", "--allow-downtime", revision=REV_A)
    assert result.exit_code == 0, result.output
    assert "targets: 2/2 healthy, 0 old draining in quickstart-a" in result.output
    assert "targets: 2/2 healthy, 0 old draining in quickstart-b" in result.output
    created = _web(sandbox, "web-two")
    assert created["loadBalancers"] == [
        {"targetGroupArn": first, "containerName": "web", "containerPort": 8080},
        {"targetGroupArn": second, "containerName": "web", "containerPort": 8080},
    ]
    assert _health(sandbox, "quickstart-a") == _health(sandbox, "quickstart-b") == ["healthy"] * 2
    again = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert again.exit_code == 0, again.output
    assert again.output.rstrip().endswith("No changes.")


def test_the_sandbox_registers_every_task_in_every_target_group(two: App, sandbox: Any) -> None:
    web = _web(sandbox)
    assert [lb["targetGroupArn"] for lb in web["loadBalancers"]] == [
        _arn(sandbox, "quickstart-web"),
        _arn(sandbox, "quickstart-web-int"),
    ]
    assert _health(sandbox, "quickstart-web") == _health(sandbox, "quickstart-web-int")
    assert _health(sandbox, "quickstart-web") == ["healthy"] * 2
    # The same entries in the other order are no change.
    two.edit("deploy.yaml", _entries("quickstart-web", "quickstart-web-int"), "")
    two.edit(
        "deploy.yaml",
        "    keep_revisions: 3\n    depends_on",
        _entries("quickstart-web-int", "quickstart-web") + "    keep_revisions: 3\n    depends_on",
    )
    plan = two.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 0, plan.output
    assert plan.output.rstrip().endswith("No changes.")


def test_a_new_release_is_checked_in_every_target_group(two: App, sandbox: Any) -> None:
    result = two.run("apply", "--yes", "--allow-downtime")
    assert result.exit_code == 0, result.output
    assert "targets: 2/2 healthy, 0 old draining in quickstart-web\n" in result.output + "\n"
    assert "targets: 2/2 healthy, 0 old draining in quickstart-web-int" in result.output
    # The old tasks' targets are gone from both; the new ones healthy in both.
    assert _health(sandbox, "quickstart-web") == _health(sandbox, "quickstart-web-int")
    assert _health(sandbox, "quickstart-web") == ["healthy"] * 2


def test_an_http_check_failing_on_the_second_target_group_rolls_back(
    two: App,
    sandbox: Any,
    http_server: HttpServer,  # noqa: F811
) -> None:
    http_server.status = 503
    two.edit(
        "deploy.yaml",
        "      - target_group: quickstart-web-int\n        container: web\n        port: 8080\n",
        "      - target_group: quickstart-web-int\n        container: web\n        port: 8080\n"
        f"        checks: {{http: {{url: '{http_server.url}', attempts: 2, interval: 100ms}}}}\n",
    )
    result = two.run("apply", "--yes", "--allow-downtime", "--service", "web")
    assert result.exit_code == 1, result.output
    assert (
        f"HTTP check failed after 2 attempts: GET {http_server.url}: status 503, expected 200 "
        "(load_balancers[1], target group quickstart-web-int)"
    ) in " ".join(result.output.split())
    assert "rolling back to quickstart-web:1" in result.output
    assert _web(sandbox)["taskDefinition"].endswith("quickstart-web:1")


# -- an existing service's load balancers change ------------------------------------------


def test_changing_the_second_target_group_is_planned_and_applied(two: App, sandbox: Any) -> None:
    alternative = _target_group(sandbox, "quickstart-web-alt")
    before = _web(sandbox)["deployments"][0]["id"]
    two.edit("deploy.yaml", "target_group: quickstart-web-int", "target_group: quickstart-web-alt")
    plan = two.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    assert _service_lines(plan.output) == [
        'loadBalancers: ["web:8080 in quickstart-web", "web:8080 in quickstart-web-int"] -> '
        '["web:8080 in quickstart-web", "web:8080 in quickstart-web-alt"]',
        "the load balancers change: ECS starts a new deployment, replacing every task",
    ]
    assert "service worker (worker in cluster quickstart): no changes" in plan.output

    sandbox.control.reset_calls()
    result = two.run("apply", "--yes", "--allow-downtime", revision=REV_A)
    assert result.exit_code == 0, result.output
    assert "ecs:RegisterTaskDefinition" not in sandbox.control.calls()
    web = _web(sandbox)
    assert [lb["targetGroupArn"] for lb in web["loadBalancers"]] == [
        _arn(sandbox, "quickstart-web"),
        alternative,
    ]
    assert web["deployments"][0]["id"] != before  # ECS replaced every task
    assert _health(sandbox, "quickstart-web-alt") == ["healthy"] * 2
    assert _health(sandbox, "quickstart-web-int") == []  # drained
    again = two.run("plan", "--detailed-exitcode", revision=REV_A)
    assert again.exit_code == 0, again.output
    assert again.output.rstrip().endswith("No changes.")


def test_a_saved_plan_carries_every_target_group(two: App, sandbox: Any, tmp_path: Path) -> None:
    alternative = _target_group(sandbox, "quickstart-web-alt")
    two.edit("deploy.yaml", "target_group: quickstart-web-int", "target_group: quickstart-web-alt")
    out = tmp_path / "plan.json"
    plan = two.run("plan", "--out", str(out), revision=REV_A)
    assert plan.exit_code == 0, plan.output
    data = json.loads(out.read_text())
    web = next(s for s in data["services"] if s["key"] == "web")
    update = next(s for s in web["steps"] if s["kind"] == "update_service")
    assert update["request"]["loadBalancers"] == [
        {
            "targetGroupArn": _arn(sandbox, "quickstart-web"),
            "containerName": "web",
            "containerPort": 8080,
        },
        {"targetGroupArn": alternative, "containerName": "web", "containerPort": 8080},
    ]
    assert "forceNewDeployment" not in update["request"]  # ECS deploys by itself
    assert update["notes"][-1].startswith("the load balancers change")
    wait = next(s for s in web["steps"] if s["kind"] == "wait")
    assert [lb["target_group"] for lb in wait["load_balancers"]] == [
        "quickstart-web",
        "quickstart-web-alt",
    ]
    # What it says is what apply does, deploy.yaml aside.
    two.edit("deploy.yaml", "target_group: quickstart-web-alt", "target_group: quickstart-web-int")
    result = two.run("apply", "--yes", str(out), revision=None)
    assert result.exit_code == 0, result.output
    assert "targets: 2/2 healthy, 0 old draining in quickstart-web-alt" in result.output
    live = [lb["targetGroupArn"] for lb in _web(sandbox)["loadBalancers"]]
    assert live == [_arn(sandbox, "quickstart-web"), alternative]


def test_a_format_2_plan_file_is_still_read(two: App, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    assert two.run("plan", "--out", str(out)).exit_code == 0
    data = json.loads(out.read_text())
    old = copy.deepcopy(data)
    old["format_version"] = 2
    for svc in old["services"]:
        for step in svc["steps"]:
            if step["kind"] == "wait":
                entries = step.pop("load_balancers")
                step["load_balancer"] = entries[0] if entries else None
    plan = from_dict(old)
    wait = next(sp for sp in plan.services if sp.key == "web").wait_step
    assert wait is not None
    assert [lb.target_group for lb in wait.load_balancers] == ["quickstart-web"]
    worker = next(sp for sp in plan.services if sp.key == "worker").wait_step
    assert worker is not None and worker.load_balancers == ()
    # And the format 3 file itself, both entries.
    wait = next(sp for sp in from_dict(data).services if sp.key == "web").wait_step
    assert wait is not None
    assert [(lb.target_group, lb.label) for lb in wait.load_balancers] == [
        ("quickstart-web", "load_balancers[0]"),
        ("quickstart-web-int", "load_balancers[1]"),
    ]


# -- refused, found ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        (
            SINGLE + _entries("quickstart-web"),
            "services.web.load_balancers: `load_balancer` and `load_balancers` together: "
            "`load_balancer` is the one-entry form of `load_balancers`",
        ),
        (
            _entries("quickstart-web", "quickstart-web"),
            "services.web.load_balancers[1].target_group: target group quickstart-web is "
            "already load_balancers[0]",
        ),
        (
            _entries("quickstart-web", "quickstart-web-int").replace(
                "port: 8080\n", "port: 9090\n"
            ),
            "container 'web' does not map load_balancers[0].port 9090",
        ),
        (
            "    load_balancers: []\n",
            "services.web.load_balancers:",
        ),
    ],
    ids=["both-keys", "twice", "port", "empty"],
)
def test_bad_load_balancers_are_refused_offline(
    app: App, sandbox: Any, yaml: str, message: str
) -> None:
    app.edit("deploy.yaml", SINGLE, yaml)
    sandbox.control.reset_calls()
    for command in ("validate", "plan"):
        result = app.run(command, revision=REV_A)
        assert result.exit_code == 3, result.output
        # Located: deploy.yaml's line, or the template and the service's key.
        assert "deploy.yaml:" in result.output or "web.json.j2: services.web:" in result.output
        assert message in " ".join(result.output.split()), result.output
    assert write_calls(sandbox.control.calls()) == []


def test_verify_names_the_entry_of_a_missing_target_group(two: App) -> None:
    two.edit("deploy.yaml", "target_group: quickstart-web-int", "target_group: nowhere")
    result = two.run("verify", "--service", "web")
    assert result.exit_code == 4, result.output
    assert "error: target group 'nowhere' (load_balancers[1]) does not exist" in result.output
    assert "fix load_balancers[1].target_group" in " ".join(result.output.split())
    # apply refuses it too, before any change.
    result = two.run("apply", "--yes", "--allow-downtime", revision=REV_A)
    assert result.exit_code == 4, result.output


# -- init ----------------------------------------------------------------------------------


def test_init_writes_every_target_group_and_plans_no_changes(
    two: App, sandbox: Any, tmp_path: Path
) -> None:
    from ruamel.yaml import YAML

    out = tmp_path / "onboarded"
    args = ["init", "--cluster", "quickstart", "--service", "web", "--service", "worker"]
    result = CliRunner().invoke(cli, [*args, "--dir", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = YAML(typ="safe").load((out / "deploy.yaml").read_text())
    web = data["services"]["web"]
    assert "load_balancer" not in web
    assert web["load_balancers"] == [
        {"target_group": "quickstart-web", "container": "web", "port": 8080},
        {"target_group": "quickstart-web-int", "container": "web", "port": 8080},
    ]
    onboarded = App(out, sandbox.endpoint_url)
    assert onboarded.run("validate").exit_code == 0
    plan = onboarded.run("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert plan.output.rstrip().endswith("No changes.")


# -- the network configuration of an existing service ---------------------------------------


def test_a_network_change_is_planned_and_applied(sandbox: Any, tmp_path: Path) -> None:
    folder = copy_fargate_for_sandbox(tmp_path)
    app = seed_app(sandbox, folder)
    deploy = app.deploy_yaml.read_text()
    start = deploy.index("        http:\n")  # its host is not in the sandbox
    app.deploy_yaml.write_text(deploy[:start] + deploy[deploy.index("    health_check_grace")])
    ecs = sandbox.client("ecs")
    live = ecs.describe_services(cluster="billing", services=["billing-api"])["services"][0]
    awsvpc = live["networkConfiguration"]["awsvpcConfiguration"]
    subnets = ", ".join(reversed(awsvpc["subnets"]))  # another order: no change
    groups = ", ".join(awsvpc["securityGroups"])
    network = f"    network:\n      subnets: [{subnets}]\n      security_groups: [{groups}]\n"
    app.edit("deploy.yaml", "    desired_count:", network + "    desired_count:")
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 0, plan.output
    assert plan.output.rstrip().endswith("No changes.")

    app.edit(
        "deploy.yaml", "    desired_count:", "      assign_public_ip: true\n    desired_count:"
    )
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    assert _service_lines(plan.output) == [
        "networkConfiguration.awsvpcConfiguration.assignPublicIp: DISABLED -> ENABLED",
        "the network configuration change: ECS starts a new deployment, replacing every task",
    ]
    result = app.run("apply", "--yes", "--allow-downtime", revision=REV_A)
    assert result.exit_code == 0, result.output
    live = ecs.describe_services(cluster="billing", services=["billing-api"])["services"][0]
    now = live["networkConfiguration"]["awsvpcConfiguration"]
    assert sorted(now["subnets"]) == sorted(awsvpc["subnets"])
    assert now["securityGroups"] == awsvpc["securityGroups"]
    assert now["assignPublicIp"] == "ENABLED"
    assert live["deployments"][0]["networkConfiguration"]["awsvpcConfiguration"] == now
    again = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert again.exit_code == 0, again.output
