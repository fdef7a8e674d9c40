"""The ecs.config roll-out from apply, on the sandbox: SSM really runs the script on each
container instance (a folder standing in for it), one instance at a time."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = [pytest.mark.registry]


def test_plan_lists_out_of_date_instances(make_private_app: Callable[..., Any]) -> None:
    app, env = make_private_app()
    result = app.run("plan", env=env)
    assert result.exit_code == 0, result.output
    print(result.output)
    assert "ecs.config on cluster shop: 3 of 3 instances out of date" in result.output
    assert "3 instances to reconfigure." in result.output


def _attributes(sandbox: Any) -> dict[str, str | None]:
    ecs = sandbox.client("ecs")
    arns = ecs.list_container_instances(cluster="shop")["containerInstanceArns"]
    described = ecs.describe_container_instances(cluster="shop", containerInstances=arns)
    return {
        ci["ec2InstanceId"]: {a["name"]: a.get("value") for a in ci["attributes"]}.get(
            "ecsdeploy.ecs-config"
        )
        for ci in described["containerInstances"]
    }


def test_apply_rolls_out_one_instance_at_a_time(
    make_private_app: Callable[..., Any], sandbox: Any, registry: Any
) -> None:
    app, env = make_private_app()
    result = app.run("apply", "--yes", env=env)
    assert result.exit_code == 0, result.output
    hosts = sandbox.control.hosts.describe()
    assert len(hosts) == 3
    auth = json.dumps(
        {registry.host: {"auth": _basic(registry), "email": "ops@example.com"}},
        separators=(",", ":"),
    )
    for instance_id, host in hosts.items():
        # ECS_CLUSTER kept, the managed lines appended, exactly once.
        assert host["ecs_config"] == (
            "ECS_CLUSTER=shop\n"
            "ECS_ENGINE_AUTH_TYPE=dockercfg\n"
            f"ECS_ENGINE_AUTH_DATA={auth}\n"
            "ECS_ENABLE_CONTAINER_METADATA=true\n"
        ), instance_id
        assert host["agent_restarts"] == 1
        assert [r["status"] for r in host["runs"]] == ["Success"]
    # One at a time: each instance's script ended before the next one's started.
    runs = sorted((h["runs"][0] for h in hosts.values()), key=lambda r: r["started"])
    for before, after in itertools.pairwise(runs):
        assert before["ended"] <= after["started"]
    attributes = _attributes(sandbox)
    assert len(set(attributes.values())) == 1 and None not in attributes.values()
    assert "ecs.config on shop: 3 instances reconfigured" in result.output
    again = app.run("plan", "--detailed-exitcode", env=env)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.output
    sandbox.control.reset_calls()
    rerun = app.run("apply", "--yes", env=env)
    assert rerun.exit_code == 0, rerun.output
    assert "No changes." in rerun.output
    assert not [c for c in sandbox.control.calls() if c.startswith("ssm:")]


def _basic(registry: Any) -> str:
    import base64

    return base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()


def _instance_ids(sandbox: Any) -> list[str]:
    ecs = sandbox.client("ecs")
    arns = ecs.list_container_instances(cluster="shop")["containerInstanceArns"]
    described = ecs.describe_container_instances(cluster="shop", containerInstances=arns)
    return sorted(ci["ec2InstanceId"] for ci in described["containerInstances"])


def test_the_script_merges_as_ecsconfig_merge_does(
    make_private_app: Callable[..., Any], sandbox: Any, registry: Any
) -> None:
    from ecsdeploy import ecsconfig
    from ecsdeploy.adapters.credentials import Credentials
    from ecsdeploy.config import load_config

    app, env = make_private_app(instances=1)
    (instance,) = _instance_ids(sandbox)
    existing = (
        "ECS_CLUSTER=shop\n"
        "# ECS_ENGINE_AUTH_TYPE=docker  (a comment stays)\n"
        "ECS_ENGINE_AUTH_TYPE=docker\n"
        'ECS_ENGINE_AUTH_DATA={"old.example.com":{"username":"x","password":"y"}}\n'
        "\n"
        "ECS_ENABLE_CONTAINER_METADATA=false\n"
        "ECS_RESERVED_MEMORY=256\n"
        "  ECS_LOGLEVEL = debug\n"
    )
    sandbox.control.hosts.write_ecs_config(instance, existing)
    result = app.run("apply", "--yes", env=env)
    assert result.exit_code == 0, result.output
    config = load_config(app.deploy_yaml)
    managed = ecsconfig.build(
        config,
        "main",
        ["private"],
        {"private": Credentials(registry.username, registry.password, "ops@example.com")},
    )
    assert sandbox.control.hosts.ecs_config(instance) == ecsconfig.merge(existing, managed)


def test_amazon_linux_1_restarts_the_agent_with_upstart(
    make_private_app: Callable[..., Any], sandbox: Any
) -> None:
    app, env = make_private_app(instances=2)
    for instance in _instance_ids(sandbox):
        sandbox.control.hosts.set_init(instance, "upstart")
    result = app.run("apply", "--yes", env=env)
    assert result.exit_code == 0, result.output
    ssm = sandbox.client("ssm")
    for instance, host in sandbox.control.hosts.describe().items():
        assert host["agent_restarts"] == 1
        out = ssm.get_command_invocation(
            CommandId=host["runs"][0]["command_id"], InstanceId=instance
        )
        assert out["Status"] == "Success"
        assert "ECS agent restarted (stop ecs; start ecs)" in out["StandardOutputContent"]


def test_a_failing_instance_stops_the_rollout_and_the_services(
    make_private_app: Callable[..., Any], sandbox: Any
) -> None:
    app, env = make_private_app()
    first, second, third = _instance_ids(sandbox)
    sandbox.control.hosts.set_init(second, "none")
    sandbox.control.reset_calls()
    result = app.run("apply", "--yes", env=env)
    assert result.exit_code == 1, result.output
    assert f"stopped at instance {second}: SSM command " in result.output
    assert "Failed (Failed, exit code 14)" in result.output
    assert "cannot restart the ECS agent: neither systemctl nor start/stop found" in result.output
    assert "app: failed: not deployed: ecs.config roll-out on cluster shop" in result.output
    hosts = sandbox.control.hosts.describe()
    assert third not in hosts  # never reached
    attributes = _attributes(sandbox)
    assert attributes[first] is not None and attributes[second] is None
    assert attributes[third] is None
    calls = sandbox.control.calls()
    assert not [c for c in calls if c.startswith(("ecs:Register", "ecs:UpdateService"))]
    # The next plan lists what is left.
    again = app.run("plan", env=env)
    assert "2 of 3 instances out of date" in again.output
    assert f"instances: {second}, {third}" in again.output


def test_drain_moves_the_tasks_then_sets_active_again(
    make_private_app: Callable[..., Any], sandbox: Any
) -> None:
    app, env = make_private_app(drain=True)
    plan = app.run("plan", env=env)
    assert "(drain, update through SSM, restart the ECS agent)" in plan.output
    sandbox.control.reset_calls()
    result = app.run("apply", "--yes", env=env)
    assert result.exit_code == 0, result.output
    assert "ecs.config on shop: 3 instances reconfigured" in result.output
    # The service tasks on each instance are counted before it drains (2 tasks of `app`
    # on 3 instances; the ones drained first move to the others).
    moved = re.findall(
        r"draining i-\w+: (\d+) service tasks? to move(?: \((\w+)\))?", result.output
    )
    assert len(moved) == 3, result.output
    assert sum(int(n) for n, _ in moved) >= 2, result.output
    assert {name for n, name in moved if int(n)} == {"app"}
    assert "(s)" not in result.output
    calls = sandbox.control.calls()
    assert calls.get("ecs:UpdateContainerInstancesState") == 6  # DRAINING, ACTIVE each
    ecs = sandbox.client("ecs")
    arns = ecs.list_container_instances(cluster="shop")["containerInstanceArns"]
    described = ecs.describe_container_instances(cluster="shop", containerInstances=arns)
    assert {ci["status"] for ci in described["containerInstances"]} == {"ACTIVE"}
    for ci in described["containerInstances"]:
        assert "ecsdeploy.draining" not in {a["name"] for a in ci["attributes"]}
    service = ecs.describe_services(cluster="shop", services=["app"])["services"][0]
    assert service["runningCount"] == service["desiredCount"] == 2
    assert app.run("plan", env=env).output.rstrip().endswith("No changes.")


def test_an_instance_registered_since_the_plan_is_reconfigured_too(
    make_private_app: Callable[..., Any], sandbox: Any, tmp_path: Any
) -> None:
    app, env = make_private_app(instances=1)
    plan_file = tmp_path / "plan.json"
    assert app.run("plan", "--out", str(plan_file), env=env).exit_code == 0
    ec2, ecs = sandbox.client("ec2"), sandbox.client("ecs")
    ami = next(
        i["ImageId"]
        for i in ec2.describe_images(Owners=["amazon"])["Images"]
        if i.get("Platform") != "windows"
    )
    instance = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]
    ecs.register_container_instance(
        cluster="shop",
        instanceIdentityDocument=json.dumps(
            {
                "instanceId": instance["InstanceId"],
                "region": "us-east-1",
                "availabilityZone": instance["Placement"]["AvailabilityZone"],
            }
        ),
    )
    result = app.run("apply", str(plan_file), env=env)
    assert result.exit_code == 0, result.output
    assert len(sandbox.control.hosts.describe()) == 2
    assert app.run("plan", env=env).output.rstrip().endswith("No changes.")


def test_a_saved_plan_rolls_out_its_own_settings_not_a_later_edit(
    make_private_app: Callable[..., Any], sandbox: Any, tmp_path: Any
) -> None:
    app, env = make_private_app(instances=1)
    plan_file = tmp_path / "plan.json"
    assert app.run("plan", "--out", str(plan_file), env=env).exit_code == 0
    app.edit("deploy.yaml", 'ECS_ENABLE_CONTAINER_METADATA: "true"', "ECS_LOGLEVEL: debug")
    result = app.run("apply", str(plan_file), env=env)
    assert result.exit_code == 0, result.output
    (host,) = sandbox.control.hosts.describe().values()
    text = host["ecs_config"]
    assert "ECS_ENABLE_CONTAINER_METADATA=true" in text
    assert "ECS_LOGLEVEL" not in text
    # The edit is a change for the next plan.
    assert "ECS_LOGLEVEL=debug" in app.run("plan", env=env).output


def test_a_saved_plan_whose_credentials_changed_is_stale(
    make_private_app: Callable[..., Any], sandbox: Any, tmp_path: Any
) -> None:
    app, env = make_private_app(instances=1)
    plan_file = tmp_path / "plan.json"
    assert app.run("plan", "--out", str(plan_file), env=env).exit_code == 0
    sandbox.control.reset_calls()
    result = app.run("apply", str(plan_file), env={**env, "REG_PASS": "another-password"})
    assert result.exit_code == 4, result.output
    assert "plan is stale: the ecs.config of cluster shop is not the one planned" in result.output
    assert "another-password" not in result.output
    assert not [c for c in sandbox.control.calls() if c.startswith("ssm:")]


def test_an_agent_that_does_not_reconnect_stops_the_rollout(
    make_private_app: Callable[..., Any], sandbox: Any
) -> None:
    """Driven below the CLI to shorten the agent's time-out; a drained instance whose
    agent is away stays DRAINING."""
    import threading

    from ecsdeploy.adapters.aws import AwsClients, AwsSettings
    from ecsdeploy.adapters.container_instances import ContainerInstances
    from ecsdeploy.adapters.ecs import EcsReader
    from ecsdeploy.adapters.instances import InstancesAdapter
    from ecsdeploy.adapters.ssm import SsmAdapter
    from ecsdeploy.config import load_config
    from ecsdeploy.context import prepare
    from ecsdeploy.execute.ecsconfig_rollout import EcsConfigRollout, RolloutFailed
    from ecsdeploy.execute.report import Reporter
    from ecsdeploy.operations.plan import make as make_plan

    app, env = make_private_app(drain=True, instances=2)
    first, _second = _instance_ids(sandbox)
    sandbox.control.hosts.break_agent(first)
    clients = AwsClients(AwsSettings("us-east-1", None, sandbox.endpoint_url))
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        ctx = prepare(load_config(app.deploy_yaml), revision="b" * 40, settings=clients.settings)
    from ecsdeploy.plan.model import EcsConfigStep

    (step,) = [
        s
        for sp in make_plan(ctx, preflight=False)[0].services
        for s in sp.steps
        if isinstance(s, EcsConfigStep)
    ]
    import io

    log = io.StringIO()
    rollout = EcsConfigRollout(
        SsmAdapter(clients),
        ContainerInstances(clients),
        InstancesAdapter(clients),
        EcsReader(clients),
        Reporter(log),
        threading.Event(),
        region="us-east-1",
        poll=0.05,
        agent_timeout=1.0,
    )
    with pytest.raises(RolloutFailed) as failed:
        rollout.run(step, ctx.ecs_configs["main"], "app")
    assert failed.value.message == (
        f"ecs.config roll-out on cluster shop stopped at instance {first}: "
        f"timed out waiting for the ECS agent on {first} to reconnect"
    )
    assert f"{first} left DRAINING: its agent is not connected" in log.getvalue()
    states = {
        ci["ec2InstanceId"]: ci["status"]
        for ci in sandbox.client("ecs").describe_container_instances(
            cluster="shop",
            containerInstances=sandbox.client("ecs").list_container_instances(cluster="shop")[
                "containerInstanceArns"
            ],
        )["containerInstances"]
    }
    assert states == {first: "DRAINING", _second: "ACTIVE"}
    assert _attributes(sandbox) == {first: None, _second: None}


def test_draining_the_only_instance_is_warned(make_private_app: Callable[..., Any]) -> None:
    app, env = make_private_app(drain=True, instances=1)
    plan = app.run("plan", env=env)
    assert plan.exit_code == 0, plan.output
    assert "cluster shop has 1 container instance: draining it" in plan.output


def test_an_instance_without_the_aws_cli_is_named_with_the_fix(
    make_private_app: Callable[..., Any], sandbox: Any
) -> None:
    app, env = make_private_app(instances=1)
    (instance,) = _instance_ids(sandbox)
    sandbox.control.hosts.set_init(instance, "systemd", aws=False)
    result = app.run("apply", "--yes", env=env)
    assert result.exit_code == 1, result.output
    assert f"stopped at instance {instance}" in result.output
    assert "(Failed, exit code 11)" in result.output
    assert "the AWS CLI (aws) is not installed on this instance" in result.output
    assert "hint: install the AWS CLI on the instances" in result.output
    assert sandbox.control.hosts.describe()[instance]["agent_restarts"] == 0


def test_an_unreadable_parameter_is_named_with_the_permissions_it_needs(
    make_private_app: Callable[..., Any], sandbox: Any
) -> None:
    app, env = make_private_app(instances=1)
    # Every GetParameter (only the instance's `aws` makes one) answers 500.
    sandbox.control.set_faults(error=1.0, operations=("ssm:GetParameter",))
    result = app.run("apply", "--yes", env=env)
    assert result.exit_code == 1, result.output
    assert "(Failed, exit code 12)" in result.output
    assert "cannot read SSM parameter /ecsdeploy/shop/ecs-config" in result.output
    assert "when calling the GetParameter operation" in result.output
    assert "the instance role needs ssm:GetParameter on the parameter" in result.output
    (host,) = sandbox.control.hosts.describe().values()
    assert host["ecs_config"] == "ECS_CLUSTER=shop\n"  # untouched


def test_an_ecs_config_registry_without_credentials_is_an_input_error(
    sandbox: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.apps import App

    (tmp_path / "deploy.yaml").write_text(
        "version: 1\nregion: us-east-1\n"
        "registries:\n  private: {type: docker, url: 'reg.example:5000', ecs_config: true}\n"
        "images:\n  app: {registry: private, repository: shop/app, tag: v1}\n"
        "clusters:\n  main: {name: shop}\n"
        "services:\n  app: {cluster: main, task_definition: app.json}\n"
    )
    (tmp_path / "app.json").write_text(
        '{"family": "app", "containerDefinitions": '
        '[{"name": "app", "image": "{{ images.app.uri }}", "memory": 64}]}'
    )
    empty = tmp_path / "docker-config"
    empty.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(empty))  # no `docker login` either
    sandbox.control.reset_calls()
    result = App(tmp_path, sandbox.endpoint_url).run("plan")
    assert result.exit_code == 3, result.output
    assert "registry `private` needs credentials for ECS and none were found" in result.output
    assert "set auth.username_env/password_env, or `docker login` to it" in result.output
    assert sandbox.control.calls() == {}


def test_a_failed_rollout_fails_only_the_services_of_its_cluster(
    sandbox: Any, tmp_path: Any, registry: Any
) -> None:
    from tests.apps import seed_app
    from tests.ecsconfig.conftest import DEPLOY, TEMPLATE, put_image

    put_image(registry, "shop/app", "v1")
    folder = tmp_path / "two"
    folder.mkdir()
    text = DEPLOY.format(
        host=registry.host,
        auth_extra="",
        ecs_config="ecs_config: true",
        cluster_ecs_config="",
        source="tag: v1",
    )
    text = text.replace("clusters:\n", "clusters:\n  other: {name: shop2}\n")
    text += (
        "  app2:\n    cluster: other\n    launch_type: EC2\n    task_definition: app2.json.j2\n"
        "    desired_count: 1\n    zero_downtime: false\n"
        "    deployment: {minimum_healthy_percent: 0, maximum_percent: 100, poll_interval: 100ms}\n"
    )
    (folder / "deploy.yaml").write_text(text)
    (folder / "app.json.j2").write_text(TEMPLATE.replace("{execution_role}", ""))
    (folder / "app2.json.j2").write_text(
        TEMPLATE.replace("{execution_role}", "").replace("shop-app", "shop-app2")
    )
    app = seed_app(sandbox, folder, instances=1)
    env = {"REG_USER": registry.username, "REG_PASS": registry.password}
    ecs = sandbox.client("ecs")
    broken = ecs.describe_container_instances(
        cluster="shop",
        containerInstances=ecs.list_container_instances(cluster="shop")["containerInstanceArns"],
    )["containerInstances"][0]["ec2InstanceId"]
    sandbox.control.hosts.set_init(broken, "none")
    result = app.run("apply", "--yes", env=env)
    assert result.exit_code == 1, result.output
    assert "app: failed: not deployed: ecs.config roll-out on cluster shop" in result.output
    assert "app2: unchanged" in result.output
    assert "Apply failed: 1 of 2 services ok." in result.output
    plan = app.run("plan", env=env)
    assert "ecs.config on cluster shop: 1 of 1 instance out of date" in plan.output
    assert "ecs.config on cluster shop2" not in plan.output  # that cluster is done


def test_plan_of_one_service_keeps_the_registries_of_the_clusters_other_services(
    sandbox: Any, tmp_path: Any, registry: Any
) -> None:
    """`--service web` must not roll out an ecs.config that drops the registry `app` needs."""
    from tests.apps import seed_app
    from tests.ecsconfig.conftest import DEPLOY, TEMPLATE, put_image

    put_image(registry, "shop/app", "v1")
    folder = tmp_path / "partial"
    folder.mkdir()
    text = DEPLOY.format(
        host=registry.host,
        auth_extra="",
        ecs_config="ecs_config: true",
        cluster_ecs_config="",
        source="tag: v1",
    )
    text = text.replace(
        "registries:\n",
        "registries:\n  ecr: {type: ecr, url: 123456789012.dkr.ecr.us-east-1.amazonaws.com}\n",
    ).replace(
        "images:\n", "images:\n  web: {registry: ecr, repository: shop/web, promote: latest}\n"
    )
    text += (
        "  web:\n    cluster: main\n    launch_type: EC2\n    task_definition: web.json.j2\n"
        "    desired_count: 1\n    zero_downtime: false\n"
    )
    (folder / "deploy.yaml").write_text(text)
    (folder / "app.json.j2").write_text(TEMPLATE.replace("{execution_role}", ""))
    (folder / "web.json.j2").write_text(
        TEMPLATE.replace("{execution_role}", "")
        .replace("shop-app", "shop-web")
        .replace("images.app.uri", "images.web.uri")
    )
    app = seed_app(sandbox, folder, instances=1)
    env = {"REG_USER": registry.username, "REG_PASS": registry.password}
    plan = app.run("plan", "--service", "web", "--format", "json", env=env)
    assert plan.exit_code == 0, plan.output
    (service,) = json.loads(plan.output)["services"]
    assert service["key"] == "web"
    (step,) = [s for s in service["steps"] if s["kind"] == "ecs_config"]
    assert any(registry.host in line for line in step["lines"])
