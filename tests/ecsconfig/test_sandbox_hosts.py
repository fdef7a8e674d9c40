"""The sandbox's instances as hosts: SSM Run Command runs scripts with shims, the agent
restarts, attributes are listed by name."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def instance(sandbox: Any) -> tuple[str, str]:
    """(EC2 instance id, container instance ARN) of a one-instance cluster `c`."""
    ec2, ecs = sandbox.client("ec2"), sandbox.client("ecs")
    ecs.create_cluster(clusterName="c")
    ami = next(
        i["ImageId"]
        for i in ec2.describe_images(Owners=["amazon"])["Images"]
        if i.get("Platform") != "windows"
    )
    inst = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]
    arn = ecs.register_container_instance(
        cluster="c",
        instanceIdentityDocument=json.dumps(
            {
                "instanceId": inst["InstanceId"],
                "region": "us-east-1",
                "availabilityZone": inst["Placement"]["AvailabilityZone"],
            }
        ),
    )["containerInstance"]["containerInstanceArn"]
    return inst["InstanceId"], arn


def _run(sandbox: Any, instance_id: str, commands: list[str], **extra: Any) -> dict[str, Any]:
    ssm = sandbox.client("ssm")
    cid = ssm.send_command(
        InstanceIds=[instance_id],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": commands, **extra},
    )["Command"]["CommandId"]
    deadline = time.monotonic() + 30
    while True:
        out = ssm.get_command_invocation(CommandId=cid, InstanceId=instance_id)
        if out["Status"] not in ("Pending", "InProgress") or time.monotonic() > deadline:
            return dict(out)
        time.sleep(0.05)


def test_a_script_runs_with_the_shims_and_the_instance_file(
    sandbox: Any, instance: tuple[str, str]
) -> None:
    instance_id, _ = instance
    sandbox.client("ssm").put_parameter(
        Name="/p", Value="ECS_X=1", Type="SecureString", Overwrite=True
    )
    out = _run(
        sandbox,
        instance_id,
        [
            'F="${ECS_CONFIG_FILE:-/etc/ecs/ecs.config}"',
            'cat "$F"',
            "aws ssm get-parameter --name /p --with-decryption --query Parameter.Value"
            " --output text",
            "command -v curl || echo no-curl",
            "echo oops >&2; exit 3",
        ],
    )
    assert out["Status"] == "Failed" and out["ResponseCode"] == 3
    assert out["StandardOutputContent"] == "ECS_CLUSTER=c\nECS_X=1\nno-curl\n"
    assert out["StandardErrorContent"] == "oops\n"
    listed = sandbox.client("ssm").list_command_invocations(InstanceId=instance_id)
    assert [i["Status"] for i in listed["CommandInvocations"]] == ["Failed"]


def test_a_script_without_ecs_config_file_is_not_run(
    sandbox: Any, instance: tuple[str, str]
) -> None:
    out = _run(sandbox, instance[0], ["echo hi > /tmp/ecsdeploy-sandbox-should-not-exist"])
    # moto's answer, as before: nothing ran.
    assert out["Status"] == "Success" and out["StandardOutputContent"] == ""
    assert not Path("/tmp/ecsdeploy-sandbox-should-not-exist").exists()
    assert sandbox.control.hosts.describe() == {}


def test_a_script_is_stopped_at_its_execution_timeout(
    sandbox: Any, instance: tuple[str, str]
) -> None:
    out = _run(sandbox, instance[0], [": ECS_CONFIG_FILE", "sleep 30"], executionTimeout=["1"])
    assert out["Status"] == "TimedOut"


def test_agent_restart_disconnects_it_for_a_while(sandbox: Any, instance: tuple[str, str]) -> None:
    instance_id, arn = instance
    sandbox.control.speed = 0
    out = _run(sandbox, instance_id, [': "$ECS_CONFIG_FILE"', "systemctl restart ecs"])
    assert out["Status"] == "Success"
    ecs = sandbox.client("ecs")

    def connected() -> bool:
        ci = ecs.describe_container_instances(cluster="c", containerInstances=[arn])
        return bool(ci["containerInstances"][0]["agentConnected"])

    assert not connected()
    sandbox.control.advance(11)
    assert connected()
    assert sandbox.control.hosts.describe()[instance_id]["agent_restarts"] == 1


def test_a_broken_ecs_config_keeps_the_agent_away(sandbox: Any, instance: tuple[str, str]) -> None:
    instance_id, arn = instance
    sandbox.control.speed = 0
    out = _run(
        sandbox,
        instance_id,
        ['echo "ECS_ENGINE_AUTH_DATA={broken" >> "$ECS_CONFIG_FILE"', "systemctl restart ecs"],
    )
    assert out["Status"] == "Success"
    sandbox.control.advance(600)
    ci = sandbox.client("ecs").describe_container_instances(cluster="c", containerInstances=[arn])
    assert ci["containerInstances"][0]["agentConnected"] is False
    host = sandbox.control.hosts.describe()[instance_id]
    assert host["agent_error"] == "ECS_ENGINE_AUTH_DATA is not JSON"


def test_list_attributes_by_name_and_the_instances_endpoint(
    sandbox: Any, instance: tuple[str, str]
) -> None:
    instance_id, arn = instance
    ecs = sandbox.client("ecs")
    ecs.put_attributes(
        cluster="c", attributes=[{"name": "ecsdeploy.ecs-config", "value": "abc", "targetId": arn}]
    )
    listed = ecs.list_attributes(
        cluster="c", targetType="container-instance", attributeName="ecsdeploy.ecs-config"
    )["attributes"]
    assert listed == [{"name": "ecsdeploy.ecs-config", "value": "abc", "targetId": arn}]
    sandbox.control.hosts.write_ecs_config(instance_id, "ECS_CLUSTER=c\nECS_Y=2\n")
    with urllib.request.urlopen(f"{sandbox.endpoint_url}/_sandbox/instances") as answer:
        hosts = json.loads(answer.read())["instances"]
    assert hosts[instance_id]["ecs_config"] == "ECS_CLUSTER=c\nECS_Y=2\n"
    assert hosts[instance_id]["cluster"] == "c"
