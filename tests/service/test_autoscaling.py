"""`autoscaling:` on the sandbox: Application Auto Scaling of a service's desired count
planned, applied, read back by init, and a live count that a deploy never resets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from ecsdeploy.cli import cli
from tests.apps import REV_A, ROOT, App

RID = "service/quickstart/web"
DIM = "ecs:service:DesiredCount"

SCALING = """    autoscaling:
      min: 2
      max: 20
      target_tracking:
        - metric: cpu
          target: 60
          scale_in_cooldown: 10m
          scale_out_cooldown: 1m
        - metric: alb_requests
          target: 1000
      scheduled:
        - name: nightly
          schedule: "cron(0 20 * * ? *)"
          timezone: Europe/Paris
          min: 1
          max: 4
        - name: morning
          schedule: "cron(0 6 * * ? *)"
          min: 2
"""


def _aas(sandbox: Any) -> Any:
    return sandbox.client("application-autoscaling")


def _web(sandbox: Any, name: str = "web") -> dict[str, Any]:
    svc: dict[str, Any] = sandbox.client("ecs").describe_services(
        cluster="quickstart", services=[name]
    )["services"][0]
    return svc


def _target(sandbox: Any, rid: str = RID) -> dict[str, Any] | None:
    found = _aas(sandbox).describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[rid])
    targets = found["ScalableTargets"]
    return dict(targets[0]) if targets else None


def _policies(sandbox: Any, rid: str = RID) -> dict[str, dict[str, Any]]:
    found = _aas(sandbox).describe_scaling_policies(ServiceNamespace="ecs", ResourceId=rid)
    return {p["PolicyName"]: p for p in found["ScalingPolicies"] if p["ResourceId"] == rid}


def _scheduled(sandbox: Any, rid: str = RID) -> dict[str, dict[str, Any]]:
    found = _aas(sandbox).describe_scheduled_actions(ServiceNamespace="ecs", ResourceId=rid)
    return {a["ScheduledActionName"]: a for a in found["ScheduledActions"]}


def _scaling_lines(output: str) -> list[str]:
    """The lines under the autoscaling step in a plan's text."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "autoscaling" in line and "service/" in line)
    found = []
    for line in lines[start + 1 :]:
        if not line[4:].startswith("    ") or not line.strip():
            break
        found.append(" ".join(line.split()))
    return found


def _with_scaling(app: App, yaml: str = SCALING) -> None:
    """web's desired_count replaced by `autoscaling:`."""
    app.edit("deploy.yaml", "    desired_count: 2\n", yaml)


def _applied(app: App, *args: str, revision: str | None = REV_A) -> None:
    result = app.run("apply", "--yes", "--allow-downtime", *args, revision=revision)
    assert result.exit_code == 0, result.output


def _no_changes(app: App) -> None:
    again = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert again.exit_code == 0, again.output
    assert again.output.rstrip().endswith("No changes."), again.output


@pytest.fixture
def scaled(app: App, sandbox: Any) -> App:
    """The quickstart with web's scaling applied."""
    _with_scaling(app)
    _applied(app)
    return app


def _label(sandbox: Any) -> str:
    elbv2 = sandbox.client("elbv2")
    group = elbv2.describe_target_groups(Names=["quickstart-web"])["TargetGroups"][0]
    lb = group["LoadBalancerArns"][0].split(":loadbalancer/")[1]
    return f"{lb}/{group['TargetGroupArn'].rsplit(':', 1)[1]}"


# -- planned, applied, then unchanged --------------------------------------------------


