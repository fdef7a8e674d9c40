"""The production sample's service on the sandbox, as a team onboarding it would meet it:
created with every setting (capacity provider, placement, two target groups, tags,
ECS Exec, a service registry, a deployment alarm, autoscaling), scaled to 7 by
"autoscaling", then `init` -> `plan` says No changes; each setting changed in the
written file is planned as exactly that change, applied, and live; the count stays 7.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from ecsdeploy.cli import cli
from tests.apps import REV_A, App, copy_sample

REGION = "eu-west-1"
CLUSTER, SERVICE = "shop-prod", "shop-web"
RID = f"service/{CLUSTER}/{SERVICE}"


def _web(sandbox: Any) -> dict[str, Any]:
    svc: dict[str, Any] = sandbox.client("ecs", REGION).describe_services(
        cluster=CLUSTER, services=[SERVICE], include=["TAGS"]
    )["services"][0]
    return svc


@pytest.fixture
def onboarded(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    """The sample applied, the live count set to 7 (as autoscaling would), then `init`."""
    from ecsdeploy.sandbox.seed import seed_file

    folder = copy_sample("production", tmp_path)
    seeded = seed_file(folder / "deploy.yaml", endpoint_url=sandbox.endpoint_url, revision=REV_A)
    for name, value in seeded.environment.items():  # the HTTP check's host, to the sandbox
        monkeypatch.setenv(name, value)
    sample = App(folder, sandbox.endpoint_url)
    applied = sample.run("apply", "--yes", revision=REV_A)
    assert applied.exit_code == 0, applied.output
    sandbox.client("ecs", REGION).update_service(cluster=CLUSTER, service=SERVICE, desiredCount=7)
    sandbox.control.settle()
    assert _web(sandbox)["desiredCount"] == 7

    out = tmp_path / "onboarded"
    result = CliRunner().invoke(
        cli,
        [
            *("--endpoint-url", sandbox.endpoint_url, "--region", REGION, "init"),
            *("--cluster", CLUSTER, "--service", SERVICE, "--dir", str(out)),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return App(out, sandbox.endpoint_url)


def _edit(app: App, change: Any) -> None:
    yaml = YAML()
    yaml.preserve_quotes = True
    data = yaml.load(app.deploy_yaml.read_text())
    change(data["services"]["shop-web"])
    with app.deploy_yaml.open("w") as f:
        yaml.dump(data, f)


def _changed_fields(output: str) -> set[str]:
    """The `field: before -> after` lines of the plan, by field."""
    return {m.group(1) for m in re.finditer(r"^ {8}([\w.\-]+): .* -> ", output, re.M)}


def test_init_writes_every_setting_and_plans_no_changes(onboarded: App) -> None:
    web = YAML(typ="safe").load(onboarded.deploy_yaml.read_text())["services"]["shop-web"]
    assert "desired_count" not in web  # autoscaling's
    assert web["capacity_provider_strategy"] == [
        {"capacity_provider": "shop-asg", "weight": 1, "base": 2}
    ]
    assert [lb["target_group"] for lb in web["load_balancers"]] == [
        "shop-web",
        "shop-web-internal",
    ]
    assert web["placement"]["strategy"][0] == {
        "type": "spread",
        "field": "attribute:ecs.availability-zone",
    }
    assert web["tags"] == {"team": "shop", "cost-centre": "42"}
    assert web["enable_execute_command"] is True
    assert web["propagate_tags"] == "SERVICE"
    assert web["service_registries"][0]["container_name"] == "web"
    assert web["deployment"]["alarms"]["names"] == ["shop-web-5xx"]
    assert web["autoscaling"]["min"] == 2 and web["autoscaling"]["max"] == 12
    plan = onboarded.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 0, plan.output
    assert plan.output.rstrip().endswith("No changes."), plan.output


def _strategy(web: Any) -> None:
    web["capacity_provider_strategy"][0]["weight"] = 2


def _placement(web: Any) -> None:
    del web["placement"]["strategy"][1]


def _second_lb(web: Any) -> None:
    del web["load_balancers"][1]


def _tags(web: Any) -> None:
    web["tags"]["team"] = "shop-core"


def _exec(web: Any) -> None:
    web["enable_execute_command"] = False


def _propagate(web: Any) -> None:
    web["propagate_tags"] = "TASK_DEFINITION"


def _alarm_rollback(web: Any) -> None:
    web["deployment"]["alarms"]["rollback"] = False


def _cpu_target(web: Any) -> None:
    web["autoscaling"]["target_tracking"][0]["target"] = 70


def _grace(web: Any) -> None:
    web["health_check_grace_period"] = "90s"


CHANGES = [
    (_strategy, {"capacityProviderStrategy"}, ("capacityProviderStrategy", 0, "weight", 2)),
    (_placement, {"placementStrategy"}, None),
    (_second_lb, {"loadBalancers"}, None),
    (_tags, {"tags.team"}, None),
    (_exec, {"enableExecuteCommand"}, ("enableExecuteCommand", None, None, False)),
    (_propagate, {"propagateTags"}, ("propagateTags", None, None, "TASK_DEFINITION")),
    (_alarm_rollback, {"deploymentConfiguration.alarms.rollback"}, None),
    (_cpu_target, {"policies.shop-web-cpu.TargetValue"}, None),
    (_grace, {"healthCheckGracePeriodSeconds"}, ("healthCheckGracePeriodSeconds", None, None, 90)),
]


@pytest.mark.parametrize(
    ("change", "fields", "live"), CHANGES, ids=[c[0].__name__ for c in CHANGES]
)
def test_each_setting_changed_is_planned_alone_applied_and_the_count_kept(
    onboarded: App, sandbox: Any, change: Any, fields: set[str], live: Any
) -> None:
    _edit(onboarded, change)
    plan = onboarded.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    assert _changed_fields(plan.output) == fields, plan.output
    if not any(f.startswith(("policies.", "scheduled.")) for f in fields):
        # The service update goes without desiredCount: the plan says whose count it is.
        assert "desired count: kept (live 7, autoscaling's)" in plan.output, plan.output

    applied = onboarded.run("apply", "--yes", revision=REV_A)
    assert applied.exit_code == 0, applied.output
    svc = _web(sandbox)
    assert svc["desiredCount"] == 7  # never set back by a deploy
    if live is not None:
        field, index, key, value = live
        got = svc[field] if index is None else svc[field][index][key]
        assert got == value
    if "tags.team" in fields:
        assert {t["key"]: t["value"] for t in svc["tags"]}["team"] == "shop-core"
    if "loadBalancers" in fields:
        assert [lb["targetGroupArn"].split("/")[1] for lb in svc["loadBalancers"]] == ["shop-web"]
    if "deploymentConfiguration.alarms.rollback" in fields:
        assert svc["deploymentConfiguration"]["alarms"]["rollback"] is False
    if "policies.shop-web-cpu.TargetValue" in fields:
        policies = sandbox.client("application-autoscaling", REGION).describe_scaling_policies(
            ServiceNamespace="ecs", ResourceId=RID
        )["ScalingPolicies"]
        cpu = next(p for p in policies if p["PolicyName"] == "shop-web-cpu")
        assert cpu["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70

    again = onboarded.run("plan", "--detailed-exitcode", revision=REV_A)
    assert again.exit_code == 0, again.output
