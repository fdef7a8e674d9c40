"""The pure verify rules on made-up facts: every rule, both sides of each boundary."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ecsdeploy.config.model import Deployment, LoadBalancer, Service
from ecsdeploy.errors import ExitStatus, RefusedError
from ecsdeploy.verify import blocking, enforce
from ecsdeploy.verify.rules import (
    Finding,
    ImageFacts,
    InstanceFacts,
    LogGroupRef,
    SecretRef,
    ServiceFacts,
    TargetGroupFacts,
    check_service,
    log_groups,
    resolve_launch_type,
    rolling_findings,
    secret_ref,
    secrets,
    summary,
    task_needs,
)

TG = TargetGroupFacts(
    arn="arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef",
    name="web",
    interval=10,
    healthy_threshold=2,
    deregistration_delay=30,
    load_balancers=("arn:lb",),
    listeners=("arn:listener",),
)


def service(
    desired: int = 2,
    minimum: int = 50,
    maximum: int = 200,
    *,
    lb: bool = True,
    zero_downtime: bool = True,
    timeout: float = 900.0,
    grace: float | None = None,
    launch_type: Any = "EC2",
) -> Service:
    return Service(
        key="web",
        cluster="main",
        name="web",
        task_definition=Path("/x/web.json.j2"),
        desired_count=desired,
        deployment=Deployment(
            minimum_healthy_percent=minimum, maximum_percent=maximum, timeout=timeout
        ),
        load_balancers=(LoadBalancer(target_group="web", container="web", port=8080),)
        if lb
        else (),
        zero_downtime=zero_downtime,
        launch_type=launch_type,
        health_check_grace_period=grace,
    )


def taskdef(
    host_port: int = 80,
    *,
    mode: str = "bridge",
    cpu: int = 512,
    memory: int = 1024,
    extra: dict[str, Any] | None = None,
    container: dict[str, Any] | None = None,
) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": "web",
        "image": "repo/web:1",
        "cpu": cpu,
        "memory": memory,
        "portMappings": [{"containerPort": 8080, "hostPort": host_port, "protocol": "tcp"}],
    }
    c.update(container or {})
    td: dict[str, Any] = {"family": "web", "networkMode": mode, "containerDefinitions": [c]}
    td.update(extra or {})
    return td


def busy(n: int, port: int = 80, cpu: int = 4096 - 512, memory: int = 7982 - 1024) -> InstanceFacts:
    """An instance running one task of the service: it holds the port."""
    return InstanceFacts(
        arn=f"arn:aws:ecs:us-east-1:1:container-instance/main/busy{n}",
        remaining_cpu=cpu,
        remaining_memory=memory,
        ports_tcp=frozenset({22, 2375, 2376, 51678, 51679, port}),
    )


def idle(n: int = 0, **kwargs: Any) -> InstanceFacts:
    return InstanceFacts(
        arn=f"arn:aws:ecs:us-east-1:1:container-instance/main/idle{n}",
        ports_tcp=frozenset({22, 2375, 2376, 51678, 51679}),
        **kwargs,
    )


def facts(**kwargs: Any) -> ServiceFacts:
    """ServiceFacts; `target_group=` stands for the one target group `web` (None: missing)."""
    tg = kwargs.pop("target_group", TG)
    base: dict[str, Any] = {
        "launch_type": "EC2",
        "target_groups": {} if tg is None else {"web": tg},
        "instances": None,
    }
    base.update(kwargs)
    return ServiceFacts(**base)


def rules_of(findings: list[Finding], severity: str | None = None) -> list[str]:
    return [f.rule for f in findings if severity is None or f.severity == severity]


# --- rolling arithmetic ------------------------------------------------------------------

# (desired, minimum, maximum) -> rules that fail, worked out by hand with ECS's rounding:
# the minimum rounds up (ceil(D x min%)), the maximum rounds down (floor(D x max%)).
# "minimum-healthy": ceil(D x min%) == 0. "progress": floor(D x max%) <= D and
# ceil(D x min%) >= D (no task may start above D nor stop below it).
ARITHMETIC: dict[tuple[int, int, int], set[str]] = {
    # desired 1: min 50 and 100 keep ceil(0.5) = ceil(1) = 1 task; max 150 is floor(1.5) = 1.
    (1, 0, 100): {"minimum-healthy"},
    (1, 0, 150): {"minimum-healthy"},
    (1, 0, 200): {"minimum-healthy"},
    (1, 50, 100): {"progress"},
    (1, 50, 150): {"progress"},
    (1, 50, 200): set(),
    (1, 100, 100): {"progress"},
    (1, 100, 150): {"progress"},
    (1, 100, 200): set(),
    # desired 2: min 50 keeps 1 (one may stop first); max 150 allows floor(3) = 3.
    (2, 0, 100): {"minimum-healthy"},
    (2, 0, 150): {"minimum-healthy"},
    (2, 0, 200): {"minimum-healthy"},
    (2, 50, 100): set(),
    (2, 50, 150): set(),
    (2, 50, 200): set(),
    (2, 100, 100): {"progress"},
    (2, 100, 150): set(),
    (2, 100, 200): set(),
    # desired 3: min 50 keeps ceil(1.5) = 2; max 150 allows floor(4.5) = 4.
    (3, 0, 100): {"minimum-healthy"},
    (3, 0, 150): {"minimum-healthy"},
    (3, 0, 200): {"minimum-healthy"},
    (3, 50, 100): set(),
    (3, 50, 150): set(),
    (3, 50, 200): set(),
    (3, 100, 100): {"progress"},
    (3, 100, 150): set(),
    (3, 100, 200): set(),
}


@pytest.mark.parametrize(("desired", "minimum", "maximum"), sorted(ARITHMETIC))
def test_rolling_arithmetic(desired: int, minimum: int, maximum: int) -> None:
    found = rolling_findings(service(desired, minimum, maximum))
    assert set(rules_of(found)) == ARITHMETIC[(desired, minimum, maximum)]
    assert all(f.severity == "error" for f in found)


def test_rounding_boundaries_beyond_the_grid() -> None:
    # 3 x 120% = 3.6 rounds down to 3: no room above, and min 100 stops none.
    assert rules_of(rolling_findings(service(3, 100, 120))) == ["progress"]
    assert rules_of(rolling_findings(service(3, 100, 134))) == []  # floor(4.02) = 4
    # 4 x 75% = 3 keeps 3, one may stop first.
    assert rules_of(rolling_findings(service(4, 75, 100))) == []
    # 2 x 75% = 1.5 rounds up to 2: none may stop (ECS's own example).
    assert rules_of(rolling_findings(service(2, 75, 100))) == ["progress"]
    # 1% of 3 tasks rounds up to 1 task kept.
    assert rules_of(rolling_findings(service(3, 1, 100))) == []


def test_zero_desired_has_no_arithmetic() -> None:
    assert rolling_findings(service(0, 0, 100)) == []


def test_minimum_healthy_message_and_fix() -> None:
    (one,) = rolling_findings(service(1, 0, 100))
    assert "ceil(1 x 0%) = 0" in one.message
    assert "ECS may stop every running task" in one.why
    assert one.fix is not None
    assert "minimum_healthy_percent: 100 and maximum_percent: 200" in one.fix
    assert one.downtime
    (two,) = rolling_findings(service(2, 0, 200))
    assert two.fix == "set minimum_healthy_percent: 50 (keeps 1 of 2 tasks serving)"


def test_progress_message_and_fix() -> None:
    (f,) = rolling_findings(service(2, 100, 100))
    assert "at least 2 must keep running, at most 2 may run" in f.message
    assert "never progresses" in f.why
    assert not f.downtime


def test_no_load_balancer_is_a_downtime_error() -> None:
    (f,) = rolling_findings(service(lb=False))
    assert (f.rule, f.severity, f.downtime) == ("load-balancer", "error", True)
    assert "zero_downtime: false" in (f.fix or "")


def test_zero_downtime_false_turns_downtime_findings_into_notes() -> None:
    found = rolling_findings(service(1, 0, 100, lb=False, zero_downtime=False))
    assert [(f.rule, f.severity) for f in found] == [
        ("load-balancer", "note"),
        ("minimum-healthy", "note"),
    ]
    # A deployment that never progresses fails whatever downtime is accepted.
    found = rolling_findings(service(2, 100, 100, zero_downtime=False))
    assert [(f.rule, f.severity) for f in found] == [("progress", "error")]


# --- capacity ---------------------------------------------------------------------------------


def capacity(
    svc: Service, td: dict[str, Any], instances: tuple[InstanceFacts, ...]
) -> list[Finding]:
    return [
        f
        for f in check_service(svc, td, facts(instances=instances))
        if f.rule.startswith("capacity")
    ]


def test_static_port_minimum_100_needs_an_idle_instance() -> None:
    svc = service(2, 100, 200)
    (f,) = capacity(svc, taskdef(80), (busy(1), busy(2)))
    assert (f.rule, f.severity, f.downtime) == ("capacity", "error", False)
    assert f.message.startswith("no idle instance: every ACTIVE instance holds host port 80")
    assert "an idle ECS instance, or minimumHealthyPercent < 100" in f.why
    assert f.fix is not None
    assert "add an idle instance" in f.fix and "dynamic host ports" in f.fix
    assert "minimum_healthy_percent: 50" in f.fix
    assert capacity(svc, taskdef(80), (busy(1), busy(2), idle())) == []


def test_static_port_minimum_50_stops_an_old_task_first() -> None:
    # desired 2, min 50: ceil(1) = 1 must stay, so ECS stops one old task and the new one
    # takes its port: no idle instance needed, only a note that capacity dips.
    svc = service(2, 50, 200)
    (f,) = capacity(svc, taskdef(80), (busy(1), busy(2)))
    assert (f.rule, f.severity) == ("capacity-stop-first", "note")
    assert "stop up to 1 old task before" in f.message and "1 of 2 keep serving" in f.message
    assert capacity(svc, taskdef(80), (busy(1), busy(2), idle())) == []


def test_desired_1_minimum_50_rounds_up_and_needs_an_idle_instance() -> None:
    svc = service(1, 50, 200)  # ceil(0.5) = 1 = desired: no old task may stop first
    (f,) = capacity(svc, taskdef(80), (busy(1),))
    assert f.rule == "capacity" and "no idle instance" in f.message
    assert "minimum_healthy_percent: 0" in (f.fix or "")
    assert capacity(svc, taskdef(80), (busy(1), idle())) == []


def test_idle_instance_must_have_cpu_and_memory() -> None:
    svc = service(2, 100, 200)
    small = idle(remaining_cpu=256)
    assert rules_of(capacity(svc, taskdef(80, cpu=512), (busy(1), busy(2), small))) == ["capacity"]
    low = idle(remaining_memory=512)
    assert rules_of(capacity(svc, taskdef(80, memory=1024), (busy(1), busy(2), low))) == [
        "capacity"
    ]
    exact = idle(remaining_cpu=512, remaining_memory=1024)
    assert capacity(svc, taskdef(80, cpu=512, memory=1024), (busy(1), busy(2), exact)) == []


def test_instance_holding_another_port_is_free_for_this_one() -> None:
    svc = service(2, 100, 200)
    other = busy(3, port=9090)
    assert capacity(svc, taskdef(80), (busy(1), busy(2), other)) == []


def test_draining_instance_does_not_count() -> None:
    svc = service(2, 100, 200)
    draining = replace(idle(), status="DRAINING")
    assert rules_of(capacity(svc, taskdef(80), (busy(1), busy(2), draining))) == ["capacity"]


def test_dynamic_port_needs_only_cpu_and_memory_room() -> None:
    svc = service(2, 100, 200)
    td = taskdef(0)
    # Old tasks on both instances, room left: the new task shares an instance.
    assert capacity(svc, td, (busy(1), busy(2))) == []
    full = (busy(1, cpu=0), busy(2, cpu=0))
    (f,) = capacity(svc, td, full)
    assert f.rule == "capacity"
    assert f.message.startswith("no instance has 512 CPU units and 1024 MiB free")


def test_awsvpc_on_ec2_holds_no_host_port() -> None:
    td = taskdef(8080, mode="awsvpc")
    assert task_needs(td).tcp_ports == frozenset()
    assert capacity(service(2, 100, 200), td, (busy(1, port=8080), busy(2, port=8080))) == []


def test_host_mode_holds_the_container_port() -> None:
    td = taskdef(0, mode="host")
    assert task_needs(td).tcp_ports == frozenset({8080})
    found = capacity(service(2, 100, 200), td, (busy(1, port=8080), busy(2, port=8080)))
    assert rules_of(found) == ["capacity"]


def test_fargate_needs_no_instance_only_room_in_maximum_percent() -> None:
    svc = service(2, 100, 200, launch_type="FARGATE")
    td = taskdef(8080, mode="awsvpc")
    tg = replace(TG, target_type="ip")
    assert check_service(svc, td, facts(launch_type="FARGATE", target_group=tg)) == []
    stuck = service(2, 100, 100, launch_type="FARGATE")
    found = check_service(stuck, td, facts(launch_type="FARGATE", target_group=tg))
    assert rules_of(found) == ["progress"]


def test_no_active_instance() -> None:
    (f,) = capacity(service(2, 50, 200), taskdef(0), ())
    assert f.message == "the cluster has no ACTIVE container instance"


def test_static_port_needs_an_instance_per_task() -> None:
    (f,) = capacity(service(3, 50, 200), taskdef(80), (busy(1), busy(2)))
    assert f.rule == "capacity"
    assert "needs 3 instances; the cluster has 2 ACTIVE" in f.message


def test_task_too_big_for_any_instance() -> None:
    (f,) = capacity(service(1, 100, 200), taskdef(0, cpu=8192), (idle(),))
    assert "the largest instance has 4096 CPU units" in f.message


def test_service_to_be_created_has_no_old_tasks_to_replace() -> None:
    found = check_service(
        service(2, 100, 200), taskdef(80), facts(instances=(busy(1), busy(2)), exists=False)
    )
    assert "capacity" not in rules_of(found)


def test_task_needs_follow_ecs_reservation() -> None:
    td = taskdef(80, container={"memoryReservation": 768})
    assert (task_needs(td).cpu, task_needs(td).memory) == (512, 768)
    td = taskdef(80, extra={"cpu": "1 vCPU", "memory": "2 GB"})
    assert (task_needs(td).cpu, task_needs(td).memory) == (1024, 2048)
    udp = taskdef(
        0, container={"portMappings": [{"containerPort": 53, "hostPort": 53, "protocol": "udp"}]}
    )
    assert task_needs(udp).udp_ports == frozenset({53}) and not task_needs(udp).tcp_ports


def test_launch_type_resolution() -> None:
    svc = service(launch_type=None)
    assert resolve_launch_type(svc, {"requiresCompatibilities": ["FARGATE"]}, None) == "FARGATE"
    assert resolve_launch_type(svc, {}, {"launchType": "EC2"}) == "EC2"
    assert (
        resolve_launch_type(
            svc, {}, {"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT"}]}
        )
        == "FARGATE"
    )
    assert resolve_launch_type(svc, {}, None) == "EC2"
    assert (
        resolve_launch_type(service(launch_type="FARGATE"), {}, {"launchType": "EC2"}) == "FARGATE"
    )


# --- load balancer -------------------------------------------------------------------------------


def test_missing_target_group() -> None:
    found = check_service(service(), taskdef(0), facts(target_group=None))
    (f,) = [f for f in found if f.rule == "target-group"]
    assert f.message == "target group 'web' does not exist" and f.severity == "error"


def test_target_group_without_listener() -> None:
    tg = replace(TG, listeners=(), load_balancers=())
    (f,) = check_service(service(), taskdef(0), facts(target_group=tg))
    assert f.rule == "target-group-listener"
    assert f.message == "target group web is not attached to a load balancer listener"


def test_health_check_disabled_is_downtime() -> None:
    tg = replace(TG, health_check_enabled=False)
    (f,) = check_service(service(), taskdef(0), facts(target_group=tg))
    assert (f.rule, f.severity, f.downtime) == ("health-check", "error", True)
    (note,) = check_service(service(zero_downtime=False), taskdef(0), facts(target_group=tg))
    assert note.severity == "note"


def test_target_type_must_match_network_mode() -> None:
    (f,) = check_service(service(), taskdef(8080, mode="awsvpc"), facts())
    assert f.rule == "target-type"
    assert "target type 'instance'; the awsvpc network mode needs 'ip'" in f.message
    ip = replace(TG, target_type="ip")
    (g,) = check_service(service(), taskdef(0), facts(target_group=ip))
    assert "the bridge network mode needs 'instance'" in g.message


def test_container_and_port_of_the_load_balancer() -> None:
    td = taskdef(0, container={"name": "app"})
    (f,) = check_service(service(), td, facts())
    assert f.rule == "container-port" and "'web' is not a container" in f.message
    assert f.fix == "use one of: app"
    td = taskdef(0, container={"portMappings": [{"containerPort": 9000, "hostPort": 0}]})
    (g,) = check_service(service(), td, facts())
    assert g.message == "container 'web' does not map load_balancer.port 8080"


def test_udp_port_behind_an_http_target_group() -> None:
    td = taskdef(0, container={"portMappings": [{"containerPort": 8080, "protocol": "udp"}]})
    (f,) = check_service(service(), td, facts())
    assert f.rule == "target-protocol"
    udp = replace(TG, protocol="UDP")
    assert check_service(service(), td, facts(target_group=udp)) == []


# --- timing ---------------------------------------------------------------------------------------


def test_deregistration_delay_must_fit_the_timeout() -> None:
    tg = replace(TG, deregistration_delay=300)
    (f,) = check_service(service(timeout=300), taskdef(0), facts(target_group=tg))
    assert (f.rule, f.severity) == ("deregistration-delay", "error")
    assert "drains for 300s" in f.message and "deployment.timeout 300s" in f.message
    found = check_service(service(timeout=301), taskdef(0), facts(target_group=tg))
    assert "deregistration-delay" not in rules_of(found)


def test_estimated_duration_beyond_the_timeout_warns() -> None:
    # desired 4, min 100, max 125: one task per round, 4 rounds of 2 x 10 s + 30 s = 200 s.
    svc = service(4, 100, 125, timeout=199)
    (f,) = check_service(svc, taskdef(0), facts())
    assert (f.rule, f.severity) == ("deployment-duration", "warning")
    assert "about 200s (4 rounds of" in f.message
    assert check_service(service(4, 100, 125, timeout=200), taskdef(0), facts()) == []


def test_grace_period_covers_a_slow_start() -> None:
    slow = taskdef(0, container={"healthCheck": {"command": ["CMD", "true"], "startPeriod": 60}})
    (f,) = check_service(service(), slow, facts())
    assert (f.rule, f.severity) == ("grace-period", "warning")
    assert "startPeriod 60s" in f.message and "grace period is 0s" in f.message
    assert f.fix == "set health_check_grace_period: 60s (or more)"
    assert check_service(service(grace=60), slow, facts()) == []
    # The live service's grace period counts when deploy.yaml sets none.
    assert check_service(service(), slow, facts(grace_period=90)) == []
    assert rules_of(check_service(service(grace=59), slow, facts())) == ["grace-period"]


def test_slow_target_group_without_grace_period_warns() -> None:
    tg = replace(TG, healthy_threshold=5, interval=30)  # 150 s to turn healthy
    (f,) = check_service(service(), taskdef(0), facts(target_group=tg))
    assert f.rule == "grace-period" and "need 150s to turn healthy" in f.message
    assert check_service(service(grace=30), taskdef(0), facts(target_group=tg)) == []
    quick = replace(TG, healthy_threshold=5, interval=11)  # 55 s: below the 60 s line
    assert check_service(service(), taskdef(0), facts(target_group=quick)) == []


# --- resources ------------------------------------------------------------------------------------


def test_missing_image() -> None:
    images = (ImageFacts("web", "repo/web:1", False, "its source repo/web:latest does not exist"),)
    (f,) = check_service(service(), taskdef(0), facts(images=images))
    assert f.rule == "image"
    assert "image `web` (repo/web:1) is not in its registry" in f.message
    assert f.message.endswith("its source repo/web:latest does not exist")
    ok = (ImageFacts("web", "repo/web:1", True),)
    assert check_service(service(), taskdef(0), facts(images=ok)) == []


def test_missing_roles_and_execution_role() -> None:
    td = taskdef(
        0,
        extra={
            "taskRoleArn": "arn:aws:iam::1:role/app/web-task",
            "executionRoleArn": "arn:aws:iam::1:role/web-exec",
        },
    )
    found = check_service(service(), td, facts(roles={"web-task": False, "web-exec": True}))
    (f,) = found
    assert f.message == "IAM role web-task (taskRoleArn) does not exist"
    assert check_service(service(), td, facts(roles={"web-task": True, "web-exec": True})) == []
    with_secret = taskdef(0, container={"secrets": [{"name": "DB", "valueFrom": "/app/db"}]})
    sref = secret_ref("/app/db", "web")
    found = check_service(service(), with_secret, facts(secrets={sref: True}))
    assert rules_of(found) == ["execution-role"]


def test_missing_log_group_unless_created_by_ecs() -> None:
    log = {
        "logDriver": "awslogs",
        "options": {"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1"},
    }
    td = taskdef(0, container={"logConfiguration": log})
    ref = LogGroupRef("/ecs/web", "eu-west-1")
    assert log_groups(td) == [ref]
    (f,) = check_service(service(), td, facts(log_groups={ref: False}))
    assert f.message == "log group /ecs/web in eu-west-1 does not exist"
    created = {**log, "options": {**log["options"], "awslogs-create-group": "true"}}
    assert log_groups(taskdef(0, container={"logConfiguration": created})) == []


def test_secret_references() -> None:
    sm = secret_ref(
        "arn:aws:secretsmanager:eu-west-1:1:secret:billing/stripe-Ab12Cd:api_key::", "api"
    )
    assert (sm.kind, sm.id, sm.region) == (
        "secretsmanager",
        "arn:aws:secretsmanager:eu-west-1:1:secret:billing/stripe-Ab12Cd",
        "eu-west-1",
    )
    deep = secret_ref("arn:aws:ssm:eu-west-1:1:parameter/billing/database-url", "api")
    assert (deep.kind, deep.id, deep.region) == ("ssm", "/billing/database-url", "eu-west-1")
    flat = secret_ref("arn:aws:ssm:eu-west-1:1:parameter/token", "api")
    assert flat.id == "token"
    name = secret_ref("/billing/key", "api")
    assert (name.kind, name.id, name.region) == ("ssm", "/billing/key", None)
    td = taskdef(
        0,
        container={
            "secrets": [{"name": "A", "valueFrom": "/a"}],
            "repositoryCredentials": {
                "credentialsParameter": "arn:aws:secretsmanager:us-east-1:1:secret:reg-AbCdEf"
            },
            "logConfiguration": {
                "logDriver": "splunk",
                "secretOptions": [{"name": "t", "valueFrom": "/a"}],
            },
        },
    )
    assert [s.id for s in secrets(td)] == [
        "/a",
        "arn:aws:secretsmanager:us-east-1:1:secret:reg-AbCdEf",
    ]


def test_missing_secret() -> None:
    td = taskdef(
        0,
        container={"secrets": [{"name": "DB", "valueFrom": "/app/db"}]},
        extra={"executionRoleArn": "arn:aws:iam::1:role/exec"},
    )
    sref: SecretRef = secret_ref("/app/db", "web")
    (f,) = check_service(service(), td, facts(secrets={sref: False}, roles={"exec": True}))
    assert f.message == "SSM parameter /app/db (container 'web') does not exist"


# --- summary and enforce ---------------------------------------------------------------------------


def test_summary_counts() -> None:
    assert summary([]) == "All checks passed."
    found = [
        Finding("error", "a", "m", "w"),
        Finding("error", "a", "m", "w"),
        Finding("warning", "a", "m", "w"),
        Finding("note", "b", "m", "w"),
    ]
    assert summary(found) == "2 errors, 1 warning, 1 note."
    assert summary(found[2:3]) == "1 warning."


def test_enforce_refuses_on_errors_and_lets_downtime_through_when_allowed() -> None:
    downtime = rolling_findings(service(1, 0, 100))
    with pytest.raises(RefusedError) as caught:
        enforce(downtime, allow_downtime=False)
    assert caught.value.exit_status == ExitStatus.REFUSED == 4
    (text,) = caught.value.lines()
    assert text.startswith("zero-downtime pre-flight failed: 1 blocking finding\n")
    assert "web: with desired_count 1 and minimum_healthy_percent 0" in text
    assert "fix: set minimum_healthy_percent: 100" in text
    assert "--allow-downtime" in text
    enforce(downtime, allow_downtime=True)  # accepted downtime: no refusal

    failure = rolling_findings(service(2, 100, 100))
    with pytest.raises(RefusedError):
        enforce(failure, allow_downtime=True)  # never progresses: allowing downtime is no help
    assert blocking(failure, allow_downtime=True) == failure

    enforce(
        [Finding("warning", "web", "m", "w"), Finding("note", "web", "m", "w")],
        allow_downtime=False,
    )


@pytest.mark.parametrize(
    ("exists", "live", "stuck"),
    [(True, 3, False), (True, 1, True), (False, None, True)],
    ids=["live-3", "live-1", "new-service-starts-at-1"],
)
def test_omitted_desired_count_is_judged_with_the_live_count(
    exists: bool, live: int | None, stuck: bool
) -> None:
    # 50%/100%: with 1 task nothing may stop or start; with 3, one may stop first.
    svc = replace(service(1, 50, 100), desired_count=None)
    facts = ServiceFacts(
        launch_type="FARGATE", exists=exists, target_groups={"web": TG}, live_desired=live
    )
    found = rules_of(check_service(svc, taskdef(mode="awsvpc"), facts))
    assert ("progress" in found) is stuck


# --- DAEMON services: one task per instance, replaced in place -----------------------------


def daemon(minimum: int = 50, *, lb: bool = True, zero_downtime: bool = True) -> Service:
    return replace(
        service(minimum=minimum, maximum=100, lb=lb, zero_downtime=zero_downtime),
        desired_count=None,
        scheduling_strategy="DAEMON",
    )


def on(n: int, *, exists: bool = True) -> ServiceFacts:
    """A DAEMON service's facts on a cluster of `n` busy instances (live count n)."""
    return facts(
        instances=tuple(busy(i) for i in range(n)),
        exists=exists,
        live_desired=n if exists else None,
    )