def test_scaling_is_planned_applied_and_then_unchanged(app: App, sandbox: Any) -> None:
    _with_scaling(app)
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    assert f"  + autoscaling: register scalable target {RID} (Application Auto Scaling)" in (
        plan.output.splitlines()
    )
    lines = _scaling_lines(plan.output)
    for shown in (
        "MinCapacity: 2",
        "MaxCapacity: 20",
        "policies.web-cpu.PredefinedMetricType: ECSServiceAverageCPUUtilization",
        "policies.web-cpu.TargetValue: 60",
        "policies.web-cpu.ScaleInCooldown: 600",
        "policies.web-cpu.ScaleOutCooldown: 60",
        f"policies.web-alb-requests.ResourceLabel: {_label(sandbox)}",
        "scheduled.nightly.Schedule: cron(0 20 * * ? *)",
        "scheduled.nightly.Timezone: Europe/Paris",
        "scheduled.morning.MinCapacity: 2",
    ):
        assert shown in lines, (shown, lines)
    assert "Plan: 0 images to push" in plan.output
    assert "1 autoscaling setup to change." in plan.output
    # Only web: the worker has no `autoscaling:` and nothing of it is read.
    assert "service worker (worker in cluster quickstart): no changes" in plan.output

    sandbox.control.reset_calls()
    _applied(app)
    calls = sandbox.control.calls()
    assert "ecs:UpdateService" not in calls  # the service itself does not change
    assert calls["application-autoscaling:RegisterScalableTarget"] == 1
    assert calls["application-autoscaling:PutScalingPolicy"] == 2
    assert calls["application-autoscaling:PutScheduledAction"] == 2

    target = _target(sandbox)
    assert target is not None
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 20)
    policies = _policies(sandbox)
    assert sorted(policies) == ["web-alb-requests", "web-cpu"]
    cpu = policies["web-cpu"]["TargetTrackingScalingPolicyConfiguration"]
    assert cpu["TargetValue"] == 60.0
    assert (cpu["ScaleInCooldown"], cpu["ScaleOutCooldown"]) == (600, 60)
    alb = policies["web-alb-requests"]["TargetTrackingScalingPolicyConfiguration"]
    assert alb["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "ALBRequestCountPerTarget",
        "ResourceLabel": _label(sandbox),
    }
    actions = _scheduled(sandbox)
    assert actions["nightly"]["ScalableTargetAction"] == {"MinCapacity": 1, "MaxCapacity": 4}
    assert actions["nightly"]["Timezone"] == "Europe/Paris"
    assert actions["morning"]["ScalableTargetAction"] == {"MinCapacity": 2}
    assert _web(sandbox)["desiredCount"] == 2
    _no_changes(app)


def test_a_live_count_survives_a_release_of_a_new_image(scaled: App, sandbox: Any) -> None:
    # The autoscaler scaled out under load.
    sandbox.client("ecs").update_service(cluster="quickstart", service="web", desiredCount=7)
    sandbox.control.settle()
    plan = scaled.run("plan")  # REV_B: a new image, a new revision
    assert plan.exit_code == 0, plan.output
    assert "        desired count: kept (live 7, autoscaling's)" in plan.output.splitlines()
    assert "desiredCount" not in plan.output
    assert "autoscaling of" not in plan.output  # the scaling itself is as it should be
    result = scaled.run("apply", "--yes", "--allow-downtime")
    assert result.exit_code == 0, result.output
    web = _web(sandbox)
    assert web["taskDefinition"].endswith(":2")
    assert web["desiredCount"] == web["runningCount"] == 7


