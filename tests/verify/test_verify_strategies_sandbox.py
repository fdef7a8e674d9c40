"""`ecsdeploy verify` of blue_green against the sandbox: the quickstart's web service,
live on a rolling deployment, with deploy.yaml asking to switch it to blue_green.

The test makes what blue_green needs with boto3, as infrastructure code would: the
alternate target group, a production listener rule forwarding to both target
groups (weights 1 and 0), a test listener with its rule, the role ECS changes the
rules with, and a Lambda hook with its role. Then it breaks one thing at a time.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.apps import App, copy_sample, seed_app, write_calls

ECS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
INFRA_ROLE = "ecs-infrastructure-for-load-balancers"
HOOK_ROLE = "ecs-lambda-hooks"
HOOK = "web-smoke-test"


def _section(output: str, key: str) -> str:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"service {key} "))
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines)
    )
    return " ".join(" ".join(lines[start:end]).split())


def _make_blue_green_resources(sandbox: Any) -> dict[str, str]:
    """What blue_green needs beside the quickstart's load balancer and target group."""
    elb = sandbox.client("elbv2")
    blue = elb.describe_target_groups(Names=["quickstart-web"])["TargetGroups"][0]
    lb_arn = blue["LoadBalancerArns"][0]
    green = elb.create_target_group(
        Name="quickstart-web-green",
        Protocol=blue["Protocol"],
        Port=blue["Port"],
        VpcId=blue["VpcId"],
        TargetType=blue["TargetType"],
        HealthCheckPath=blue["HealthCheckPath"],
        HealthCheckIntervalSeconds=blue["HealthCheckIntervalSeconds"],
        HealthyThresholdCount=blue["HealthyThresholdCount"],
    )["TargetGroups"][0]["TargetGroupArn"]
    delay = elb.describe_target_group_attributes(TargetGroupArn=blue["TargetGroupArn"])
    elb.modify_target_group_attributes(TargetGroupArn=green, Attributes=delay["Attributes"])
    listener = next(
        item["ListenerArn"]
        for item in elb.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
        if item["DefaultActions"][0].get("TargetGroupArn") == blue["TargetGroupArn"]
    )

    def weighted(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
        groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in pairs]
        return [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]

    everything = [{"Field": "path-pattern", "Values": ["/*"]}]
    production = elb.create_rule(
        ListenerArn=listener,
        Priority=10,
        Conditions=everything,
        Actions=weighted((blue["TargetGroupArn"], 1), (green, 0)),
    )["Rules"][0]["RuleArn"]
    test_listener = elb.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTP",
        Port=8443,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Listeners"][0]["ListenerArn"]
    test = elb.create_rule(
        ListenerArn=test_listener,
        Priority=10,
        Conditions=everything,
        Actions=weighted((green, 1)),
    )["Rules"][0]["RuleArn"]

    iam = sandbox.client("iam")
    for role in (INFRA_ROLE, HOOK_ROLE):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(ECS_TRUST))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr(
            "index.py", "def handler(event, context):\n    return {'hookStatus': 'SUCCEEDED'}\n"
        )
    sandbox.client("lambda").create_function(
        FunctionName=HOOK,
        Runtime="python3.12",
        Role=iam.get_role(RoleName=HOOK_ROLE)["Role"]["Arn"],
        Handler="index.handler",
        Code={"ZipFile": code.getvalue()},
    )
    return {
        "blue": blue["TargetGroupArn"],
        "green": green,
        "production": production,
        "test": test,
        "listener": listener,
    }


def _ask_for_blue_green(app: App, arns: dict[str, str]) -> None:
    """deploy.yaml's web service switches to blue_green (the live service stays rolling)."""
    app.edit(
        "deploy.yaml",
        "      minimum_healthy_percent: 50\n      maximum_percent: 200\n"
        "      circuit_breaker: {enable: true, rollback: true}\n      timeout: 5m\n",
        "      strategy: blue_green\n      bake_time: 5m\n      timeout: 30m\n"
        "      hooks:\n"
        f"        - {{stage: post_scale_up, lambda: {HOOK}, role: {HOOK_ROLE}}}\n",
    )
    app.edit(
        "deploy.yaml",
        "      port: 8080\n",
        "      port: 8080\n"
        "      alternate_target_group: quickstart-web-green\n"
        f"      production_listener_rule: {arns['production']}\n"
        f"      test_listener_rule: {arns['test']}\n"
        f"      role: {INFRA_ROLE}\n",
    )


