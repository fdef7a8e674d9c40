"""RegisterTaskDefinition as ECS does it: the rules it refuses with, the defaults it fills in.

moto echoes a task definition back about as given, accepts most invalid ones
and refuses one valid shape (a container with only `memoryReservation` in a
task that requires EC2). ECS refuses invalid ones with a `ClientException`,
and DescribeTaskDefinition shows what it stored, defaults filled in. This
module holds both halves, as pure functions of the request:

- `refusal(params)`: the first rule the request breaks, as ECS words it, or None;
- `moto_input(params)`: the request as moto accepts it, when moto would refuse a
  valid one;
- `described(params, ...)`: the task definition as DescribeTaskDefinition and
  RegisterTaskDefinition show it.

Sources, cited rule by rule below: the ECS API reference and developer guide,
the AWS CLI's documented register-task-definition output, describe outputs
from real accounts (tests/data/real-taskdefs), and error messages quoted from
real RegisterTaskDefinition calls in public issue trackers. Where no real
wording was found for a rule the docs state, the message follows ECS's
pattern for that kind of error and says so.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

CLIENT_EXCEPTION = "ClientException"

# "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens
# are allowed" (API reference: family, ContainerDefinition.name).
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# Task cpu "256" / "0.25 vCPU", memory "512" / "1 GB": converted to integers of
# CPU units and MiB "when the task definition is registered" (developer guide).
_CPU = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(vcpu)?\s*$", re.IGNORECASE)
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(gb)?\s*$", re.IGNORECASE)

# "The Docker 20.10.0 or later daemon reserves a minimum of 6 MiB of memory for
# a container, so don't specify less than 6 MiB" (ContainerDefinition.memory).
MIN_CONTAINER_MEMORY = 6


def _fargate_memory(cpu: int) -> frozenset[int]:
    """Task memory (MiB) Fargate accepts with a task cpu: the developer guide's
    table "Task CPU and memory" (task-cpu-memory-error)."""
    gib = 1024
    table: dict[int, range | tuple[int, ...]] = {
        256: (512, 1 * gib, 2 * gib),
        512: tuple(n * gib for n in range(1, 5)),
        1024: tuple(n * gib for n in range(2, 9)),
        2048: range(4 * gib, 16 * gib + 1, gib),
        4096: range(8 * gib, 30 * gib + 1, gib),
        8192: range(16 * gib, 60 * gib + 1, 4 * gib),
        16384: range(32 * gib, 120 * gib + 1, 8 * gib),
    }
    return frozenset(table.get(cpu, ()))


@dataclass(frozen=True)
class Refusal:
    """An ECS error answer: the exception code and ECS's message."""

    code: str
    message: str


def _client(message: str) -> Refusal:
    return Refusal(CLIENT_EXCEPTION, message)


def parse_task_cpu(value: Any) -> int | None:
    """Task cpu as CPU units ("0.25 vCPU" -> 256), or None when it is not a size."""
    return _parse_units(value, _CPU)


def parse_task_memory(value: Any) -> int | None:
    """Task memory as MiB ("1 GB" -> 1024), or None when it is not a size."""
    return _parse_units(value, _MEMORY)


def _parse_units(value: Any, pattern: re.Pattern[str]) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    match = pattern.match(str(value))
    if match is None:
        return None
    number = float(match.group(1)) * (1024 if match.group(2) else 1)
    return int(number) if number.is_integer() else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _containers(params: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in params.get("containerDefinitions") or [] if isinstance(c, dict)]


def _requires(params: dict[str, Any]) -> list[str]:
    return [str(c) for c in params.get("requiresCompatibilities") or []]


def refusal(params: dict[str, Any]) -> Refusal | None:
    """The first rule of RegisterTaskDefinition that `params` breaks, or None."""
    for check in (_check_family, _check_containers, _check_fargate, _check_memory, _check_ports):
        found = check(params)
        if found is not None:
            return found
    return None


def _check_family(params: dict[str, Any]) -> Refusal | None:
    family = params.get("family")
    if not family:
        # aws-actions/amazon-ecs-deploy-task-definition#630.
        return _client("Family can not be blank.")
    if not _NAME.match(str(family)):
        # aws/amazon-ecs-cli#37, #542.
        return _client("Family contains invalid characters.")
    return None


