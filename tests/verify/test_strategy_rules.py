"""The blue_green, linear and canary rules on made-up facts: each rule both ways.

A service set up as ECS documents it (two target groups alike behind one load
balancer, a production rule forwarding to both with weights 1 and 0, a test
rule on its own listener, roles trusted by ecs.amazonaws.com) has no finding;
each test breaks one thing and expects the one finding that says so.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ecsdeploy.adapters.iam_lambda import function_region, trusted_services
from ecsdeploy.config.model import (
    CanaryShift,
    CapacityProvider,
    Deployment,
    HttpCheck,
    LifecycleHook,
    LinearShift,
    LoadBalancer,
    LoadBalancerChecks,
    Service,
)
from ecsdeploy.verify.observe import listener_rule_facts
from ecsdeploy.verify.rules import (
    CapacityFacts,
    Finding,
    InstanceFacts,
    ListenerRuleFacts,
    ServiceFacts,
    TargetGroupFacts,
    check_service,
)
from ecsdeploy.verify.strategy import load_balancer_name, parse_elb_arn

ELB = "arn:aws:elasticloadbalancing:us-east-1:123456789012"
LB = f"{ELB}:loadbalancer/app/shop/50dc6c495c0c9188"
OTHER_LB = f"{ELB}:loadbalancer/app/other/1111111111111111"
PROD_LISTENER = f"{ELB}:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
TEST_LISTENER = f"{ELB}:listener/app/shop/50dc6c495c0c9188/0467ef3c8400ae65"
PROD = f"{PROD_LISTENER.replace(':listener/', ':listener-rule/')}/9683b2d02a6cabee"
TEST = f"{TEST_LISTENER.replace(':listener/', ':listener-rule/')}/1aa3b2d02a6cabee"
NLB = f"{ELB}:loadbalancer/net/edge/2222222222222222"
NLB_PROD = f"{ELB}:listener/net/edge/2222222222222222/3333333333333333"
NLB_TEST = f"{ELB}:listener/net/edge/2222222222222222/4444444444444444"

BLUE = TargetGroupFacts(
    arn=f"{ELB}:targetgroup/web-blue/0123456789abcdef",
    name="web-blue",
    port=8080,
    target_type="ip",
    health_check_path="/health",
    interval=10,
    healthy_threshold=2,
    deregistration_delay=30,
    load_balancers=(LB,),
    listeners=(PROD_LISTENER,),
    vpc_id="vpc-1",
)
GREEN = replace(BLUE, arn=f"{ELB}:targetgroup/web-green/fedcba9876543210", name="web-green")
ROLE = "ecs-infrastructure-for-load-balancers"
ECS_TRUST = frozenset({"ecs.amazonaws.com"})


def entry(**kwargs: Any) -> LoadBalancer:
    base: dict[str, Any] = {
        "target_group": "web-blue",
        "container": "web",
        "port": 8080,
        "alternate_target_group": "web-green",
        "production_listener_rule": PROD,
        "test_listener_rule": TEST,
        "role": ROLE,
    }
    base.update(kwargs)
    return LoadBalancer(**base)


def shifting(
    strategy: Any = "blue_green",
    *,
    lbs: tuple[LoadBalancer, ...] | None = None,
    desired: int = 2,
    minimum: int = 100,
    maximum: int = 200,
    timeout: float = 3600.0,
    bake: float = 300.0,
    hooks: tuple[LifecycleHook, ...] | None = None,
    launch_type: Any = "FARGATE",
    zero_downtime: bool = True,
    **deployment: Any,
) -> Service:
    return Service(
        key="web",
        cluster="main",
        name="web",
        task_definition=Path("/x/web.json.j2"),
        desired_count=desired,
        deployment=Deployment(
            minimum_healthy_percent=minimum,
            maximum_percent=maximum,
            timeout=timeout,
            strategy=strategy,
            bake_time=None if strategy == "rolling" else bake,
            hooks=hooks,
            **deployment,
        ),
        load_balancers=(entry(),) if lbs is None else lbs,
        launch_type=launch_type,
        zero_downtime=zero_downtime,
    )


def rule(arn: str, forwards: dict[str, int], others: tuple[str, ...] = ()) -> ListenerRuleFacts:
    parsed = parse_elb_arn(arn)
    return ListenerRuleFacts(arn, parsed.listener, parsed.load_balancer, forwards, others)


def facts(**kwargs: Any) -> ServiceFacts:
    base: dict[str, Any] = {
        "launch_type": "FARGATE",
        "target_groups": {"web-blue": BLUE, "web-green": GREEN},
        "listener_rules": {
            PROD: rule(PROD, {BLUE.arn: 1, GREEN.arn: 0}),
            TEST: rule(TEST, {GREEN.arn: 1}),
        },
        "shift_roles": {ROLE: ECS_TRUST},
    }
    base.update(kwargs)
    return ServiceFacts(**base)


def taskdef(mode: str = "awsvpc", host_port: int = 0) -> dict[str, Any]:
    mapping: dict[str, Any] = {"containerPort": 8080, "protocol": "tcp"}
    if host_port:
        mapping["hostPort"] = host_port
    return {
        "family": "web",
        "networkMode": mode,
        "cpu": "512",
        "memory": "1024",
        "containerDefinitions": [{"name": "web", "image": "r/web:1", "portMappings": [mapping]}],
    }


def check(svc: Service | None = None, f: ServiceFacts | None = None, **kw: Any) -> list[Finding]:
    return check_service(svc or shifting(), kw.get("td") or taskdef(), f or facts())


def only(found: list[Finding], rule_id: str) -> Finding:
    assert [x.rule for x in found] == [rule_id], [(x.rule, x.message) for x in found]
    return found[0]


# --- as documented: nothing to say ------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "extra"),
    [
        ("blue_green", {}),
        ("linear", {"linear": LinearShift(step_percent=25.0, step_bake_time=120.0)}),
        ("canary", {"canary": CanaryShift(percent=10.0, bake_time=600.0)}),
    ],
)
def test_a_documented_setup_passes(strategy: str, extra: dict[str, Any]) -> None:
    assert check(shifting(strategy, **extra)) == []


def test_a_rolling_service_is_not_judged_by_these_rules() -> None:
    rolling = shifting("rolling", lbs=(LoadBalancer("web-blue", "web", 8080),), minimum=50)
    bare = facts(target_groups={"web-blue": BLUE}, listener_rules={}, shift_roles={})
    assert check(rolling, bare) == []


# --- the alternate target group --------------------------------------------------------------


def test_missing_alternate_target_group() -> None:
    f = only(check(f=facts(target_groups={"web-blue": BLUE})), "alternate-target-group")
    assert f.severity == "error" and not f.downtime
    assert f.message == "alternate target group 'web-green' does not exist"
    assert "before it moves any traffic" in f.why
    assert f.fix is not None and f.fix.startswith("create it like web-blue (same VPC")


def test_alternate_that_is_the_target_group_itself() -> None:
    # By ARN in one place and by name in the other: offline validation cannot tell.
    svc = shifting(lbs=(entry(alternate_target_group=BLUE.arn),))
    found = check(svc, facts(target_groups={"web-blue": BLUE, BLUE.arn: BLUE}))
    f = next(x for x in found if x.rule == "alternate-target-group")
    assert f.message == f"alternate target group '{BLUE.arn}' is the target group web-blue itself"


def test_alternate_in_another_vpc_with_another_protocol_and_type() -> None:
    other = replace(GREEN, vpc_id="vpc-2", protocol="HTTPS", target_type="instance")
    f = only(
        check(f=facts(target_groups={"web-blue": BLUE, "web-green": other})),
        ("alternate-target-group"),
    )
    assert f.message == (
        "alternate target group web-green differs from target group web-blue: VPC vpc-2 "
        "(not vpc-1), protocol HTTPS (not HTTP), target type instance (not ip)"
    )
    assert f.fix == (
        "recreate web-green with the settings of web-blue (--protocol HTTP --port 8080 "
        "--vpc-id vpc-1 --target-type ip)"
    )


def test_alternate_with_another_port_and_health_check_is_a_warning() -> None:
    other = replace(GREEN, port=80, health_check_path="/")
    found = check(f=facts(target_groups={"web-blue": BLUE, "web-green": other}))
    f = only(found, "alternate-target-group-settings")
    assert f.severity == "warning"
    assert "port 80 (not 8080), health check path / (not /health)" in f.message


def test_alternate_without_health_check_is_a_downtime_error() -> None:
    other = replace(GREEN, health_check_enabled=False)
    f = only(check(f=facts(target_groups={"web-blue": BLUE, "web-green": other})), "health-check")
    assert (f.severity, f.downtime) == ("error", True)
    assert f.message == "alternate target group web-green has its health check disabled"
    noted = check(
        shifting(zero_downtime=False), facts(target_groups={"web-blue": BLUE, "web-green": other})
    )
    assert [(x.rule, x.severity) for x in noted] == [("health-check", "note")]


def test_alternate_behind_another_load_balancer() -> None:
    other = replace(GREEN, load_balancers=(OTHER_LB,))
    found = check(
        f=facts(
            target_groups={"web-blue": BLUE, "web-green": other},
            listener_rules={PROD: rule(PROD, {BLUE.arn: 1}), TEST: rule(TEST, {BLUE.arn: 0})},
        )
    )
    f = next(x for x in found if x.rule == "alternate-target-group")
    assert f.message == (
        "alternate target group web-green is behind load balancer other, target group "
        "web-blue behind shop"
    )


def test_a_target_group_shared_by_two_entries() -> None:
    second = entry(
        target_group="web-admin",
        alternate_target_group="web-green",
        label="load_balancers[1]",
    )
    first = entry(label="load_balancers[0]")
    admin = replace(BLUE, arn=f"{ELB}:targetgroup/web-admin/1", name="web-admin")
    groups = {"web-blue": BLUE, "web-green": GREEN, "web-admin": admin}
    prod = rule(PROD, {BLUE.arn: 1, GREEN.arn: 0, admin.arn: 0})
    found = check(
        shifting(lbs=(first, second)),
        facts(target_groups=groups, listener_rules={PROD: prod, TEST: rule(TEST, {})}),
    )
    dup = [x for x in found if x.rule == "alternate-target-group"]
    assert [x.message for x in dup] == [
        "target group web-green is named by both load_balancers[0].alternate_target_group and "
        "load_balancers[1].alternate_target_group"
    ]
    # And none when each entry has its own pair.
    other_green = replace(GREEN, arn=f"{ELB}:targetgroup/admin-green/2", name="admin-green")
    own = (first, replace(second, alternate_target_group="admin-green"))
    groups["admin-green"] = other_green
    prod_both = rule(PROD, {BLUE.arn: 1, GREEN.arn: 0, admin.arn: 0, other_green.arn: 0})
    clean = check(
        shifting(lbs=own),
        facts(target_groups=groups, listener_rules={PROD: prod_both, TEST: rule(TEST, {})}),
    )
    assert "alternate-target-group" not in [x.rule for x in clean]


# --- the listener rules ------------------------------------------------------------------------


def test_an_alb_listener_where_a_rule_is_needed() -> None:
    svc = shifting(lbs=(entry(production_listener_rule=PROD_LISTENER),))
    f = only(check(svc), "listener-rule")
    assert f.message == (
        "load_balancer.production_listener_rule is the ARN of an Application Load Balancer "
        "listener, not of a listener rule"
    )
    assert f.fix == (
        f"give the ARN of the rule that forwards to the target groups (aws elbv2 describe-rules "
        f"--listener-arn {PROD_LISTENER})"
    )


def test_not_a_listener_arn_at_all() -> None:
    svc = shifting(lbs=(entry(test_listener_rule=BLUE.arn),))
    found = check(svc)
    f = next(x for x in found if x.rule == "listener-rule")
    assert f.message == (
        f"load_balancer.test_listener_rule is not the ARN of a listener rule or of a listener: "
        f"{BLUE.arn}"
    )


def test_missing_listener_rule() -> None:
    f = only(
        check(f=facts(listener_rules={PROD: rule(PROD, {BLUE.arn: 1, GREEN.arn: 0})})),
        ("listener-rule"),
    )
    assert f.message == f"the test listener rule does not exist: {TEST}"
    assert "with no such rule the service update fails" in f.why
    # Nor is the production rule blamed for what the missing test rule would forward to.
    alone = facts(listener_rules={PROD: rule(PROD, {BLUE.arn: 1})})
    assert [x.rule for x in check(f=alone)] == ["listener-rule"]


def test_listener_rule_of_another_load_balancer() -> None:
    elsewhere = replace(rule(TEST, {GREEN.arn: 1}), load_balancer=OTHER_LB)
    found = check(f=facts(listener_rules={**facts().listener_rules, TEST: elsewhere}))
    f = only(found, "listener-rule")
    assert f.message == (
        "the test listener rule is on load balancer other, target group web-blue behind shop"
    )


def test_listener_rule_mixing_forward_with_authentication() -> None:
    mixed = rule(PROD, {BLUE.arn: 1, GREEN.arn: 0}, ("authenticate-oidc",))
    found = check(f=facts(listener_rules={**facts().listener_rules, PROD: mixed}))
    f = only(found, "listener-rule")
    assert f.message == (
        "the production listener rule has authenticate-oidc actions beside its forward action"
    )
    assert "does not support rules that mix forward with other actions" in f.why


def test_listener_rule_that_does_not_forward() -> None:
    redirect = rule(TEST, {}, ("redirect",))
    found = check(f=facts(listener_rules={**facts().listener_rules, TEST: redirect}))
    f = only(found, "listener-rule")
    assert f.message == (
        "the test listener rule does not forward to target groups (its actions: redirect)"
    )


def test_listener_rule_forwarding_to_a_foreign_target_group() -> None:
    foreign = f"{ELB}:targetgroup/legacy/9"
    prod = rule(PROD, {BLUE.arn: 1, GREEN.arn: 0, foreign: 0})
    f = only(
        check(f=facts(listener_rules={**facts().listener_rules, PROD: prod})),
        ("listener-rule-target-groups"),
    )
    assert f.message == (
        "the production listener rule also forwards to target group legacy, neither web-blue "
        "nor its alternate web-green"
    )


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (
            (50, 50),
            "the production listener rule sends traffic to 2 target groups (web-blue weight 50, "
            "web-green weight 50); ECS expects exactly one",
        ),
        (
            (0, 0),
            "the production listener rule sends traffic to neither web-blue nor web-green "
            "(every weight is 0)",
        ),
    ],
)
def test_production_traffic_must_go_to_exactly_one(weights: tuple[int, int], message: str) -> None:
    prod = rule(PROD, {BLUE.arn: weights[0], GREEN.arn: weights[1]})
    f = only(
        check(f=facts(listener_rules={**facts().listener_rules, PROD: prod})),
        ("listener-rule-target-groups"),
    )
    assert f.message == message


def test_either_target_group_may_be_the_serving_one() -> None:
    # After a deployment the alternate carries the traffic: the roles swapped.
    prod = rule(PROD, {BLUE.arn: 0, GREEN.arn: 100})
    test = rule(TEST, {BLUE.arn: 1})
    assert check(f=facts(listener_rules={PROD: prod, TEST: test})) == []


def test_alb_without_test_rule_needs_both_groups_in_the_production_rule() -> None:
    svc = shifting(lbs=(entry(test_listener_rule=None),))
    one = facts(listener_rules={PROD: rule(PROD, {BLUE.arn: 1})})
    f = only(check(svc, one), "listener-rule-target-groups")
    assert f.message == (
        "the production listener rule does not forward to web-green, and there is no test "
        "listener rule"
    )
    assert "testListenerRule is then required" in f.why
    both = facts(listener_rules={PROD: rule(PROD, {BLUE.arn: 1, GREEN.arn: 0})})
    assert check(svc, both) == []


def test_each_target_group_in_one_of_the_two_rules() -> None:
    prod = rule(PROD, {BLUE.arn: 1})
    f = only(
        check(f=facts(listener_rules={PROD: prod, TEST: rule(TEST, {BLUE.arn: 1})})),
        ("listener-rule-target-groups"),
    )
    assert f.message == "neither the production nor the test listener rule forwards to web-green"
    assert check(f=facts(listener_rules={PROD: prod, TEST: rule(TEST, {GREEN.arn: 1})})) == []


def test_nlb_listeners_forward_to_one_target_group_each() -> None:
    nlb_blue = replace(BLUE, protocol="TCP", load_balancers=(NLB,))
    nlb_green = replace(GREEN, protocol="TCP", load_balancers=(NLB,))
    groups = {"web-blue": nlb_blue, "web-green": nlb_green}
    svc = shifting(lbs=(entry(production_listener_rule=NLB_PROD, test_listener_rule=None),))
    listeners = {NLB_PROD: rule(NLB_PROD, {BLUE.arn: 1})}
    assert check(svc, facts(target_groups=groups, listener_rules=listeners)) == []
    # A rule ARN is for an Application Load Balancer only.
    wrong = shifting(lbs=(entry(production_listener_rule=PROD.replace("/app/", "/net/")),))
    f = next(x for x in check(wrong, facts(target_groups=groups)) if x.rule == "listener-rule")
    assert "is a listener rule of a load balancer that is not an Application one" in f.message


def test_test_rule_on_the_production_listener_with_test_http() -> None:
    same = PROD.replace("9683b2d02a6cabee", "5555555555555555")
    checks = LoadBalancerChecks(test_http=HttpCheck(url="https://shop.example.com:8443/health"))
    lbs = (entry(test_listener_rule=same, checks=checks),)
    rules = {PROD: rule(PROD, {BLUE.arn: 1, GREEN.arn: 0}), same: rule(same, {GREEN.arn: 1})}
    f = only(check(shifting(lbs=lbs), facts(listener_rules=rules)), "test-listener")
    assert f.severity == "note"
    assert "checks.test_http reaches the new revision only if its request meets" in f.message
    # Without test_http there is nothing to say; on its own listener neither.
    assert check(shifting(lbs=(entry(test_listener_rule=same),)), facts(listener_rules=rules)) == []
    assert check(shifting(lbs=(entry(checks=checks),))) == []


# --- roles and hooks ---------------------------------------------------------------------------


def test_missing_load_balancer_role() -> None:
    f = only(check(f=facts(shift_roles={ROLE: None})), "load-balancer-role")
    assert f.message == f"IAM role {ROLE} (load_balancer.role) does not exist"
    assert f.fix is not None
    assert "AmazonECSInfrastructureRolePolicyForLoadBalancers" in f.fix


def test_load_balancer_role_trusting_the_task_principal() -> None:
    trust = frozenset({"ecs-tasks.amazonaws.com"})
    f = only(check(f=facts(shift_roles={ROLE: trust})), "load-balancer-role")
    assert f.message == (
        f"IAM role {ROLE} (load_balancer.role) does not trust ecs.amazonaws.com (its trust "
        "policy lets ecs-tasks.amazonaws.com assume it)"
    )
    assert "ecs-tasks.amazonaws.com is the principal of task roles" in (f.fix or "")
    nobody = only(check(f=facts(shift_roles={ROLE: frozenset()})), "load-balancer-role")
    assert "(its trust policy lets no AWS service assume it)" in nobody.message
    assert check(f=facts(shift_roles={ROLE: frozenset({"*"})})) == []


HOOK = LifecycleHook(
    stages=("POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT"),
    function="web-smoke-test",
    role="arn:aws:iam::123456789012:role/hooks/ecs-lambda-hooks",
)


def test_hooks_role_and_function() -> None:
    svc = shifting(hooks=(HOOK,))
    good = facts(
        shift_roles={ROLE: ECS_TRUST, "ecs-lambda-hooks": ECS_TRUST},
        hook_functions={"web-smoke-test": True},
    )
    assert check(svc, good) == []
    gone = replace(good, hook_functions={"web-smoke-test": False})
    f = only(check(svc, gone), "hook-function")
    assert f.message == (
        "Lambda function web-smoke-test (deployment.hooks[0].lambda) does not exist"
    )
    assert "ECS invokes it at POST_SCALE_UP, POST_TEST_TRAFFIC_SHIFT" in f.why
    lambda_trust = replace(
        good, shift_roles={ROLE: ECS_TRUST, "ecs-lambda-hooks": frozenset({"lambda.amazonaws.com"})}
    )
    f = only(check(svc, lambda_trust), "hook-role")
    assert f.message == (
        "IAM role ecs-lambda-hooks (deployment.hooks[0].role) does not trust ecs.amazonaws.com "
        "(its trust policy lets lambda.amazonaws.com assume it)"
    )
    missing = replace(good, shift_roles={ROLE: ECS_TRUST, "ecs-lambda-hooks": None})
    f = only(check(svc, missing), "hook-role")
    assert "lambda:InvokeFunction" in (f.fix or "")


# --- the rolling settings, capacity and duration ------------------------------------------------


def test_rolling_settings_are_a_note_and_their_arithmetic_is_not_applied() -> None:
    # desired 1 with minimum 0 is a downtime error for a rolling update; blue_green keeps
    # the old task serving until the new one is healthy and has the traffic.
    f = only(check(shifting(desired=1, minimum=0, maximum=100)), "rolling-settings")
    assert f.severity == "note"
    assert f.message == (
        "minimum_healthy_percent 0 and maximum_percent 100 pace rolling deployments; a "
        "blue_green deployment starts the new revision's full count beside the old one "
        "whatever they say"
    )
    rolling = shifting(
        "rolling", lbs=(LoadBalancer("web-blue", "web", 8080),), desired=1, minimum=0
    )
    assert "minimum-healthy" in [x.rule for x in check(rolling, facts(listener_rules={}))]


def room(n: int, tasks: int, **kwargs: Any) -> InstanceFacts:
    """An instance with CPU and memory left for `tasks` more tasks of 512 units / 1024 MiB."""
    return InstanceFacts(
        arn=f"arn:aws:ecs:us-east-1:1:container-instance/main/i{n}",
        remaining_cpu=512 * tasks,
        remaining_memory=1024 * tasks,
        **kwargs,
    )


def test_ec2_needs_room_for_a_full_second_set() -> None:
    svc = shifting(desired=4, launch_type="EC2")
    tight = facts(launch_type="EC2", instances=(room(1, 2), room(2, 1)), live_desired=3)
    f = only(check(svc, tight), "capacity")
    # deploy.yaml asks for 4: the new revision starts with 4, beside the 3 that run now.
    assert f.message == (
        "blue_green starts 4 new tasks beside the 3 running, but the instances have room for "
        "3 more (512 CPU units and 1024 MiB each)"
    )
    assert "scales the new revision up to its full count before it moves any traffic" in f.why
    assert f.fix == (
        "add instances (room for 1 more task), or run the service on a capacity provider with "
        "managed scaling"
    )
    assert check(svc, facts(launch_type="EC2", instances=(room(1, 2), room(2, 2)))) == []
    # A rolling update of the same service needs room for one extra task at a time only.
    rolling = shifting("rolling", lbs=(LoadBalancer("web-blue", "web", 8080),), desired=4)
    rolling = replace(rolling, launch_type="EC2")
    assert check(rolling, replace(tight, listener_rules={})) == []
    # linear and canary too scale the new revision up to 100% first.
    for strategy in ("linear", "canary"):
        found = check(shifting(strategy, desired=4, launch_type="EC2", timeout=99999), tight)
        assert [x.rule for x in found] == ["capacity"], strategy
    # A service to create has no old set to keep.
    assert check(svc, replace(tight, exists=False)) == []


def test_static_host_ports_need_an_instance_each_with_the_port_free() -> None:
    instance = replace(BLUE, target_type="instance")
    groups = {"web-blue": instance, "web-green": replace(GREEN, target_type="instance")}
    busy = frozenset({80})
    svc = shifting(desired=2, launch_type="EC2")
    td = taskdef("bridge", host_port=80)
    three = (room(1, 4, ports_tcp=busy), room(2, 4, ports_tcp=busy), room(3, 4))
    found = check_service(svc, td, facts(launch_type="EC2", target_groups=groups, instances=three))
    f = only(found, "capacity")
    assert f.message == (
        "blue_green starts 2 new tasks beside the running ones, but only 1 fit: with static host "
        "port 80 each needs an ACTIVE instance where the port is free and 512 CPU units and "
        "1024 MiB are left"
    )
    assert f.fix is not None and f.fix.startswith("add 1 instance to the cluster")
    four = (*three, room(4, 1))
    assert (
        check_service(svc, td, facts(launch_type="EC2", target_groups=groups, instances=four)) == []
    )


def test_managed_scaling_makes_missing_room_a_note() -> None:
    svc = replace(
        shifting(desired=4, launch_type=None),
        capacity_provider_strategy=(CapacityProvider("web-asg", 1),),
    )
    capacity = CapacityFacts(frozenset({"web-asg"}), (), {"web-asg": True})
    tight = facts(
        launch_type="EC2",
        instances=(room(1, 2),),
        providers=("web-asg",),
        capacity=capacity,
    )
    f = only(check(svc, tight), "capacity")
    assert f.severity == "note"


def test_fargate_needs_no_room() -> None:
    assert check(shifting(desired=50)) == []


@pytest.mark.parametrize(
    ("svc", "timeout_ok", "text"),
    [
        (
            shifting(timeout=40, bake=300),
            60,
            "the blue_green deployment takes at least about 350s (2 x 10s to turn healthy + "
            "300s bake time + 30s to drain), more than deployment.timeout 40s plus the 300s "
            "of bake times",
        ),
        (
            shifting("linear", timeout=40, linear=LinearShift(10.0, 360.0)),
            60,
            "the linear deployment takes at least about 3590s (2 x 10s to turn healthy + "
            "9 x 360s between 10 traffic steps + 300s bake time + 30s to drain), more than "
            "deployment.timeout 40s plus the 3540s of bake times",
        ),
        (
            shifting("canary", timeout=40, canary=CanaryShift(5.0, 600.0)),
            60,
            "the canary deployment takes at least about 950s (2 x 10s to turn healthy + 600s "
            "canary bake time + 300s bake time + 30s to drain), more than deployment.timeout "
            "40s plus the 900s of bake times",
        ),
    ],
)
def test_deployment_duration(svc: Service, timeout_ok: float, text: str) -> None:
    f = only(check(svc), "deployment-duration")
    assert f.severity == "warning"
    assert f.message == text
    assert "which is after the bake time" in f.why
    fine = replace(svc, deployment=replace(svc.deployment, timeout=timeout_ok))
    assert check(fine) == []


def test_nlb_adds_ten_minutes_to_each_traffic_shift() -> None:
    groups = {
        "web-blue": replace(BLUE, protocol="TCP", load_balancers=(NLB,)),
        "web-green": replace(GREEN, protocol="TCP", load_balancers=(NLB,)),
    }
    listeners = {NLB_PROD: rule(NLB_PROD, {BLUE.arn: 1}), NLB_TEST: rule(NLB_TEST, {GREEN.arn: 1})}
    lbs = (entry(production_listener_rule=NLB_PROD, test_listener_rule=NLB_TEST),)
    f = only(
        check(
            shifting(lbs=lbs, timeout=900), facts(target_groups=groups, listener_rules=listeners)
        ),
        "deployment-duration",
    )
    assert "+ 1200s for the NLB +" in f.message
    assert f.fix == "raise deployment.timeout to 21m or more"


# --- reading AWS's answers -----------------------------------------------------------------------


def test_parse_elb_arn() -> None:
    parsed = parse_elb_arn(PROD)
    assert (parsed.kind, parsed.lb_type) == ("listener-rule", "app")
    assert (parsed.load_balancer, parsed.listener) == (LB, PROD_LISTENER)
    nlb = parse_elb_arn(NLB_PROD)
    assert (nlb.kind, nlb.lb_type, nlb.load_balancer) == ("listener", "net", NLB)
    assert parse_elb_arn(BLUE.arn).kind == "targetgroup"
    assert parse_elb_arn("shop-prod-rule").kind == ""
    assert parse_elb_arn(f"{ELB}:listener-rule/app/shop/1/2").lb_type == ""  # cut short
    assert load_balancer_name(LB) == "shop"


def test_listener_rule_facts_from_actions() -> None:
    actions = [
        {"Type": "authenticate-oidc", "Order": 1},
        {
            "Type": "forward",
            "Order": 2,
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": BLUE.arn, "Weight": 100},
                    {"TargetGroupArn": GREEN.arn},
                ]
            },
        },
    ]
    facts_ = listener_rule_facts(PROD, actions)
    assert facts_.forwards == {BLUE.arn: 100, GREEN.arn: 1}
    assert facts_.other_actions == ("authenticate-oidc",)
    assert (facts_.listener, facts_.load_balancer) == (PROD_LISTENER, LB)
    single = listener_rule_facts(NLB_PROD, [{"Type": "forward", "TargetGroupArn": BLUE.arn}])
    assert single.forwards == {BLUE.arn: 1} and single.other_actions == ()


def test_trusted_services_from_a_trust_policy() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["ecs.amazonaws.com", "ecs-tasks.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            },
            {"Effect": "Deny", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "*"},
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": ["sts:TagSession"],
            },
        ],
    }
    assert trusted_services(policy) == {"ecs.amazonaws.com", "ecs-tasks.amazonaws.com"}
    # As the IAM API sends it: URL-encoded JSON, a single statement.
    encoded = (
        "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22"
        "%2C%22Principal%22%3A%7B%22Service%22%3A%22ecs.amazonaws.com%22%7D%2C%22Action%22%3A"
        "%22sts%3AAssumeRole%22%7D%7D"
    )
    assert trusted_services(encoded) == {"ecs.amazonaws.com"}
    anyone = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]}
    assert trusted_services(anyone) == {"*"}
    assert trusted_services("not json") == frozenset()
    assert trusted_services(None) == frozenset()


def test_function_region() -> None:
    assert function_region("arn:aws:lambda:eu-west-1:123456789012:function:hook") == "eu-west-1"
    assert function_region("hook") is None
