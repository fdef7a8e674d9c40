"""`ecsdeploy verify` against the sandbox: the rules on real (emulated) AWS state, read-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecsdeploy.adapters.aws import AwsSettings
from ecsdeploy.config import load_config
from ecsdeploy.context import observe_live, prepare
from ecsdeploy.errors import ExitStatus, RefusedError
from ecsdeploy.verify import enforce, preflight, run
from tests.apps import (
    REV_A,
    REV_B,
    App,
    copy_fargate_for_sandbox,
    copy_sample,
    seed_app,
    write_calls,
)
from tests.verify.apps import (
    ECR_URL,
    REGISTRY_ENV,
    idle_instances,
    private_registry,
    remove_idle_instance,
)


@pytest.fixture
def quickstart(sandbox: Any, tmp_path: Path) -> App:
    return seed_app(sandbox, copy_sample("quickstart", tmp_path))


@pytest.fixture
def registry_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REGISTRY_ENV.items():
        monkeypatch.setenv(name, value)


def _section(output: str, key: str) -> str:
    """The lines of one service's findings in the text output."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"service {key} "))
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines)
    )
    return "\n".join(lines[start:end])


def _set_deployment(app: App, service_block: str, desired: int, minimum: int, maximum: int) -> None:
    """Rewrite the quickstart web service's desired count and deployment percentages."""
    app.edit("deploy.yaml", "    desired_count: 2\n", f"    desired_count: {desired}\n")
    app.edit(
        "deploy.yaml",
        "      minimum_healthy_percent: 50\n      maximum_percent: 200\n",
        f"      minimum_healthy_percent: {minimum}\n      maximum_percent: {maximum}\n",
    )
    assert service_block in app.deploy_yaml.read_text()


# --- the samples ---------------------------------------------------------------------------


def test_quickstart_passes_with_notes_for_the_worker(quickstart: App) -> None:
    result = quickstart.run("verify")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "service web (web in cluster quickstart): all checks passed" in out
    worker = _section(out, "worker")
    # zero_downtime: false on the worker: no load balancer and minimum 0 are notes.
    assert "  note: the service has no load balancer" in worker
    assert "  note: with desired_count 1 and minimum_healthy_percent 0" in worker
    assert "    why: " in worker and "    fix: " in worker
    assert out.rstrip().endswith("2 notes.")


def test_verify_only_reads(quickstart: App, sandbox: Any) -> None:
    sandbox.control.reset_calls()
    assert quickstart.run("verify").exit_code == 0
    calls = sandbox.control.calls()
    assert write_calls(calls) == []
    for op in (
        "ecs:DescribeServices",
        "ecs:ListContainerInstances",
        "ecs:DescribeContainerInstances",
        "elbv2:DescribeTargetGroups",
        "elbv2:DescribeTargetGroupAttributes",
        "elbv2:DescribeListeners",
        "logs:DescribeLogGroups",
    ):
        assert calls.get(op), (op, calls)
    # One cluster, one target group: each looked up once.
    assert calls["ecs:ListContainerInstances"] == 1
    assert calls["elbv2:DescribeTargetGroups"] == 1


def test_private_registry_passes_with_its_idle_instance(
    sandbox: Any, tmp_path: Path, registry_env: None
) -> None:
    # As written: EC2, static host port 80 -> 8080, desired 2, minimum 50, behind the ALB.
    # Seeding gives the cluster desired + 1 = 3 instances: one stays idle.
    app = seed_app(sandbox, private_registry(tmp_path))
    assert len(idle_instances(sandbox, "shop-prod")) == 1
    result = app.run("verify")
    assert result.exit_code == 0, result.output
    assert "service web (shop-web in cluster shop-prod): all checks passed" in result.output
    assert result.output.rstrip().endswith("All checks passed.")


def test_private_registry_as_written_needs_no_idle_instance(
    sandbox: Any, tmp_path: Path, registry_env: None
) -> None:
    """desired 2 with minimum 50 keeps ceil(1) = 1 task: ECS may stop the other old task
    first and the new task takes its port. So removing the idle instance does not block;
    verify says capacity dips during updates (a note), and exits 0."""
    app = seed_app(sandbox, private_registry(tmp_path))
    remove_idle_instance(sandbox, "shop-prod")
    result = app.run("verify")
    assert result.exit_code == 0, result.output
    assert "note: no instance has room for an extra task: ECS will stop up to 1 old" in (
        result.output
    )
    assert result.output.rstrip().endswith("1 note.")