@pytest.mark.parametrize(
    ("instances", "minimum", "expected"),
    [
        (3, 50, []),  # keeps ceil(1.5) = 2, replaces 1 at a time
        (3, 66, []),  # ceil(1.98) = 2
        (2, 50, []),  # keeps 1
        (3, 0, ["minimum-healthy"]),  # every instance at once
        (1, 0, ["minimum-healthy"]),  # one instance: a gap
        (3, 67, ["progress"]),  # ceil(2.01) = 3: none may stop
        (3, 100, ["progress"]),
        (1, 50, ["progress"]),  # ceil(0.5) = 1 of 1
        (0, 50, ["capacity"]),  # no instance: runs nothing
    ],
)
def test_daemon_arithmetic(instances: int, minimum: int, expected: list[str]) -> None:
    found = check_service(daemon(minimum), taskdef(host_port=0), on(instances))
    assert rules_of(found) == expected, [f.message for f in found]
    assert all(f.severity == "error" for f in found)


def test_daemon_gap_finding_says_how_many_keep_serving() -> None:
    (found,) = check_service(daemon(0), taskdef(host_port=0), on(3))
    assert found.downtime
    assert found.message == (
        "DAEMON service on 3 instances with minimum_healthy_percent 0: no task has to stay "
        "healthy during an update (ceil(3 x 0%) = 0), so ECS may replace the task on every "
        "instance at once"
    )
    assert found.fix == (
        "set minimum_healthy_percent: 50 (keeps 2 of 3 instances serving while the others "
        "are replaced)"
    )


