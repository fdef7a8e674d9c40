"""`ecsdeploy sandbox` as a user runs it: a subprocess, plain boto3 pointed at its port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3

from ecsdeploy.sandbox.control import SandboxClient

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_rolling_deployment_through_the_cli_sandbox() -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecsdeploy", "sandbox", "--port", str(port), "--speed", "300"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        _wait(SandboxClient(endpoint).ping, 15, "the sandbox to answer")
        assert proc.stdout is not None
        hint = proc.stdout.readline().strip()
        assert hint == (
            f"export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=sandbox "
            "AWS_SECRET_ACCESS_KEY=sandbox AWS_REGION=us-east-1"
        )
        session = boto3.Session(
            aws_access_key_id="sandbox", aws_secret_access_key="sandbox", region_name="us-east-1"
        )
        ecs = session.client("ecs", endpoint_url=endpoint)
        ec2 = session.client("ec2", endpoint_url=endpoint)
        elbv2 = session.client("elbv2", endpoint_url=endpoint)

        ecs.create_cluster(clusterName="shop")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        tg = elbv2.create_target_group(
            Name="shop-web",
            Protocol="HTTP",
            Port=8080,
            VpcId=vpc,
            TargetType="ip",
            HealthCheckIntervalSeconds=5,
            HealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]
        elbv2.modify_target_group_attributes(
            TargetGroupArn=tg,
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "20"}],
        )

        def register(image: str) -> str:
            arn: str = ecs.register_task_definition(
                family="shop-web",
                networkMode="awsvpc",
                requiresCompatibilities=["FARGATE"],
                cpu="256",
                memory="512",
                containerDefinitions=[
                    {"name": "web", "image": image, "portMappings": [{"containerPort": 8080}]}
                ],
            )["taskDefinition"]["taskDefinitionArn"]
            return arn

        ecs.create_service(
            cluster="shop",
            serviceName="shop-web",
            taskDefinition=register("shop/web:1"),
            desiredCount=2,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}},
            loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 8080}],
            deploymentConfiguration={"minimumHealthyPercent": 50, "maximumPercent": 200},
        )

        def service() -> dict:  # type: ignore[type-arg]
            return ecs.describe_services(cluster="shop", services=["shop-web"])["services"][0]

        def steady() -> bool:
            deployments = service()["deployments"]
            return len(deployments) == 1 and deployments[0]["rolloutState"] == "COMPLETED"

        _wait(steady, 20, "the first deployment")
        v2 = register("shop/web:2")
        ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)
        counts: list[int] = []

        def done() -> bool:
            counts.append(len(service()["deployments"]))
            return steady()

        _wait(done, 30, "the rolling deployment")
        assert 2 in counts
        final = service()
        assert final["taskDefinition"] == v2
        assert final["deployments"][0]["taskDefinition"] == v2
        assert final["runningCount"] == 2
        assert final["events"][0]["message"] == "(service shop-web) has reached a steady state."
        states = [
            r["TargetHealth"]["State"]
            for r in elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        ]
        assert states.count("healthy") == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "sandbox stopped" in err


def test_without_moto_the_command_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['moto'] = None\n"
        "from ecsdeploy.cli import main\n"
        "main(['sandbox', '--port', '0'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert "pip install 'ecsdeploy[sandbox]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_cli_does_not_import_moto_to_list_commands() -> None:
    code = (
        "import sys\n"
        "from ecsdeploy.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "import ecsdeploy.cli.sandbox\n"
        "print('moto' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_a_busy_port_is_an_error_not_a_hang() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "ecsdeploy", "sandbox", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 3
    assert f"error: cannot listen on 127.0.0.1:{port}" in result.stderr


def test_global_options_after_sandbox_demo_and_schema() -> None:
    """`-e`, `-f`, `--no-color`… are accepted after every command name."""
    from click.testing import CliRunner

    from ecsdeploy.cli import cli

    runner = CliRunner()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(cli, ["sandbox", "-e", "staging", "--port", str(port)])
    assert result.exit_code == 3, result.output
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    result = runner.invoke(cli, ["schema", "--no-color", "-f", "elsewhere.yaml"])
    assert result.exit_code == 0, result.output
    assert '"$schema"' in result.output
    result = runner.invoke(cli, ["demo", "--help"])
    assert result.exit_code == 0
    assert "-e, --env" in result.output


def test_seed_summary_counts_in_the_right_number() -> None:
    """One cluster is "1 cluster", not "1 clusters"."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    deploy = ROOT / "samples" / "quickstart" / "deploy.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecsdeploy", "sandbox", "--port", str(port), "--seed", str(deploy)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        summary = proc.stderr.readline().strip()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert summary == (
        f"seeded us-east-1 from {deploy}: 1 cluster, 3 container instances, 2 services "
        "on an earlier release"
    ), summary