@pytest.fixture
def blue_green(sandbox: Any, tmp_path: Path) -> tuple[App, dict[str, str]]:
    app = seed_app(sandbox, copy_sample("quickstart", tmp_path))
    arns = _make_blue_green_resources(sandbox)
    _ask_for_blue_green(app, arns)
    return app, arns


def test_what_blue_green_needs_is_there(
    blue_green: tuple[App, dict[str, str]], sandbox: Any
) -> None:
    app, _ = blue_green
    sandbox.control.reset_calls()
    result = app.run("verify")
    assert result.exit_code == 0, result.output
    assert "service web (web in cluster quickstart): all checks passed" in result.output
    calls = sandbox.control.calls()
    assert write_calls(calls) == []
    assert calls.get("elbv2:DescribeRules"), calls  # the two listener rules, by ARN
    assert calls.get("iam:GetRole") == 2  # the load balancers' role and the hook's
    assert any(op.startswith("lambda:") for op in calls), calls  # GetFunction
    # Both target groups, each looked up once.
    assert calls["elbv2:DescribeTargetGroups"] == 2


def test_missing_alternate_target_group(
    blue_green: tuple[App, dict[str, str]], sandbox: Any
) -> None:
    app, arns = blue_green
    elb = sandbox.client("elbv2")
    # Out of the rules first (a target group a rule forwards to cannot be deleted).
    elb.modify_rule(
        RuleArn=arns["production"],
        Actions=[{"Type": "forward", "TargetGroupArn": arns["blue"]}],
    )
    elb.modify_rule(
        RuleArn=arns["test"], Actions=[{"Type": "forward", "TargetGroupArn": arns["blue"]}]
    )
    elb.delete_target_group(TargetGroupArn=arns["green"])
    result = app.run("verify")
    assert result.exit_code == 4, result.output
    web = _section(result.output, "web")
    assert "error: alternate target group 'quickstart-web-green' does not exist" in web
    assert "fix: create it like quickstart-web (same VPC, protocol, port and target type" in web


def test_production_rule_without_the_alternate_and_no_test_rule(
    blue_green: tuple[App, dict[str, str]], sandbox: Any
) -> None:
    app, arns = blue_green
    app.edit("deploy.yaml", f"      test_listener_rule: {arns['test']}\n", "")
    sandbox.client("elbv2").modify_rule(
        RuleArn=arns["production"],
        Actions=[{"Type": "forward", "TargetGroupArn": arns["blue"]}],
    )
    result = app.run("verify")
    assert result.exit_code == 4, result.output
    web = _section(result.output, "web")
    assert (
        "error: the production listener rule does not forward to quickstart-web-green, and "
        "there is no test listener rule"
    ) in web
    assert "testListenerRule is then required" in web

    # Listed with weight 0, as ECS wants it: nothing to say.
    sandbox.client("elbv2").modify_rule(
        RuleArn=arns["production"],
        Actions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": arns["blue"], "Weight": 1},
                        {"TargetGroupArn": arns["green"], "Weight": 0},
                    ]
                },
            }
        ],
    )
    fixed = app.run("verify", "--service", "web")
    assert fixed.exit_code == 0, fixed.output
    assert fixed.output.rstrip().endswith("All checks passed.")


def test_a_listener_arn_and_a_rule_that_is_not_there(
    blue_green: tuple[App, dict[str, str]], sandbox: Any
) -> None:
    app, arns = blue_green
    app.edit("deploy.yaml", arns["production"], arns["listener"])
    result = app.run("verify", "--service", "web")
    assert result.exit_code == 4, result.output
    assert (
        "error: load_balancer.production_listener_rule is the ARN of an Application Load "
        "Balancer listener, not of a listener rule"
    ) in _section(result.output, "web")

    app.edit("deploy.yaml", arns["listener"], arns["production"])
    sandbox.client("elbv2").delete_rule(RuleArn=arns["test"])
    gone = app.run("verify", "--service", "web")
    assert gone.exit_code == 4, gone.output
    assert f"error: the test listener rule does not exist: {arns['test']}" in _section(
        gone.output, "web"
    )


