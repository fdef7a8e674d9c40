"""Planning `autoscaling:` on hand-made live state: normalised comparison, what is left
alone, the desired-count notes, the file round trip, the verify rules and init."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from ecsdeploy.config.model import (
    Autoscaling,
    LoadBalancer,
    ScheduledScaling,
    Service,
    TargetTracking,
)
from ecsdeploy.init import LiveService, scaffold
from ecsdeploy.plan.model import Action, ScalingStep
from ecsdeploy.plan.scaling import scaling_step
from ecsdeploy.plan.serialize import _step, _step_from
from ecsdeploy.scaling import ScalingState, resource_label
from ecsdeploy.verify.rules import ServiceFacts, TargetGroupFacts, scaling_findings

RID = "service/main/web"
IDS = {
    "ServiceNamespace": "ecs",
    "ResourceId": RID,
    "ScalableDimension": "ecs:service:DesiredCount",
}
LABEL = "app/shop/50dc6c495c0c9188/targetgroup/web/73e2d6bc24d8a067"


def service(scaling: Autoscaling | None, *, lb: bool = True) -> Service:
    return Service(
        key="web",
        cluster="main",
        name="web",
        task_definition=Path("/x/web.json.j2"),
        load_balancers=(LoadBalancer(target_group="web", container="web", port=80),) if lb else (),
        autoscaling=scaling,
    )


SCALING = Autoscaling(
    min=2,
    max=20,
    target_tracking=(
        TargetTracking("cpu", 60.0, "web-cpu", scale_out_cooldown=60.0),
        TargetTracking("alb_requests", 1000.0, "web-alb-requests"),
    ),
    scheduled=(ScheduledScaling("nightly", "cron(0 20 * * ? *)", None, 1, 4),),
)


def live_as_aws_shows_it() -> ScalingState:
    """SCALING as DescribeScalingPolicies may answer it: defaults left out, floats,
    another order."""
    return ScalingState(
        target={**IDS, "MinCapacity": 2, "MaxCapacity": 20},
        policies=(
            {
                **IDS,
                "PolicyName": "web-alb-requests",
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": 1000.0,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ALBRequestCountPerTarget",
                        "ResourceLabel": LABEL,
                    },
                },
            },
            {
                **IDS,
                "PolicyName": "web-cpu",
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": 60.0,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                    },
                    "ScaleOutCooldown": 60,
                    "ScaleInCooldown": 300,
                    "DisableScaleIn": False,
                },
            },
        ),
        scheduled=(
            {
                **IDS,
                "ScheduledActionName": "nightly",
                "Schedule": "cron(0 20 * * ? *)",
                "Timezone": "UTC",
                "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 4},
            },
        ),
    )


def plan(
    scaling: Autoscaling | None,
    state: ScalingState | None,
    live_count: int | None = 2,
    label: str | None = LABEL,
) -> tuple[ScalingStep | None, list[str]]:
    errors: list[str] = []
    return scaling_step(service(scaling), "main", live_count, state, label, errors), errors


def test_the_same_setup_as_aws_shows_it_plans_nothing() -> None:
    assert plan(SCALING, live_as_aws_shows_it()) == (None, [])


def test_no_autoscaling_key_leaves_live_scaling_alone() -> None:
    assert plan(None, live_as_aws_shows_it()) == (None, [])


def test_a_new_target_registers_min_and_max_first() -> None:
    step, errors = plan(SCALING, None, live_count=None)
    assert errors == [] and step is not None
    assert step.action == Action.CREATE
    assert step.register == {**IDS, "MinCapacity": 2, "MaxCapacity": 20}
    assert [p["PolicyName"] for p in step.put_policies] == ["web-cpu", "web-alb-requests"]
    cpu = step.put_policies[0]["TargetTrackingScalingPolicyConfiguration"]
    assert cpu == {
        "TargetValue": 60.0,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
        },
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 60,
        "DisableScaleIn": False,
    }
    alb = step.put_policies[1]["TargetTrackingScalingPolicyConfiguration"]
    assert alb["PredefinedMetricSpecification"]["ResourceLabel"] == LABEL
    assert step.put_scheduled == (
        {
            **IDS,
            "ScheduledActionName": "nightly",
            "Schedule": "cron(0 20 * * ? *)",
            "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 4},
            "Timezone": "UTC",
        },
    )


def test_a_bound_dropped_from_a_scheduled_action_recreates_it() -> None:
    fewer = replace(SCALING, scheduled=(ScheduledScaling("nightly", "cron(0 20 * * ? *)", min=1),))
    step, _ = plan(fewer, live_as_aws_shows_it())
    assert step is not None
    assert [(c.field, c.before, c.after) for c in step.changes] == [
        ("scheduled.nightly.MaxCapacity", 4, None)
    ]
    assert step.delete_scheduled == ({**IDS, "ScheduledActionName": "nightly"},)
    assert step.put_scheduled[0]["ScalableTargetAction"] == {"MinCapacity": 1}


def test_unmanaged_policies_are_left_alone_with_a_note() -> None:
    live = live_as_aws_shows_it()
    step_policy = {**IDS, "PolicyName": "steps", "PolicyType": "StepScaling"}
    live = replace(live, policies=(*live.policies, step_policy))
    assert plan(SCALING, live) == (None, [])  # nothing else changes: no step at all
    fewer = replace(SCALING, target_tracking=SCALING.target_tracking[:1])
    step, _ = plan(fewer, live)
    assert step is not None
    assert [d["PolicyName"] for d in step.delete_policies] == ["web-alb-requests"]
    assert any("policy steps (StepScaling) is left as it is" in n for n in step.notes)


def test_min_and_max_moving_the_live_count_are_noted() -> None:
    raised, _ = plan(replace(SCALING, min=5), live_as_aws_shows_it(), live_count=3)
    assert raised is not None
    assert [(c.field, c.before, c.after) for c in raised.changes] == [("MinCapacity", 2, 5)]
    assert "desired count: Application Auto Scaling raises it from 3 to 5 (min)" in raised.notes
    assert raised.put_policies == () and raised.put_scheduled == ()
    lowered, _ = plan(replace(SCALING, max=10), live_as_aws_shows_it(), live_count=15)
    assert lowered is not None
    assert "desired count: Application Auto Scaling lowers it from 15 to 10 (max)" in lowered.notes


def test_alb_requests_without_a_label_is_a_plan_error() -> None:
    step, errors = plan(SCALING, None, label=None)
    assert errors == [
        "service `web`: metric alb_requests needs the resource label of target group web, "
        "which is attached to no load balancer (or does not exist)"
    ]
    assert step is not None and [p["PolicyName"] for p in step.put_policies] == ["web-cpu"]


def test_the_step_survives_the_plan_file() -> None:
    step, _ = plan(replace(SCALING, max=30, scheduled=()), live_as_aws_shows_it())
    assert step is not None and step.delete_scheduled
    assert _step_from(_step(step)) == step


def test_resource_label_from_the_arns() -> None:
    assert (
        resource_label(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/"
            "50dc6c495c0c9188",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067",
        )
        == LABEL
    )


# -- verify -------------------------------------------------------------------------


TG = TargetGroupFacts(arn="arn:tg", name="web", load_balancers=("arn:lb",))


def test_min_zero_behind_a_load_balancer_is_a_downtime_warning() -> None:
    zero = service(replace(SCALING, min=0))
    [finding] = scaling_findings(zero, ServiceFacts(target_groups={"web": TG}))
    assert (finding.rule, finding.severity, finding.downtime) == (
        "autoscaling-min-zero",
        "warning",
        True,
    )
    assert finding.message.startswith("autoscaling min is 0")
    relaxed = replace(zero, zero_downtime=False)
    assert [
        f.severity for f in scaling_findings(relaxed, ServiceFacts(target_groups={"web": TG}))
    ] == ["note"]
    nightly = service(replace(SCALING, scheduled=(ScheduledScaling("n", "rate(1 day)", min=0),)))
    [finding] = scaling_findings(nightly, ServiceFacts(target_groups={"web": TG}))
    assert "scheduled action n's min is 0" in finding.message
    assert scaling_findings(service(SCALING), ServiceFacts(target_groups={"web": TG})) == []


def test_alb_requests_without_a_usable_target_group_is_an_error() -> None:
    loose = replace(TG, load_balancers=())
    [finding] = scaling_findings(service(SCALING), ServiceFacts(target_groups={"web": loose}))
    assert finding.rule == "autoscaling-alb-requests" and finding.severity == "error"
    assert finding.message == (
        "autoscaling tracks alb_requests, but target group web is attached to no load balancer"
    )
    [missing] = scaling_findings(service(SCALING), ServiceFacts())
    assert missing.message.endswith("target group web does not exist")


# -- init ---------------------------------------------------------------------------


def test_init_writes_what_reads_back_as_the_same_scaling() -> None:
    svc: dict[str, Any] = {
        "serviceName": "web",
        "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:1",
        "desiredCount": 5,
        "launchType": "EC2",
        "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200},
    }
    td = {"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx:1.25"}]}
    live = replace(
        live_as_aws_shows_it(),
        policies=(
            *live_as_aws_shows_it().policies[1:],
            {
                **IDS,
                "PolicyName": "memory-policy",
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": 72.5,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ECSServiceAverageMemoryUtilization"
                    },
                    "ScaleInCooldown": 900,
                    "DisableScaleIn": True,
                },
            },
        ),
    )
    result = scaffold("us-east-1", "main", [LiveService(svc, td, scaling=live)])
    assert YAML(typ="safe").load(result.deploy_yaml) == result.data
    web = result.data["services"]["web"]
    assert "desired_count" not in web
    assert web["autoscaling"] == {
        "min": 2,
        "max": 20,
        "target_tracking": [
            {"metric": "cpu", "target": 60, "scale_out_cooldown": "1m"},
            {
                "metric": "memory",
                "target": 72.5,
                "name": "memory-policy",
                "scale_in_cooldown": "15m",
                "disable_scale_in": True,
            },
        ],
        "scheduled": [{"name": "nightly", "schedule": "cron(0 20 * * ? *)", "min": 1, "max": 4}],
    }
