"""RegisterTaskDefinition against the sandbox as against ECS: the defaults it fills in,
the task definitions it refuses (code and message), and the valid ones moto refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.sandbox import SandboxHandle

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web:1"


@pytest.fixture
def ecs(sandbox: SandboxHandle) -> Any:
    return sandbox.client("ecs")


def ec2_bridge(**container: Any) -> dict[str, Any]:
    """A minimal EC2 task definition: no network mode, one container."""
    return {
        "family": "shop-web",
        "containerDefinitions": [{"name": "web", "image": IMAGE, "memory": 256, **container}],
    }


def fargate(**container: Any) -> dict[str, Any]:
    return {
        "family": "shop-web",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        "containerDefinitions": [{"name": "web", "image": IMAGE, **container}],
    }


def register_and_describe(ecs: Any, params: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    registered = ecs.register_task_definition(**params)["taskDefinition"]
    described = ecs.describe_task_definition(taskDefinition=registered["taskDefinitionArn"])
    return registered, described["taskDefinition"]


# -- defaults --------------------------------------------------------------------------


def test_container_defaults_on_ec2(ecs: Any) -> None:
    registered, described = register_and_describe(
        ecs, ec2_bridge(portMappings=[{"containerPort": 8080}])
    )
    assert registered == described
    (web,) = described["containerDefinitions"]
    assert web["cpu"] == 0
    assert web["essential"] is True
    assert web["portMappings"] == [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}]
    for key in ("environment", "mountPoints", "volumesFrom", "systemControls"):
        assert web[key] == [], key
    assert described["volumes"] == []
    assert described["placementConstraints"] == []
    # No network mode given: ECS reports none (bridge is the default, left out).
    assert "networkMode" not in described
    assert "requiresCompatibilities" not in described
    assert described["compatibilities"] == ["EC2"]
    assert described["status"] == "ACTIVE"
    assert described["revision"] == 1
    assert described["registeredBy"] == "arn:aws:iam::123456789012:root"
    assert isinstance(described["registeredAt"], type(registered["registeredAt"]))


def test_given_values_are_kept(ecs: Any) -> None:
    params = ec2_bridge(
        cpu=128,
        essential=True,
        portMappings=[{"containerPort": 8080, "hostPort": 80, "protocol": "udp"}],
        environment=[{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
    )
    params["networkMode"] = "bridge"
    _, described = register_and_describe(ecs, params)
    (web,) = described["containerDefinitions"]
    assert web["cpu"] == 128
    assert web["portMappings"] == [{"containerPort": 8080, "hostPort": 80, "protocol": "udp"}]
    assert web["environment"] == [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]
    assert described["networkMode"] == "bridge"
    assert described["compatibilities"] == ["EXTERNAL", "EC2"]


def test_awsvpc_host_port_defaults_to_the_container_port(ecs: Any) -> None:
    _, described = register_and_describe(
        ecs, fargate(portMappings=[{"containerPort": 8080}, {"containerPort": 9090}])
    )
    assert described["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"},
        {"containerPort": 9090, "hostPort": 9090, "protocol": "tcp"},
    ]


def test_host_mode_host_port_defaults_to_the_container_port(ecs: Any) -> None:
    params = ec2_bridge(portMappings=[{"containerPort": 8500}])
    params["networkMode"] = "host"
    _, described = register_and_describe(ecs, params)
    assert described["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 8500, "hostPort": 8500, "protocol": "tcp"}
    ]


def test_fargate_task_definition(ecs: Any) -> None:
    params = fargate(logConfiguration={"logDriver": "awslogs", "options": {"awslogs-group": "g"}})
    params["cpu"], params["memory"] = "0.25 vCPU", "1 GB"
    _, described = register_and_describe(ecs, params)
    # Unit strings are stored as integers of CPU units and MiB.
    assert (described["cpu"], described["memory"]) == ("256", "1024")
    assert described["networkMode"] == "awsvpc"
    assert described["requiresCompatibilities"] == ["FARGATE"]
    assert described["compatibilities"] == ["EC2", "MANAGED_INSTANCES", "FARGATE"]
    assert [a["name"] for a in described["requiresAttributes"]] == [
        "com.amazonaws.ecs.capability.logging-driver.awslogs",
        "ecs.capability.execution-role-awslogs",
        "com.amazonaws.ecs.capability.ecr-auth",
        "com.amazonaws.ecs.capability.docker-remote-api.1.19",
        "ecs.capability.execution-role-ecr-pull",
        "com.amazonaws.ecs.capability.docker-remote-api.1.18",
        "ecs.capability.task-eni",
    ]


def test_required_attributes_follow_what_the_task_uses(ecs: Any) -> None:
    params = ec2_bridge(
        image="nginx:1.27",
        memoryReservation=128,
        healthCheck={"command": ["CMD-SHELL", "true"]},
        secrets=[
            {"name": "A", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:a"},
            {"name": "B", "valueFrom": "/shop/b"},
        ],
    )
    params["taskRoleArn"] = "arn:aws:iam::123456789012:role/shop"
    _, described = register_and_describe(ecs, params)
    assert [a["name"] for a in described["requiresAttributes"]] == [
        "com.amazonaws.ecs.capability.task-iam-role",
        "ecs.capability.container-health-check",
        "ecs.capability.secrets.asm.environment-variables",
        "ecs.capability.secrets.ssm.environment-variables",
        "com.amazonaws.ecs.capability.docker-remote-api.1.21",
        "com.amazonaws.ecs.capability.docker-remote-api.1.18",
    ]
    # Health-check timings default to 30 s, 5 s and 3 retries.
    assert described["containerDefinitions"][0]["healthCheck"] == {
        "command": ["CMD-SHELL", "true"],
        "interval": 30,
        "timeout": 5,
        "retries": 3,
    }


def test_deregistered_revision_keeps_its_shape(ecs: Any) -> None:
    arn = ecs.register_task_definition(**ec2_bridge())["taskDefinition"]["taskDefinitionArn"]
    gone = ecs.deregister_task_definition(taskDefinition=arn)["taskDefinition"]
    assert gone["status"] == "INACTIVE"
    assert gone["containerDefinitions"][0]["essential"] is True
    assert "deregisteredAt" in gone
    described = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    assert described["status"] == "INACTIVE"
    assert described["deregisteredAt"] == gone["deregisteredAt"]


def test_tags_are_beside_the_task_definition(ecs: Any) -> None:
    params = ec2_bridge()
    params["tags"] = [{"key": "team", "value": "shop"}]
    arn = ecs.register_task_definition(**params)["taskDefinition"]["taskDefinitionArn"]
    answer = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    assert answer["tags"] == [{"key": "team", "value": "shop"}]
    assert "tags" not in answer["taskDefinition"]


def test_memory_reservation_alone_is_valid_on_ec2(sandbox: SandboxHandle, ecs: Any) -> None:
    params = ec2_bridge()
    del params["containerDefinitions"][0]["memory"]
    params["containerDefinitions"][0]["memoryReservation"] = 128
    params["requiresCompatibilities"] = ["EC2"]
    _, described = register_and_describe(ecs, params)
    (web,) = described["containerDefinitions"]
    assert web["memoryReservation"] == 128
    assert "memory" not in web
    assert described["requiresCompatibilities"] == ["EC2"]
    assert described["compatibilities"] == ["EC2"]


def test_simulation_reads_the_stored_revision(sandbox: SandboxHandle, ecs: Any) -> None:
    params = ec2_bridge(memoryReservation=64)
    del params["containerDefinitions"][0]["memory"]
    params["requiresCompatibilities"] = ["EC2"]
    params["cpu"] = "0.5 vCPU"
    arn = ecs.register_task_definition(**params)["taskDefinition"]["taskDefinitionArn"]
    spec = sandbox.control.simulation.backends.task_spec("123456789012", sandbox.region, arn)
    assert (spec.cpu, spec.cpu_text, spec.memory) == (512, "512", 64)


# -- refusals --------------------------------------------------------------------------


def _remove(params: dict[str, Any], key: str) -> dict[str, Any]:
    params.pop(key)
    return params


def _with(params: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {**params, **top}


def _second_container(params: dict[str, Any], **container: Any) -> dict[str, Any]:
    params = copy.deepcopy(params)
    params["containerDefinitions"].append(
        {"name": "sidecar", "image": IMAGE, "memory": 64, **container}
    )
    return params


REFUSED = [
    pytest.param(
        _with(ec2_bridge(), family="shop web"),
        "Family contains invalid characters.",
        id="family-chars",
    ),
    pytest.param(
        _with(ec2_bridge(), family="x" * 256),
        "Family contains invalid characters.",
        id="family-long",
    ),
    pytest.param(_with(ec2_bridge(), family=""), "Family can not be blank.", id="family-blank"),
    pytest.param(
        _with(ec2_bridge(), containerDefinitions=[]),
        "Container list cannot be empty.",
        id="no-containers",
    ),
    pytest.param(
        ec2_bridge(name="web.1"), "Container.name contains invalid characters.", id="container-name"
    ),
    pytest.param(
        ec2_bridge(name=""), "Container.name should not be null or empty.", id="container-no-name"
    ),
    pytest.param(
        ec2_bridge(image=""), "Container.image should not be null or empty.", id="no-image"
    ),
    pytest.param(
        _second_container(ec2_bridge(), name="web"),
        "Container names must be unique within a Task Definition.",
        id="duplicate-names",
    ),
    pytest.param(
        _second_container(ec2_bridge(essential=False), essential=False),
        "Task definition doesn't have any essential container.",
        id="no-essential",
    ),
    pytest.param(
        _remove(fargate(), "networkMode"),
        "Fargate only supports network mode \u2018awsvpc\u2019.",
        id="fargate-bridge",
    ),
    pytest.param(
        _with(fargate(), networkMode="host"),
        "Fargate only supports network mode \u2018awsvpc\u2019.",
        id="fargate-host",
    ),
    pytest.param(
        _remove(fargate(), "cpu"),
        "Fargate requires that 'cpu' be defined at the task level.",
        id="fargate-no-cpu",
    ),
    pytest.param(
        _remove(fargate(), "memory"),
        "Fargate requires that 'memory' be defined at the task level.",
        id="fargate-no-memory",
    ),
    pytest.param(
        _with(fargate(), cpu="256", memory="4096"),
        "No Fargate configuration exists for given values: 256 CPU, 4096 memory. "
        "See the Amazon ECS documentation for the valid values.",
        id="fargate-256-4096",
    ),
    pytest.param(
        _with(fargate(), cpu="1 vCPU", memory="1 GB"),
        "No Fargate configuration exists for given values: 1024 CPU, 1024 memory. "
        "See the Amazon ECS documentation for the valid values.",
        id="fargate-1024-1024",
    ),
    pytest.param(
        _with(fargate(), cpu="8192", memory=str(18 * 1024)),
        "No Fargate configuration exists for given values: 8192 CPU, 18432 memory. "
        "See the Amazon ECS documentation for the valid values.",
        id="fargate-8192-not-a-4gb-step",
    ),
    pytest.param(
        _with(fargate(), requiresCompatibilities=["EC2", "FARGATE"], cpu="300"),
        "No Fargate configuration exists for given values: 300 CPU, 512 memory. "
        "See the Amazon ECS documentation for the valid values.",
        id="fargate-and-ec2-300",
    ),
    pytest.param(_with(ec2_bridge(), cpu="lots"), "Invalid 'cpu' setting for task.", id="task-cpu"),
    pytest.param(
        _with(ec2_bridge(), memory="0.1 GB"), "Invalid 'memory' setting for task.", id="task-memory"
    ),
    pytest.param(
        _remove(fargate(logConfiguration={"logDriver": "awslogs"}), "executionRoleArn"),
        "Fargate requires task definition to have execution role ARN to support log driver "
        "awslogs.",
        id="fargate-awslogs-no-role",
    ),
    pytest.param(
        ec2_bridge(memory=None),
        "Invalid setting for container 'web'. "
        "At least one of 'memory' or 'memoryReservation' must be specified.",
        id="no-memory",
    ),
    pytest.param(
        _with(ec2_bridge(memory=None), requiresCompatibilities=["EC2"]),
        "Invalid setting for container 'web'. "
        "At least one of 'memory' or 'memoryReservation' must be specified.",
        id="no-memory-ec2",
    ),
    pytest.param(
        ec2_bridge(memory=5), "Invalid 'memory' setting for container 'web'.", id="memory-below-6"
    ),
    pytest.param(
        ec2_bridge(memory=128, memoryReservation=256),
        "Invalid 'memoryReservation' setting for container 'web'.",
        id="reservation-above-memory",
    ),
    pytest.param(
        _with(ec2_bridge(memory=1024), memory="512"),
        "The 'memory' setting for container 'web' is greater than for the task.",
        id="container-above-task",
    ),
    pytest.param(
        _second_container(
            _with(ec2_bridge(memory=None, memoryReservation=300), memory="512"),
            memory=None,
            memoryReservation=300,
        ),
        "The sum of all container 'memoryReservation' values cannot be greater than the value "
        "of the task 'memory'.",
        id="reservations-above-task",
    ),
    pytest.param(
        fargate(portMappings=[{"containerPort": 8080, "hostPort": 80}]),
        "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
        id="awsvpc-host-port",
    ),
    pytest.param(
        fargate(hostname="web"),
        "hostname is not supported on container when networkMode=awsvpc.",
        id="awsvpc-hostname",
    ),
]


def _drop_nones(params: dict[str, Any]) -> dict[str, Any]:
    """`memory=None` above means "no memory": botocore refuses a None value."""
    out = copy.deepcopy(params)
    for c in out.get("containerDefinitions", []):
        for key in [k for k, v in c.items() if v is None]:
            del c[key]
    return out


@pytest.mark.parametrize(("params", "message"), REFUSED)
def test_refused_as_ecs_refuses(ecs: Any, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ClientError) as caught:
        ecs.register_task_definition(**_drop_nones(params))
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ClientException", message)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Nothing was registered.
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []


ACCEPTED = [
    pytest.param(_with(fargate(), memory="2048"), id="fargate-256-2048"),
    pytest.param(_with(fargate(), cpu="8192", memory=str(20 * 1024)), id="fargate-8192-20gb"),
    pytest.param(_with(fargate(), cpu="16 vCPU", memory="120 GB"), id="fargate-16-vcpu-120gb"),
    pytest.param(_with(ec2_bridge(memory=None), memory="512"), id="task-memory-only"),
    pytest.param(ec2_bridge(memory=None, memoryReservation=6), id="reservation-only"),
    pytest.param(ec2_bridge(memory=6, memoryReservation=6), id="reservation-equal-memory"),
    pytest.param(_second_container(ec2_bridge(essential=False)), id="one-essential-by-default"),
    pytest.param(
        fargate(portMappings=[{"containerPort": 80, "hostPort": 80}]), id="awsvpc-same-port"
    ),
    pytest.param(_with(ec2_bridge(), family="A_b-9" * 51), id="family-255"),
]


@pytest.mark.parametrize("params", ACCEPTED)
def test_accepted_as_ecs_accepts(ecs: Any, params: dict[str, Any]) -> None:
    arn = ecs.register_task_definition(**_drop_nones(params))["taskDefinition"]["taskDefinitionArn"]
    assert arn.endswith(":1")