def test_a_changed_target_plans_exactly_it(scaled: App, sandbox: Any) -> None:
    scaled.edit("deploy.yaml", "          target: 60\n", "          target: 70\n")
    plan = scaled.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    assert f"  ~ autoscaling of {RID} (Application Auto Scaling)" in plan.output.splitlines()
    assert _scaling_lines(plan.output) == ["policies.web-cpu.TargetValue: 60 -> 70"]
    assert "update service" not in plan.output

    saved = scaled.run("plan", "--format", "json", revision=REV_A)
    data = json.loads(saved.stdout)
    web = next(s for s in data["services"] if s["key"] == "web")
    step = next(s for s in web["steps"] if s["kind"] == "scaling")
    assert step["action"] == "~"
    assert step["register"] is None  # min and max stay
    assert [p["PolicyName"] for p in step["put_policies"]] == ["web-cpu"]
    assert step["put_scheduled"] == [] and step["delete_policies"] == []

    sandbox.control.reset_calls()
    _applied(scaled)
    calls = sandbox.control.calls()
    assert calls["application-autoscaling:PutScalingPolicy"] == 1
    assert "application-autoscaling:RegisterScalableTarget" not in calls
    config = _policies(sandbox)["web-cpu"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 70.0
    _no_changes(scaled)


def test_a_scheduled_action_no_longer_listed_is_deleted(scaled: App, sandbox: Any) -> None:
    scaled.edit(
        "deploy.yaml",
        '        - name: morning\n          schedule: "cron(0 6 * * ? *)"\n          min: 2\n',
        "",
    )
    plan = scaled.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    assert _scaling_lines(plan.output) == [
        "- scheduled.morning: Schedule cron(0 6 * * ? *), Timezone UTC, MinCapacity 2 (deleted)"
    ]
    _applied(scaled)
    assert sorted(_scheduled(sandbox)) == ["nightly"]
    assert sorted(_policies(sandbox)) == ["web-alb-requests", "web-cpu"]
    _no_changes(scaled)


def test_a_policy_no_longer_listed_is_deleted_and_min_max_change(scaled: App, sandbox: Any) -> None:
    scaled.edit(
        "deploy.yaml",
        "        - metric: alb_requests\n          target: 1000\n",
        "",
    )
    scaled.edit("deploy.yaml", "      min: 2\n      max: 20\n", "      min: 3\n      max: 20\n")
    plan = scaled.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    lines = _scaling_lines(plan.output)
    assert lines[0] == "MinCapacity: 2 -> 3"
    assert lines[1].startswith("- policies.web-alb-requests: PredefinedMetricType ALBRequest")
    assert "desired count: Application Auto Scaling raises it from 2 to 3 (min)" in lines
    _applied(scaled)
    assert sorted(_policies(sandbox)) == ["web-cpu"]
    assert _web(sandbox)["desiredCount"] == 3
    _no_changes(scaled)


def test_without_the_key_live_scaling_is_left_alone(scaled: App, sandbox: Any) -> None:
    text = scaled.deploy_yaml.read_text()
    start = text.index("    autoscaling:\n")
    end = text.index("    deployment:", start)
    scaled.deploy_yaml.write_text(text[:start] + text[end:])
    sandbox.control.reset_calls()
    _no_changes(scaled)
    assert not [c for c in sandbox.control.calls() if c.startswith("application-autoscaling")]
    assert _target(sandbox) is not None and len(_scheduled(sandbox)) == 2


def test_a_saved_plan_applies_the_scaling_it_shows(app: App, sandbox: Any, tmp_path: Path) -> None:
    _with_scaling(app)
    out = tmp_path / "plan.json"
    plan = app.run("plan", "--allow-downtime", "--out", str(out), revision=REV_A)
    assert plan.exit_code == 0, plan.output
    data = json.loads(out.read_text())
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(data)]
    assert errors == []
    # deploy.yaml edited after the plan: the file is applied as planned.
    app.edit("deploy.yaml", "          target: 60\n", "          target: 99\n")
    result = app.run("apply", "--yes", str(out), revision=None)
    assert result.exit_code == 0, result.output
    assert "autoscaling of service/quickstart/web up to date" in result.output
    config = _policies(sandbox)["web-cpu"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 60.0
    assert len(_scheduled(sandbox)) == 2
    app.edit("deploy.yaml", "          target: 99\n", "          target: 60\n")
    _no_changes(app)


def test_a_new_service_starts_at_min(app: App, sandbox: Any) -> None:
    # The worker under a new name: a service to create, with autoscaling.
    app.edit(
        "deploy.yaml",
        "    desired_count: 1\n",
        "    name: worker-two\n"
        "    autoscaling:\n      min: 3\n      max: 6\n"
        "      target_tracking: [{metric: memory, target: 75}]\n",
    )
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 2, plan.output
    assert "        desiredCount: 3" in plan.output.splitlines()
    create = plan.output.index("+ create service")
    scaling = plan.output.index(
        "+ autoscaling: register scalable target service/quickstart/worker-two"
    )
    assert create < scaling < plan.output.index("? wait up to")
    _applied(app)
    assert _web(sandbox, "worker-two")["desiredCount"] == 3
    rid = "service/quickstart/worker-two"
    target = _target(sandbox, rid)
    assert target is not None and (target["MinCapacity"], target["MaxCapacity"]) == (3, 6)
    assert sorted(_policies(sandbox, rid)) == ["worker-two-memory"]
    _no_changes(app)


# -- refused before any AWS call ------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    desired_count: 2\n",
            "    desired_count: 2\n    autoscaling: {min: 1, max: 3}\n",
            "services.web.desired_count: `desired_count` and `autoscaling` together: "
            "autoscaling owns the service's desired count",
        ),
        (
            "    desired_count: 2\n",
            "    autoscaling: {min: 5, max: 3}\n",
            "services.web.autoscaling.max: autoscaling max (3) is below min (5)",
        ),
        (
            "    desired_count: 1\n",
            "    autoscaling:\n      min: 1\n      max: 2\n"
            "      target_tracking: [{metric: alb_requests, target: 100}]\n",
            "services.worker.autoscaling.target_tracking[0].metric: metric `alb_requests` "
            "needs the service's load balancer",
        ),
        (
            "    desired_count: 2\n",
            "    autoscaling:\n      min: 1\n      max: 2\n"
            "      target_tracking: [{metric: cpu, target: 50}, {metric: cpu, target: 70}]\n",
            "two target-tracking policies are named `web-cpu`",
        ),
        (
            "    desired_count: 2\n",
            "    autoscaling:\n      min: 1\n      max: 2\n"
            "      scheduled: [{name: n, schedule: 'rate(1 day)', min: 4, max: 2}]\n",
            "services.web.autoscaling.scheduled[0].max: scheduled action max (2) is below its "
            "min (4)",
        ),
        (
            "    desired_count: 2\n",
            "    autoscaling:\n      min: 1\n      max: 2\n"
            "      scheduled: [{name: n, schedule: 'every day', min: 1}]\n",
            "services.web.autoscaling.scheduled[0].schedule:",
        ),
        (
            "    desired_count: 2\n",
            "    autoscaling:\n      min: 1\n      max: 2\n"
            "      target_tracking: [{metric: cpu, target: 50, scale_in_cooldown: 500ms}]\n",
            "scale_in_cooldown must be whole seconds",
        ),
    ],
    ids=[
        "desired-count",
        "min-max",
        "alb-no-lb",
        "same-name",
        "scheduled-min-max",
        "schedule",
        "cooldown",
    ],
)
def test_bad_scaling_is_refused_offline(
    app: App, sandbox: Any, old: str, new: str, message: str
) -> None:
    app.edit("deploy.yaml", old, new)
    sandbox.control.reset_calls()
    for command in ("validate", "plan"):
        result = app.run(command, revision=REV_A)
        assert result.exit_code == 3, result.output
        assert "deploy.yaml:" in result.output
        assert message in " ".join(result.output.split()), result.output
    assert sandbox.control.calls() == {}