def test_roles_ecs_cannot_assume_and_a_missing_hook(
    blue_green: tuple[App, dict[str, str]], sandbox: Any
) -> None:
    app, _ = blue_green
    iam = sandbox.client("iam")
    tasks_trust = json.loads(json.dumps(ECS_TRUST))
    tasks_trust["Statement"][0]["Principal"]["Service"] = "ecs-tasks.amazonaws.com"
    iam.update_assume_role_policy(RoleName=INFRA_ROLE, PolicyDocument=json.dumps(tasks_trust))
    sandbox.client("lambda").delete_function(FunctionName=HOOK)
    result = app.run("verify", "--format", "json")
    assert result.exit_code == 4, result.output
    found = {f["rule"]: f for f in json.loads(result.output)["findings"] if f["service"] == "web"}
    assert sorted(found) == ["hook-function", "load-balancer-role"], found
    assert found["load-balancer-role"]["message"] == (
        f"IAM role {INFRA_ROLE} (load_balancer.role) does not trust ecs.amazonaws.com (its "
        "trust policy lets ecs-tasks.amazonaws.com assume it)"
    )
    assert found["hook-function"]["message"] == (
        f"Lambda function {HOOK} (deployment.hooks[0].lambda) does not exist"
    )
    assert found["hook-function"]["downtime"] is False  # --allow-downtime does not pass it

    iam.delete_role(RoleName=HOOK_ROLE)
    missing = app.run("verify", "--service", "web")
    assert f"error: IAM role {HOOK_ROLE} (deployment.hooks[0].role) does not exist" in (
        _section(missing.output, "web")
    )


def test_static_host_port_needs_a_free_instance_for_each_new_task(
    sandbox: Any, tmp_path: Path
) -> None:
    """hostPort 80: each task holds the port on its instance. Seeding gives the cluster
    desired + 1 = 3 instances, 2 of them running web: one has the port free, and
    blue_green starts both new tasks before any old one stops."""
    folder = copy_sample("quickstart", tmp_path)
    template = folder / "taskdefs" / "web.json.j2"
    text = template.read_text()
    assert '"hostPort": 0' in text
    template.write_text(text.replace('"hostPort": 0', '"hostPort": 80'))
    app = seed_app(sandbox, folder)
    assert app.run("verify", "--service", "web").exit_code == 0  # rolling, minimum 50: fine
    _ask_for_blue_green(app, _make_blue_green_resources(sandbox))
    result = app.run("verify", "--service", "web")
    assert result.exit_code == 4, result.output
    web = _section(result.output, "web")
    assert (
        "error: blue_green starts 2 new tasks beside the 2 running, but only 1 fit: with "
        "static host port 80 each needs an ACTIVE instance where the port is free"
    ) in web
    assert "fix: add 1 instance to the cluster, or use dynamic host ports (hostPort 0)" in web

    # One more instance in the cluster: room for both new tasks.
    _add_instance(sandbox, "quickstart")
    passed = app.run("verify", "--service", "web")
    assert passed.exit_code == 0, passed.output
    assert passed.output.rstrip().endswith("All checks passed.")


def _add_instance(sandbox: Any, cluster: str) -> None:
    """An EC2 instance joining the cluster, as its Auto Scaling group would add one."""
    ec2, ecs = sandbox.client("ec2"), sandbox.client("ecs")
    known = ecs.describe_container_instances(
        cluster=cluster,
        containerInstances=ecs.list_container_instances(cluster=cluster)["containerInstanceArns"],
    )["containerInstances"][0]
    model = ec2.describe_instances(InstanceIds=[known["ec2InstanceId"]])["Reservations"][0][
        "Instances"
    ][0]
    instance = ec2.run_instances(
        ImageId=model["ImageId"],
        MinCount=1,
        MaxCount=1,
        InstanceType=model["InstanceType"],
        SubnetId=model["SubnetId"],
    )["Instances"][0]
    ecs.register_container_instance(
        cluster=cluster,
        instanceIdentityDocument=json.dumps(
            {
                "instanceId": instance["InstanceId"],
                "region": sandbox.region,
                "availabilityZone": instance["Placement"]["AvailabilityZone"],
            }
        ),
    )