def test_private_registry_at_minimum_100_needs_the_idle_instance(
    sandbox: Any, tmp_path: Path, registry_env: None
) -> None:
    """The rule's other branch ("an idle ECS instance, or minimumHealthyPercent < 100"):
    this test's copy of the sample sets minimum_healthy_percent: 100. With the idle
    instance it passes; without it the new task has nowhere to go: exit 4."""
    app = seed_app(sandbox, private_registry(tmp_path, minimum_healthy_percent=100))
    passed = app.run("verify")
    assert passed.exit_code == 0, passed.output
    assert passed.output.rstrip().endswith("All checks passed.")

    remove_idle_instance(sandbox, "shop-prod")
    failed = app.run("verify")
    assert failed.exit_code == 4, failed.output
    out = _section(failed.output, "web")
    assert "  error: no idle instance: every ACTIVE instance holds host port 80" in out
    assert "an idle ECS instance, or minimumHealthyPercent < 100" in out
    assert "fix: add an idle instance to the cluster, or use dynamic host ports (hostPort 0)" in (
        out
    )
    assert failed.output.rstrip().endswith("1 error.")


def test_dynamic_host_port_needs_no_idle_instance(
    sandbox: Any, tmp_path: Path, registry_env: None
) -> None:
    folder = private_registry(tmp_path, minimum_healthy_percent=100)
    template = folder / "taskdefs" / "web.json.j2"
    text = template.read_text()
    assert '"hostPort": 80' in text
    template.write_text(text.replace('"hostPort": 80', '"hostPort": 0'))
    app = seed_app(sandbox, folder)
    remove_idle_instance(sandbox, "shop-prod")
    result = app.run("verify")
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("All checks passed.")


def test_fargate_needs_only_maximum_percent_room(sandbox: Any, tmp_path: Path) -> None:
    folder = copy_fargate_for_sandbox(tmp_path)
    # The secrets the task definition names, made here (seeding does not): the
    # Secrets Manager ARN carries a random suffix, so the template takes the real one.
    sandbox.client("ssm").put_parameter(
        Name="/billing/database-url", Value="postgres://x", Type="SecureString"
    )
    arn = sandbox.client("secretsmanager").create_secret(Name="billing/stripe", SecretString="{}")[
        "ARN"
    ]
    template = folder / "taskdefs" / "api.yaml.j2"
    ttext = template.read_text()
    old_ref = "arn:aws:secretsmanager:{{ region }}:{{ vars.account_id }}:secret:{{ vars.app }}/stripe-Ab12Cd"
    assert old_ref in ttext
    template.write_text(ttext.replace(old_ref, arn))
    app = seed_app(sandbox, folder)

    sandbox.control.reset_calls()
    result = app.run("verify")
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("All checks passed.")
    calls = sandbox.control.calls()
    assert "ecs:ListContainerInstances" not in calls  # Fargate: no instances to look at
    assert calls.get("iam:GetRole") == 2
    assert calls.get("secretsmanager:DescribeSecret") == 1
    assert calls.get("ssm:DescribeParameters") == 1
    assert "secretsmanager:GetSecretValue" not in calls and "ssm:GetParameter" not in calls

    app.edit("deploy.yaml", "      maximum_percent: 200\n", "      maximum_percent: 100\n")
    stuck = app.run("verify")
    assert stuck.exit_code == 4
    assert "error: minimum_healthy_percent 100 and maximum_percent 100 with desired_count 3" in (
        stuck.output
    )

    # A missing secret and role, found by describe calls only.
    sandbox.client("secretsmanager").delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    sandbox.client("iam").delete_role(RoleName="billing-api")
    app.edit("deploy.yaml", "      maximum_percent: 100\n", "      maximum_percent: 200\n")
    missing = app.run("verify")
    assert missing.exit_code == 4
    assert f"error: secret {arn}:api_key:: (container 'api') does not exist" in missing.output
    assert "error: IAM role billing-api (taskRoleArn) does not exist" in missing.output