def test_daemon_on_one_instance_has_no_zero_downtime_setting() -> None:
    (gap,) = check_service(daemon(0), taskdef(host_port=0), on(1))
    assert gap.fix is not None and gap.fix.startswith("add a container instance")
    (stuck,) = check_service(daemon(50), taskdef(host_port=0), on(1))
    assert stuck.rule == "progress" and not stuck.downtime
    assert stuck.fix is not None and "set minimum_healthy_percent: 0" in stuck.fix
    (stuck3,) = check_service(daemon(67), taskdef(host_port=0), on(3))
    assert stuck3.fix == "set minimum_healthy_percent: 50 (ECS then replaces 1 at a time)"


def test_daemon_without_load_balancer_says_only_that() -> None:
    # The load-balancer finding covers the downtime; a worker turns it into a note.
    found = check_service(daemon(0, lb=False), taskdef(host_port=0), on(3))
    assert rules_of(found) == ["load-balancer"]
    soft = check_service(daemon(0, lb=False, zero_downtime=False), taskdef(), on(3))
    assert rules_of(soft, "note") == ["load-balancer"]


def test_daemon_needs_no_spare_capacity() -> None:
    # Static host port 80 held on every instance and no room for an extra task: a
    # REPLICA service would stall; a daemon task is replaced on its own instance.
    found = check_service(daemon(50), taskdef(host_port=80), on(3))
    assert rules_of(found) == []
    replica = check_service(service(3, 100, 200), taskdef(host_port=80), on(3))
    assert "capacity" in rules_of(replica)


