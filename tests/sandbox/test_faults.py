"""Fault injection (seeded, repeatable) and call counting, from Python and over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ecsdeploy.sandbox.control import SandboxClient
from tests.fixtures.sandbox import SandboxHandle

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def _outcomes(client: Any, n: int) -> list[str]:
    seen = []
    for _ in range(n):
        try:
            client.list_clusters()
            seen.append("ok")
        except ClientError as exc:
            seen.append(exc.response["Error"]["Code"])
    return seen


def test_throttling_is_seeded_and_repeatable(sandbox: SandboxHandle) -> None:
    ecs = sandbox.client("ecs", config=NO_RETRIES)
    sandbox.control.set_faults(throttle=0.5, seed=7, operations=("ecs:ListClusters",))
    first = _outcomes(ecs, 20)
    sandbox.control.set_faults(throttle=0.5, seed=7, operations=("ecs:ListClusters",))
    second = _outcomes(ecs, 20)
    assert first == second
    assert set(first) == {"ok", "ThrottlingException"}
    assert 4 <= first.count("ThrottlingException") <= 16
    ecs.describe_clusters(clusters=["default"])  # not among the faulted operations
    assert sandbox.control.calls() == {"ecs:DescribeClusters": 1, "ecs:ListClusters": 40}


def test_fault_wire_format(sandbox: SandboxHandle) -> None:
    ecs = sandbox.client("ecs", config=NO_RETRIES)
    elbv2 = sandbox.client("elbv2", config=NO_RETRIES)
    sandbox.control.set_faults(throttle=1.0)
    with pytest.raises(ClientError) as caught:
        ecs.list_clusters()
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    with pytest.raises(ClientError) as caught:
        elbv2.describe_target_groups()
    assert caught.value.response["Error"]["Code"] == "Throttling"

    sandbox.control.set_faults(error=1.0, limit=1)
    with pytest.raises(ClientError) as caught:
        ecs.list_clusters()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert ecs.list_clusters()["clusterArns"] == []  # the limit is spent


def test_botocore_retries_through_throttling(sandbox: SandboxHandle) -> None:
    ecs = sandbox.client(
        "ecs", config=Config(retries={"total_max_attempts": 5, "mode": "standard"})
    )
    sandbox.control.set_faults(throttle=1.0, limit=2)
    assert ecs.list_clusters()["clusterArns"] == []
    assert sandbox.control.calls() == {"ecs:ListClusters": 3}  # two throttled, one answered


def test_requests_counted_by_the_access_key_that_signed_them(sandbox: SandboxHandle) -> None:
    import boto3

    client = SandboxClient(sandbox.endpoint_url)
    sandbox.client("ecs").list_clusters()  # the fixture's key id, "sandbox"
    other = boto3.Session(
        aws_access_key_id="ASIAOTHERKEY",
        aws_secret_access_key="never-sent",
        region_name="us-east-1",
    ).client("ecs", endpoint_url=sandbox.endpoint_url)
    other.list_clusters()
    other.describe_clusters(clusters=["default"])
    assert (
        sandbox.control.access_keys()
        == client.access_keys()
        == {
            "ASIAOTHERKEY": {"ecs:DescribeClusters": 1, "ecs:ListClusters": 1},
            "sandbox": {"ecs:ListClusters": 1},
        }
    )
    client.reset_calls()  # resets them with the call counts
    assert client.access_keys() == {}


def test_control_over_http(sandbox: SandboxHandle) -> None:
    client = SandboxClient(sandbox.endpoint_url)
    ecs = sandbox.client("ecs", config=NO_RETRIES)
    elbv2 = sandbox.client("elbv2")
    ecs.list_clusters()
    ecs.list_clusters()
    elbv2.describe_load_balancers()
    assert client.calls() == {"ecs:ListClusters": 2, "elbv2:DescribeLoadBalancers": 1}
    assert client.reset_calls() == {"ecs:ListClusters": 2, "elbv2:DescribeLoadBalancers": 1}
    assert client.calls() == {}

    client.set_faults(error=1.0, operations=["ecs:*"])
    with pytest.raises(ClientError):
        ecs.list_clusters()
    elbv2.describe_load_balancers()  # other services are spared
    client.clear_faults()
    ecs.list_clusters()

    client.speed = 0
    assert client.speed == 0
    before = sandbox.control.clock.now()
    client.advance(120)
    assert sandbox.control.clock.now() - before == pytest.approx(120, abs=0.01)
    assert client.settle() is True

    ecs.create_cluster(clusterName="gone")
    assert client.state()["services"] == []
    client.reset()
    assert ecs.list_clusters()["clusterArns"] == []
    assert client.speed == sandbox.control.speed > 0  # reset restores the starting speed


def test_control_client_refuses_other_hosts() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        SandboxClient("http://example.com:4566")