def _check_containers(params: dict[str, Any]) -> Refusal | None:
    containers = _containers(params)
    if not containers:
        # awsdocs/aws-cloudformation-user-guide#454.
        return _client("Container list cannot be empty.")
    names: set[str] = set()
    for c in containers:
        name = c.get("name")
        if not name:
            # awsdocs/aws-cloudformation-user-guide#612.
            return _client("Container.name should not be null or empty.")
        if not _NAME.match(str(name)):
            # ansible/ansible#22860, hashicorp/terraform-provider-aws#5950.
            return _client("Container.name contains invalid characters.")
        if not c.get("image"):
            # aws/aws-cli#5924.
            return _client("Container.image should not be null or empty.")
        if name in names:
            # "Container names must be unique within a Task Definition." (metaps/genova#291)
            return _client("Container names must be unique within a Task Definition.")
        names.add(str(name))
    if all(c.get("essential") is False for c in containers):
        # "If this parameter is omitted, a container is assumed to be essential. All
        # tasks must have at least one essential container." Wording: eagletmt/hako#68.
        return _client("Task definition doesn't have any essential container.")
    return None


def _check_fargate(params: dict[str, Any]) -> Refusal | None:
    """Task size and network mode. The Fargate rules apply whenever FARGATE is in
    `requiresCompatibilities`, "even if EC2 is also specified" (developer guide)."""
    cpu_text, memory_text = params.get("cpu"), params.get("memory")
    cpu = None if cpu_text is None else parse_task_cpu(cpu_text)
    memory = None if memory_text is None else parse_task_memory(memory_text)
    if cpu_text is not None and cpu is None:
        # The developer guide's "Invalid CPU or memory value specified".
        return _client("Invalid 'cpu' setting for task.")
    if memory_text is not None and memory is None:
        # Worded as the task cpu message.
        return _client("Invalid 'memory' setting for task.")
    if "FARGATE" not in _requires(params):
        return None
    if params.get("networkMode") != "awsvpc":
        # aws/amazon-ecs-cli#1145 (the quotes are ECS's).
        return _client("Fargate only supports network mode \u2018awsvpc\u2019.")
    if cpu is None:
        # hackoregon/civic-devops#246.
        return _client("Fargate requires that 'cpu' be defined at the task level.")
    if memory is None:
        # Worded as the cpu message.
        return _client("Fargate requires that 'memory' be defined at the task level.")
    if memory not in _fargate_memory(cpu):
        # aws-games/cloud-game-development-toolkit#737, towardsthecloud/aws-cdk-examples#1.
        return _client(
            f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
            "See the Amazon ECS documentation for the valid values."
        )
    for c in _containers(params):
        driver = (c.get("logConfiguration") or {}).get("logDriver")
        if driver == "awslogs" and not params.get("executionRoleArn"):
            # Quoted in a public README of a Fargate deployment (ECS's own wording).
            return _client(
                "Fargate requires task definition to have execution role ARN to support "
                "log driver awslogs."
            )
    return None


def _check_memory(params: dict[str, Any]) -> Refusal | None:
    task_memory = parse_task_memory(params.get("memory")) if params.get("memory") else None
    reservations = 0
    for c in _containers(params):
        name = c.get("name")
        memory, reservation = _int(c.get("memory")), _int(c.get("memoryReservation"))
        if memory is None and reservation is None and task_memory is None:
            # "you must specify either a task-level memory value or a container-level
            # memory value" (memoryReservation counts: "If you specify memoryReservation,
            # then that value is subtracted from the available memory resources").
            # sil-org/ecs-deploy#59, aws/aws-cli#4453.
            return _client(
                f"Invalid setting for container '{name}'. "
                "At least one of 'memory' or 'memoryReservation' must be specified."
            )
        if memory is not None and memory < MIN_CONTAINER_MEMORY:
            # No real wording found; ECS's pattern for a bad container value
            # ("Invalid 'containerPort' setting for container 'x'.", aws/aws-cli#7288).
            return _client(f"Invalid 'memory' setting for container '{name}'.")
        if memory is not None and reservation is not None and reservation > memory:
            # "memory must be greater than or equal to memoryReservation"; worded
            # after the same pattern.
            return _client(f"Invalid 'memoryReservation' setting for container '{name}'.")
        if task_memory is not None and memory is not None and memory > task_memory:
            # pulumi/pulumi-awsx#1220.
            return _client(
                f"The 'memory' setting for container '{name}' is greater than for the task."
            )
        reservations += reservation or 0
    if task_memory is not None and reservations > task_memory:
        # cloudnativedaysjp/dreamkast-infra#4766.
        return _client(
            "The sum of all container 'memoryReservation' values cannot be greater than "
            "the value of the task 'memory'."
        )
    return None