def test_daemon_count_is_the_live_count_else_the_active_instances() -> None:
    # Not created yet: the cluster's ACTIVE instances (a DRAINING one gets no task).
    instances = (busy(0), busy(1), replace(busy(2), status="DRAINING"))
    found = check_service(daemon(0), taskdef(host_port=0), facts(instances=instances, exists=False))
    assert "ceil(2 x 0%)" in found[0].message
    # Live: what ECS counts (the instances that meet the placement constraints).
    live = check_service(
        daemon(0), taskdef(host_port=0), facts(instances=instances, exists=True, live_desired=1)
    )
    assert "DAEMON service on 1 instance " in live[0].message


def test_daemon_deployment_duration_counts_instances_per_round() -> None:
    slow = replace(TG, deregistration_delay=300, healthy_threshold=5, interval=30)
    svc = replace(daemon(50), deployment=replace(daemon(50).deployment, timeout=600.0))
    found = check_service(svc, taskdef(host_port=0), replace(on(4), target_groups={"web": slow}))
    (duration,) = [f for f in found if f.rule == "deployment-duration"]
    # 4 instances, 2 kept: 2 rounds of 150s + 300s.
    assert duration.message.startswith("the update may take about 900s (2 rounds")
    assert duration.fix is not None and "lower minimum_healthy_percent" in duration.fix