# --- the arithmetic through the CLI -----------------------------------------------------------


@pytest.mark.parametrize(
    ("desired", "minimum", "maximum", "status", "expected"),
    [
        (1, 0, 200, 4, "no task has to stay healthy during an update (ceil(1 x 0%) = 0)"),
        (1, 100, 200, 0, "all checks passed"),
        (2, 50, 200, 0, "all checks passed"),
        (2, 100, 100, 4, "leave ECS no room to replace a task"),
        (3, 50, 150, 0, "all checks passed"),
    ],
)
def test_rolling_arithmetic_through_the_cli(
    quickstart: App, desired: int, minimum: int, maximum: int, status: int, expected: str
) -> None:
    _set_deployment(quickstart, f"desired_count: {desired}", desired, minimum, maximum)
    result = quickstart.run("verify", "--service", "web")
    assert result.exit_code == status, result.output
    assert expected in _section(result.output, "web")


# --- load balancer, log groups, images -------------------------------------------------------


def test_target_group_missing_or_without_listener(quickstart: App, sandbox: Any) -> None:
    quickstart.edit("deploy.yaml", "target_group: quickstart-web", "target_group: nowhere")
    result = quickstart.run("verify")
    assert result.exit_code == 4
    assert "error: target group 'nowhere' does not exist" in result.output

    elb = sandbox.client("elbv2")
    vpc = elb.describe_target_groups(Names=["quickstart-web"])["TargetGroups"][0]["VpcId"]
    elb.create_target_group(Name="nowhere", Protocol="HTTP", Port=8080, VpcId=vpc)
    result = quickstart.run("verify")
    assert result.exit_code == 4
    assert "error: target group nowhere is not attached to a load balancer listener" in (
        result.output
    )
    assert "fix: add a listener (or a listener rule) that forwards to nowhere" in result.output


def test_missing_log_group(quickstart: App, sandbox: Any) -> None:
    sandbox.client("logs").delete_log_group(logGroupName="/ecs/quickstart/web")
    result = quickstart.run("verify")
    assert result.exit_code == 4
    web = _section(result.output, "web")
    assert "error: log group /ecs/quickstart/web in us-east-1 does not exist" in web
    assert "awslogs-create-group" in web


def test_missing_promote_source_is_bad_input_at_its_line(quickstart: App) -> None:
    quickstart.edit("deploy.yaml", "promote: latest", "promote: nosuchtag")
    result = quickstart.run("verify")
    assert result.exit_code == 3, result.output
    uri = f"{ECR_URL}/quickstart"
    (line,) = result.output.splitlines()
    head = (
        f"error: {quickstart.deploy_yaml}:23:14: images.web.promote: the promote source "
        f"{uri}/web:nosuchtag does not exist (tags in {uri}/web: "
    )
    assert line.startswith(head), line
    assert sorted(line.removeprefix(head).rstrip(")").split(", ")) == ["aaaaaaa", "latest"]


def test_missing_repository_is_a_finding(quickstart: App) -> None:
    quickstart.edit("deploy.yaml", "repository: quickstart/web", "repository: quickstart/gone")
    result = quickstart.run("verify")
    assert result.exit_code == 4, result.output
    assert "image `web`" in result.output
    assert "ECR repository quickstart/gone does not exist" in result.output


# --- formats, options, errors --------------------------------------------------------------


def test_json_format(quickstart: App) -> None:
    _set_deployment(quickstart, "desired_count: 1", 1, 0, 200)
    result = quickstart.run("verify", "--format", "json")
    assert result.exit_code == 4
    data = json.loads(result.output)
    assert data["ok"] is False
    assert data["counts"] == {"error": 1, "warning": 0, "note": 2}
    error = next(f for f in data["findings"] if f["severity"] == "error")
    assert error["service"] == "web" and error["rule"] == "minimum-healthy"
    assert error["downtime"] is True
    assert set(error) == {"severity", "service", "rule", "message", "why", "fix", "downtime"}