def _check_ports(params: dict[str, Any]) -> Refusal | None:
    if params.get("networkMode") != "awsvpc":
        return None
    for c in _containers(params):
        for port in c.get("portMappings") or []:
            host = port.get("hostPort")
            if host is not None and host != port.get("containerPort"):
                # aws/amazon-ecs-cli#1014, pulumi/pulumi-awsx#935.
                return _client(
                    "When networkMode=awsvpc, the host ports and container ports in port "
                    "mappings must match."
                )
        if c.get("hostname"):
            # labd/ecs-deplojo#26.
            return _client("hostname is not supported on container when networkMode=awsvpc.")
    return None


def moto_input(params: dict[str, Any]) -> dict[str, Any] | None:
    """The request as moto takes it, or None when moto takes it as it is.

    moto refuses a container with `memoryReservation` and no `memory` when the
    task requires EC2 and has no task memory; ECS accepts it. moto is handed the
    reservation as the limit too, and `described` (which works from the
    request) keeps the container as it was registered.
    """
    if "EC2" not in _requires(params) or params.get("memory"):
        return None
    changed = copy.deepcopy(params)
    touched = False
    for c in _containers(changed):
        if c.get("memory") is None and c.get("memoryReservation") is not None:
            c["memory"] = c["memoryReservation"]
            touched = True
    return changed if touched else None


def described(params: dict[str, Any], *, arn: str, revision: int, status: str) -> dict[str, Any]:
    """The task definition registered from `params`, as DescribeTaskDefinition shows it.

    Fields given are kept as given; what ECS fills in is added. Tags are not part
    of it (DescribeTaskDefinition returns them beside it); `registeredAt` and
    `registeredBy` are the caller's.
    """
    td = copy.deepcopy({k: v for k, v in params.items() if k != "tags"})
    mode = params.get("networkMode")
    td["taskDefinitionArn"] = arn
    td["revision"] = revision
    td["status"] = status
    td["containerDefinitions"] = [_described_container(c, mode) for c in _containers(td)]
    # Present even when empty: "volumes": [], "placementConstraints": [] in every
    # describe output (AWS CLI example "To register a task definition", 02, 10, 11, ...).
    td.setdefault("volumes", [])
    td.setdefault("placementConstraints", [])
    # Not added: networkMode when not given (the CLI example and 11 leave the
    # bridge default out), enableFaultInjection (02 has it as sent; 17 and 21,
    # which did not send it, do not).
    for key, parse in (("cpu", parse_task_cpu), ("memory", parse_task_memory)):
        if key in td:
            # "converted to an integer ... when the task definition is registered",
            # returned as a string ("cpu": "1024" in 02, 10, 11).
            td[key] = str(parse(td[key]))
    td["requiresAttributes"] = [{"name": n} for n in requires_attributes(params)]
    td["compatibilities"] = compatibilities(params)
    return td


def _described_container(raw: dict[str, Any], mode: Any) -> dict[str, Any]:
    c = copy.deepcopy(raw)
    # "cpu": 0 when omitted (02, 10, 11, 20, 21).
    c.setdefault("cpu", 0)
    # "If this parameter is omitted, a container is assumed to be essential"; the
    # API sets it to true (eagletmt/hako#68).
    c.setdefault("essential", True)
    # The AWS CLI's register-task-definition example output: "portMappings": [],
    # "environment": [], "mountPoints": [], "volumesFrom": [] for a container that
    # set none; "systemControls": [] in current outputs (02, 17).
    for key in ("portMappings", "environment", "mountPoints", "volumesFrom", "systemControls"):
        c.setdefault(key, [])
    for port in c["portMappings"]:
        if not isinstance(port, dict):
            continue
        # "The default is tcp" (PortMapping.protocol); every describe output has it.
        port.setdefault("protocol", "tcp")
        if "containerPort" in port and "hostPort" not in port:
            if mode in ("awsvpc", "host"):
                # awsvpc and host: "If the host port is not specified, the host port
                # will be same as container port" (aws/amazon-ecs-agent#185; ECS fills
                # it in, turnerlabs/terraform-ecs-fargate#11).
                port["hostPort"] = port["containerPort"]
            else:
                # bridge: 0, a dynamic port (11).
                port["hostPort"] = 0
    health = c.get("healthCheck")
    if isinstance(health, dict):
        # HealthCheck defaults: interval 30, timeout 5, retries 3 (API reference).
        health.setdefault("interval", 30)
        health.setdefault("timeout", 5)
        health.setdefault("retries", 3)
    return c


