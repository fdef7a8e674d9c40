"""moto answers the sandbox corrects: ECR token expiry, SSM ListCommandInvocations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.fixtures.sandbox import SandboxHandle


def test_ecr_token_lasts_twelve_hours(sandbox: SandboxHandle) -> None:
    data = sandbox.client("ecr").get_authorization_token()["authorizationData"][0]
    left = data["expiresAt"] - datetime.now(UTC)
    assert timedelta(hours=11, minutes=59) < left <= timedelta(hours=12)
    assert data["authorizationToken"]


def test_ssm_list_command_invocations(sandbox: SandboxHandle) -> None:
    ec2, ssm = sandbox.client("ec2"), sandbox.client("ssm")
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    image = next(i["ImageId"] for i in images if (i.get("Platform") or "") != "windows")
    instances = [
        i["InstanceId"]
        for i in ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2)["Instances"]
    ]
    command = ssm.send_command(
        InstanceIds=instances,
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["systemctl restart ecs"]},
    )["Command"]["CommandId"]
    listed = ssm.list_command_invocations(CommandId=command, Details=True)["CommandInvocations"]
    assert sorted(i["InstanceId"] for i in listed) == sorted(instances)
    assert {i["Status"] for i in listed} == {"Success"}
    assert listed[0]["CommandPlugins"][0]["Name"] == "aws:runShellScript"
    one = ssm.list_command_invocations(CommandId=command, InstanceId=instances[0])
    assert [i["InstanceId"] for i in one["CommandInvocations"]] == [instances[0]]
    assert one["CommandInvocations"][0]["CommandPlugins"] == []
    other = "00000000-0000-4000-8000-000000000000"
    assert ssm.list_command_invocations(CommandId=other)["CommandInvocations"] == []