def test_service_option_limits_the_checks(quickstart: App, sandbox: Any) -> None:
    sandbox.control.reset_calls()
    result = quickstart.run("verify", "--service", "worker")
    assert result.exit_code == 0
    assert "service worker" in result.output and "service web" not in result.output
    assert "elbv2:DescribeTargetGroups" not in sandbox.control.calls()


def test_unknown_service_is_invalid_input(quickstart: App) -> None:
    result = quickstart.run("verify", "--service", "nope")
    assert result.exit_code == 3
    assert "nope" in result.output


def test_aws_error_is_exit_1_without_traceback(
    quickstart: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.exceptions

    from ecsdeploy.adapters.aws import AwsClients

    real = AwsClients.client

    class Denied:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

        def describe_target_groups(self, **_: Any) -> Any:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not allowed"}},
                "DescribeTargetGroups",
            )

    def client(self: AwsClients, name: str) -> Any:
        inner = real(self, name)
        return Denied(inner) if name == "elbv2" else inner

    monkeypatch.setattr(AwsClients, "client", client)
    result = quickstart.run("verify")
    assert result.exit_code == 1
    assert "error: elbv2:DescribeTargetGroups failed: AccessDenied: not allowed" in result.output
    assert "hint: the credentials in use lack this permission" in result.output
    assert "Traceback" not in result.output


def test_registry_access_denied_is_exit_1_not_a_finding(
    quickstart: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.exceptions

    from ecsdeploy.adapters.aws import AwsClients

    real = AwsClients.client

    class Denied:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

        def batch_get_image(self, **_: Any) -> Any:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "no ecr"}},
                "BatchGetImage",
            )

    def client(self: AwsClients, name: str) -> Any:
        inner = real(self, name)
        return Denied(inner) if name == "ecr" else inner

    monkeypatch.setattr(AwsClients, "client", client)
    result = quickstart.run("verify")
    assert result.exit_code == 1
    assert "AccessDeniedException: no ecr" in result.output
    assert "is not in its registry" not in result.output


def test_missing_cluster_is_bad_input(quickstart: App) -> None:
    quickstart.edit("deploy.yaml", "name: quickstart", "name: nowhere")
    result = quickstart.run("verify")
    assert result.exit_code == 3, result.output
    assert "clusters.main.name: cluster nowhere does not exist in us-east-1" in result.output


# --- what apply calls --------------------------------------------------------------------------


def _context(app: App, sandbox: Any) -> Any:
    config = load_config(app.deploy_yaml)
    return prepare(
        config,
        revision=REV_B,
        settings=AwsSettings(region=sandbox.region, endpoint_url=sandbox.endpoint_url),
    )


def test_enforce_refuses_what_verify_fails_and_allow_downtime_passes(
    quickstart: App, sandbox: Any
) -> None:
    _set_deployment(quickstart, "desired_count: 1", 1, 0, 200)
    assert quickstart.run("verify").exit_code == 4
    ctx = _context(quickstart, sandbox)
    live = observe_live(ctx)  # as apply has it from its plan
    findings = run(ctx, live)
    with pytest.raises(RefusedError) as caught:
        enforce(findings, allow_downtime=False)
    assert caught.value.exit_status == ExitStatus.REFUSED
    (text,) = caught.value.lines()
    assert "web: with desired_count 1 and minimum_healthy_percent 0" in text
    enforce(findings, allow_downtime=True)

    # A deploy that would fail half-way is refused even when downtime is allowed.
    sandbox.client("logs").delete_log_group(logGroupName="/ecs/quickstart/web")
    with pytest.raises(RefusedError) as failed:
        enforce(run(ctx, live), allow_downtime=True)
    assert "log group /ecs/quickstart/web in us-east-1 does not exist" in failed.value.lines()[0]


def test_enforce_passes_what_verify_passes(quickstart: App, sandbox: Any) -> None:
    assert quickstart.run("verify").exit_code == 0
    ctx = _context(quickstart, sandbox)
    findings = run(ctx, services=["web"])
    assert findings == []
    enforce(findings, allow_downtime=False)


# --- timing and health checks on the live target group ------------------------------------------


def _target_group_arn(sandbox: Any, name: str) -> str:
    groups = sandbox.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"]
    return str(groups[0]["TargetGroupArn"])