def test_alb_requests_on_a_target_group_without_load_balancer_fails_the_plan(
    app: App, sandbox: Any
) -> None:
    elbv2 = sandbox.client("elbv2")
    vpc = elbv2.describe_target_groups(Names=["quickstart-web"])["TargetGroups"][0]["VpcId"]
    elbv2.create_target_group(Name="loose", Protocol="HTTP", Port=80, VpcId=vpc)
    app.edit("deploy.yaml", "target_group: quickstart-web", "target_group: loose")
    _with_scaling(app)
    result = app.run("plan", revision=REV_A)
    assert result.exit_code == 1, result.output
    assert "metric alb_requests needs the resource label of target group loose" in result.output
    verify = app.run("verify", revision=REV_A)
    assert verify.exit_code == 4, verify.output
    assert (
        "error: autoscaling tracks alb_requests, but target group loose is attached to no "
        "load balancer" in verify.output
    ), verify.output


# -- init reads it back ----------------------------------------------------------------


def test_init_writes_autoscaling_and_plans_no_changes(
    scaled: App, sandbox: Any, tmp_path: Path
) -> None:
    # A policy deploy.yaml cannot describe is noted and left alone.
    _aas(sandbox).put_scaling_policy(
        PolicyName="steps",
        ServiceNamespace="ecs",
        ResourceId=RID,
        ScalableDimension=DIM,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )
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
    assert "scaling policy steps (StepScaling) is not in deploy.yaml" in result.output
    text = (out / "deploy.yaml").read_text()
    web = text[text.index("\n  web:\n    cluster") : text.index("\n  worker:\n    cluster")]
    assert "desired_count" not in web
    assert "    autoscaling:  # the desired count is autoscaling's (live 2)\n" in web
    assert "        - metric: cpu\n          target: 60\n" in web
    assert "          scale_in_cooldown: 10m\n          scale_out_cooldown: 1m\n" in web
    assert '          schedule: "cron(0 20 * * ? *)"\n          timezone: Europe/Paris\n' in web
    assert "desired_count: 1" in text[text.index("\n  worker:\n    cluster") :]
    onboarded = App(out, sandbox.endpoint_url)
    plan = onboarded.run("plan", "--detailed-exitcode", revision=None)
    assert plan.exit_code == 0, plan.output
    assert plan.output.rstrip().endswith("No changes.")
    assert "steps" in _policies(sandbox)