def compatibilities(params: dict[str, Any]) -> list[str]:
    """The launch types the task definition was validated against.

    A Fargate task definition (FARGATE required, so validated for it) is also
    valid for EC2 and, since ECS Managed Instances, for them: 17 and current
    describe outputs show ["EC2", "MANAGED_INSTANCES", "FARGATE"]. Others are
    EC2's; with an explicit bridge/host/none network mode, which ECS Anywhere
    supports, also EXTERNAL (19, and a console-registered bridge describe output);
    without one, EC2 alone (11, the AWS CLI example).
    """
    required = _requires(params)
    if "FARGATE" in required:
        found = ["EC2", "MANAGED_INSTANCES", "FARGATE"]
    elif params.get("networkMode") in ("bridge", "host", "none"):
        found = ["EXTERNAL", "EC2"]
    else:
        found = ["EC2"]
    return found + [r for r in required if r not in found]


def requires_attributes(params: dict[str, Any]) -> list[str]:
    """The container-instance attributes a task definition requires, from what it uses.

    Each rule is read off real describe outputs (tests/data/real-taskdefs 02, 10,
    11, 12, 17, 20, 21 and published console outputs): every one requires Docker
    Remote API 1.18; awslogs adds the log driver and API 1.19, and with an
    execution role `execution-role-awslogs`; an ECR image adds `ecr-auth`, and with
    an execution role `execution-role-ecr-pull`; a task role `task-iam-role`;
    `memoryReservation` API 1.21; awsvpc `task-eni`; a container health check,
    Secrets Manager or SSM secrets, and `ephemeralStorage` their capabilities.
    Attributes whose trigger is unclear in those outputs (API 1.28, 1.29) are left out.
    """
    containers = _containers(params)
    execution_role = bool(params.get("executionRoleArn"))
    awslogs = any(
        (c.get("logConfiguration") or {}).get("logDriver") == "awslogs" for c in containers
    )
    ecr = any(".dkr.ecr." in str(c.get("image") or "") for c in containers)
    secrets = [
        str(s.get("valueFrom") or "")
        for c in containers
        for s in c.get("secrets") or []
        if isinstance(s, dict)
    ]
    asm = any(":secretsmanager:" in s for s in secrets)
    ssm = any(":secretsmanager:" not in s for s in secrets)
    names: list[str] = []

    def need(condition: bool, name: str) -> None:
        if condition and name not in names:
            names.append(name)

    need(awslogs, "com.amazonaws.ecs.capability.logging-driver.awslogs")
    need(awslogs and execution_role, "ecs.capability.execution-role-awslogs")
    need(ecr, "com.amazonaws.ecs.capability.ecr-auth")
    need(awslogs, "com.amazonaws.ecs.capability.docker-remote-api.1.19")
    need(bool(params.get("taskRoleArn")), "com.amazonaws.ecs.capability.task-iam-role")
    need(any(c.get("healthCheck") for c in containers), "ecs.capability.container-health-check")
    need(asm, "ecs.capability.secrets.asm.environment-variables")
    need(ssm, "ecs.capability.secrets.ssm.environment-variables")
    need(
        any(c.get("memoryReservation") is not None for c in containers),
        "com.amazonaws.ecs.capability.docker-remote-api.1.21",
    )
    need(ecr and execution_role, "ecs.capability.execution-role-ecr-pull")
    need(bool(params.get("ephemeralStorage")), "ecs.capability.extensible-ephemeral-storage")
    need(True, "com.amazonaws.ecs.capability.docker-remote-api.1.18")
    need(params.get("networkMode") == "awsvpc", "ecs.capability.task-eni")
    return names