def test_deregistration_delay_must_fit_the_timeout(quickstart: App, sandbox: Any) -> None:
    elb = sandbox.client("elbv2")
    arn = _target_group_arn(sandbox, "quickstart-web")
    elb.modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "300"}],
    )
    result = quickstart.run("verify")  # quickstart's web: timeout 5m
    assert result.exit_code == 4
    assert (
        "error: target group quickstart-web drains for 300s (deregistration delay), not less "
        "than deployment.timeout 300s"
    ) in result.output
    elb.modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "299"}],
    )
    # 299 s fits, but one round (2 x 10 s to turn healthy + 299 s to drain) does not.
    result = quickstart.run("verify")
    assert result.exit_code == 0, result.output
    assert "warning: the update may take about 319s (1 round of" in result.output
    elb.modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "120"}],
    )
    assert quickstart.run("verify").output.rstrip().endswith("2 notes.")


def test_disabled_health_check(quickstart: App, sandbox: Any) -> None:
    arn = _target_group_arn(sandbox, "quickstart-web")
    sandbox.client("elbv2").modify_target_group(TargetGroupArn=arn, HealthCheckEnabled=False)
    result = quickstart.run("verify")
    assert result.exit_code == 4
    assert "error: target group quickstart-web has its health check disabled" in result.output


def test_slow_start_without_grace_period_warns(
    sandbox: Any, tmp_path: Path, registry_env: None
) -> None:
    folder = private_registry(tmp_path)
    deploy = folder / "deploy.yaml"
    text = deploy.read_text()
    assert "    health_check_grace_period: 60s\n" in text
    deploy.write_text(text.replace("    health_check_grace_period: 60s\n", "", 1))
    app = seed_app(sandbox, folder)  # the live service has no grace period either
    result = app.run("verify")
    assert result.exit_code == 0, result.output  # a warning does not block
    assert (
        "warning: a container's health check has startPeriod 30s but the service's health "
        "check grace period is 0s"
    ) in result.output
    assert "fix: set health_check_grace_period: 30s (or more)" in result.output
    assert result.output.rstrip().endswith("1 warning.")


def test_static_port_with_fewer_instances_than_tasks(
    sandbox: Any, tmp_path: Path, registry_env: None
) -> None:
    app = seed_app(sandbox, private_registry(tmp_path), instances=3)
    app.edit("deploy.yaml", "    desired_count: 2\n", "    desired_count: 4\n")
    result = app.run("verify")
    assert result.exit_code == 4
    assert (
        "error: desired_count 4 with static host port 80 needs 4 instances; the cluster has 3 "
        "ACTIVE"
    ) in result.output