# -- the sandbox validates like AWS -----------------------------------------------------


def test_sandbox_validates_scalable_targets_like_aws(app: App, sandbox: Any) -> None:
    aas = _aas(sandbox)
    ids = {"ServiceNamespace": "ecs", "ScalableDimension": DIM}
    with pytest.raises(ClientError, match="ECS service doesn't exist: service/quickstart/nope"):
        aas.register_scalable_target(
            **ids, ResourceId="service/quickstart/nope", MinCapacity=1, MaxCapacity=2
        )
    with pytest.raises(ClientError, match="ECS service doesn't exist: service/none/web"):
        aas.register_scalable_target(
            **ids, ResourceId="service/none/web", MinCapacity=1, MaxCapacity=2
        )
    with pytest.raises(ClientError, match="MinCapacity and MaxCapacity are required"):
        aas.register_scalable_target(**ids, ResourceId=RID, MinCapacity=1)
    with pytest.raises(ClientError, match="cannot be greater than maximum"):
        aas.register_scalable_target(**ids, ResourceId=RID, MinCapacity=3, MaxCapacity=2)
    with pytest.raises(ClientError) as err:
        aas.put_scheduled_action(
            **ids,
            ResourceId=RID,
            ScheduledActionName="n",
            Schedule="rate(1 day)",
            ScalableTargetAction={"MinCapacity": 1},
        )
    assert err.value.response["Error"]["Code"] == "ObjectNotFoundException"
    with pytest.raises(ClientError) as err:
        aas.put_scaling_policy(
            **ids,
            ResourceId=RID,
            PolicyName="p",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 50.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                },
            },
        )
    assert err.value.response["Error"]["Code"] == "ObjectNotFoundException"
    assert _target(sandbox) is None


def test_sandbox_registering_moves_the_count_into_min_max(app: App, sandbox: Any) -> None:
    aas = _aas(sandbox)
    ids = {"ServiceNamespace": "ecs", "ScalableDimension": DIM, "ResourceId": RID}
    assert _web(sandbox)["desiredCount"] == 2
    aas.register_scalable_target(**ids, MinCapacity=4, MaxCapacity=10)
    assert _web(sandbox)["desiredCount"] == 4
    sandbox.control.settle()
    assert _web(sandbox)["runningCount"] == 4
    aas.register_scalable_target(**ids, MinCapacity=1, MaxCapacity=3)
    assert _web(sandbox)["desiredCount"] == 3
    with pytest.raises(ClientError) as err:
        aas.delete_scaling_policy(**ids, PolicyName="nope")
    assert err.value.response["Error"]["Code"] == "ObjectNotFoundException"
    with pytest.raises(ClientError) as err:
        aas.delete_scheduled_action(**ids, ScheduledActionName="nope")
    assert err.value.response["Error"]["Code"] == "ObjectNotFoundException"


def test_sandbox_checks_the_resource_label_of_alb_requests(app: App, sandbox: Any) -> None:
    aas = _aas(sandbox)
    ids = {"ServiceNamespace": "ecs", "ScalableDimension": DIM, "ResourceId": RID}
    aas.register_scalable_target(**ids, MinCapacity=2, MaxCapacity=4)

    def put(metric: str, label: str | None) -> None:
        spec = {"PredefinedMetricType": metric} | ({"ResourceLabel": label} if label else {})
        aas.put_scaling_policy(
            **ids,
            PolicyName="p",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 100.0,
                "PredefinedMetricSpecification": spec,
            },
        )

    with pytest.raises(ClientError, match="ResourceLabel is required"):
        put("ALBRequestCountPerTarget", None)
    with pytest.raises(ClientError, match="is not attached to web"):
        put("ALBRequestCountPerTarget", "app/other/1/targetgroup/other/2")
    with pytest.raises(ClientError, match="cannot be specified for the metric type"):
        put("ECSServiceAverageCPUUtilization", _label(sandbox))
    put("ALBRequestCountPerTarget", _label(sandbox))
    assert list(_policies(sandbox)) == ["p"]