def test_target_type_must_suit_the_network_mode(quickstart: App, sandbox: Any) -> None:
    elb = sandbox.client("elbv2")
    current = elb.describe_target_groups(Names=["quickstart-web"])["TargetGroups"][0]
    ip_group = elb.create_target_group(
        Name="quickstart-ip",
        Protocol="HTTP",
        Port=8080,
        VpcId=current["VpcId"],
        TargetType="ip",
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(
        LoadBalancerArn=current["LoadBalancerArns"][0],
        Protocol="HTTP",
        Port=8081,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": ip_group}],
    )
    quickstart.edit("deploy.yaml", "target_group: quickstart-web", f"target_group: {ip_group}")
    result = quickstart.run("verify")
    assert result.exit_code == 4
    assert (
        "error: target group quickstart-ip has target type 'ip'; the bridge network mode needs "
        "'instance'"
    ) in result.output
    assert "is not attached" not in result.output  # found by ARN, behind its listener


def test_preflight_is_run_then_enforce(quickstart: App, sandbox: Any) -> None:
    ctx = _context(quickstart, sandbox)
    findings = preflight(ctx, allow_downtime=False)
    assert [f.severity for f in findings] == ["note", "note"]  # the worker's
    _set_deployment(quickstart, "desired_count: 1", 1, 0, 200)
    ctx = _context(quickstart, sandbox)
    with pytest.raises(RefusedError):
        preflight(ctx, allow_downtime=False)
    allowed = preflight(ctx, allow_downtime=True)
    assert [f.rule for f in allowed if f.severity == "error"] == ["minimum-healthy"]


def test_prefetched_lookups_count_and_their_errors_only_where_used(
    quickstart: App, sandbox: Any
) -> None:
    from ecsdeploy.errors import OperationError
    from ecsdeploy.verify import prefetch
    from ecsdeploy.verify.observe import _Job

    ctx = _context(quickstart, sandbox)
    live = observe_live(ctx)
    fetched = dict(prefetch(ctx))
    assert _Job("cluster", "quickstart") in fetched  # EC2: the instances, ahead of time
    sandbox.control.reset_calls()
    assert run(ctx, live, None, fetched) == run(ctx, live)
    # A lookup no service needs failed (a wrong guess of the launch type): no matter.
    fetched[_Job("cluster", "elsewhere")] = OperationError("AccessDenied on elsewhere")
    run(ctx, live, None, fetched)
    # One that is needed failed: its error is verify's.
    fetched[_Job("cluster", "quickstart")] = OperationError("AccessDenied on quickstart")
    with pytest.raises(OperationError, match="AccessDenied on quickstart"):
        run(ctx, live, None, fetched)


def test_verify_and_plan_agree_on_a_missing_promote_source(quickstart: App) -> None:
    """`promote: lastest` (a typo) while the revision tag already exists: plan and verify
    both call it bad input at the `promote:` line, naming the tags there are."""
    quickstart.edit("deploy.yaml", "promote: latest", "promote: lastest")
    expected = (
        f"error: {quickstart.deploy_yaml}:23:14: images.web.promote: the promote source "
        f"{ECR_URL}/quickstart/web:lastest does not exist (tags in {ECR_URL}/quickstart/web: latest)"
    )
    for command in ("verify", "plan"):
        result = quickstart.run(command, "--service", "web", revision=REV_A)
        assert result.exit_code == 3, result.output
        assert result.output.splitlines()[-1] == expected, result.output


# --- capacity providers --------------------------------------------------------------------


def _on_provider(folder: Path, provider: str) -> None:
    deploy = folder / "deploy.yaml"
    text = deploy.read_text()
    assert "    launch_type: EC2\n" in text
    deploy.write_text(
        text.replace(
            "    launch_type: EC2\n",
            f"    capacity_provider_strategy: [{{capacity_provider: {provider}, weight: 1}}]\n",
            1,
        )
    )


def test_managed_scaling_turns_missing_room_into_a_note(
    sandbox: Any, tmp_path: Path, registry_env: None
) -> None:
    """The case above that exits 4 without the idle instance: on an Auto Scaling group
    capacity provider with managed scaling ECS adds the instance itself."""
    folder = private_registry(tmp_path, minimum_healthy_percent=100)
    _on_provider(folder, "shop-asg")  # seed creates it with managed scaling, associated
    app = seed_app(sandbox, folder)
    remove_idle_instance(sandbox, "shop-prod")
    result = app.run("verify")
    assert result.exit_code == 0, result.output
    out = _section(result.output, "web")
    assert "  note: no idle instance: every ACTIVE instance holds host port 80" in out
    assert "capacity provider shop-asg has managed scaling, so ECS adds instances" in (
        " ".join(out.split())
    )

    # Without managed scaling the provider adds nothing: the error stands.
    sandbox.client("ecs").update_capacity_provider(
        name="shop-asg", autoScalingGroupProvider={"managedScaling": {"status": "DISABLED"}}
    )
    failed = app.run("verify")
    assert failed.exit_code == 4, failed.output
    assert "  error: no idle instance" in _section(failed.output, "web")


def test_a_provider_the_cluster_does_not_have_is_an_error(
    sandbox: Any, tmp_path: Path, registry_env: None
) -> None:
    folder = private_registry(tmp_path)
    app = seed_app(sandbox, folder)
    _on_provider(folder, "other-asg")
    result = app.run("verify")
    assert result.exit_code == 4, result.output
    out = " ".join(_section(result.output, "web").split())
    assert "error: capacity provider other-asg is not associated with the service's cluster" in (
        out
    )
    assert "fix: associate it with the cluster (PutClusterCapacityProviders" in out
