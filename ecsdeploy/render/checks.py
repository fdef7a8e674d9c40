"""What ECS requires of a rendered task definition, checked before any AWS call.

Every problem carries a key path in the task definition
(`containerDefinitions[web].portMappings[0].protocol`), or "" when it is about
the service as a whole. Three layers:

1. RegisterTaskDefinition's shape in the API model botocore ships
   (`api_model`): field names, types, enums, required members and ranges, at
   every depth, plus ECS's documented limits the model does not state. Without
   botocore installed, a short fallback checks the top-level names, `family`,
   and each container's `name` and `image`.
2. ECS's rules across fields (`_ecs_rules`): at least one essential container,
   unique names, task size, memory on EC2, memoryReservation within memory,
   container totals within the task's size, Fargate's network mode, port
   mappings under awsvpc and host, references to containers and volumes.
3. deploy.yaml against the template: the load balancer's container and port.

`secret_literals` finds environment variables named like secrets that hold a
literal value: warnings, never errors, and never with the value.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

from ecsdeploy import ecs_rules
from ecsdeploy.api_model import (
    REGISTER_TASK_DEFINITION,
    ShapeProblem,
    check_shape,
    item_labels,
    suggest,
)
from ecsdeploy.api_model import load_model as load_api_model
from ecsdeploy.config.model import Service

from .shapes import REGISTER_FIELDS

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_NAME_HINT = "up to 255 letters, digits, hyphens and underscores"
_HEALTH_CHECK_STARTS = ("CMD", "CMD-SHELL")


def _launch_types(td: dict[str, Any], service: Service) -> set[str]:
    types = {t for t in td.get("requiresCompatibilities") or [] if isinstance(t, str)}
    if service.launch_type:
        types.add(service.launch_type)
    return types


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def task_definition_problems(td: dict[str, Any], service: Service) -> list[ShapeProblem]:
    """Everything RegisterTaskDefinition or the service would refuse, in a stable order."""
    model = load_api_model("ecs")
    if model is not None:
        shape = "RegisterTaskDefinitionRequest"
        found = check_shape(model, shape, td, "", REGISTER_TASK_DEFINITION)
    else:
        found = _fallback_problems(td)
    found += _ecs_rules(td, service)
    found += _service_problems(td, service)
    return found


def _fallback_problems(td: dict[str, Any]) -> list[ShapeProblem]:
    """The essentials, when botocore (and so the API model) is not installed."""
    found: list[ShapeProblem] = []
    for key in sorted(k for k in td if k not in REGISTER_FIELDS):
        near = suggest(key, sorted(REGISTER_FIELDS))
        found.append(
            ShapeProblem(
                key,
                "unknown field",
                f"did you mean {near}?" if near else "field names are case-sensitive",
            )
        )
    family = td.get("family")
    if not isinstance(family, str) or not family:
        found.append(ShapeProblem("family", "required field is missing", 'add "family": "<name>"'))
    containers = td.get("containerDefinitions")
    if not isinstance(containers, list) or not containers:
        found.append(ShapeProblem("containerDefinitions", "required field is missing"))
        return found
    for label, c in zip(item_labels(containers, "name"), containers, strict=True):
        path = f"containerDefinitions[{label}]"
        if not isinstance(c, dict):
            found.append(ShapeProblem(path, "expected an object"))
            continue
        for member in ("name", "image"):
            value = c.get(member)
            if not isinstance(value, str) or not value.strip():
                found.append(
                    ShapeProblem(
                        f"{path}.{member}",
                        "required field is missing",
                        REGISTER_TASK_DEFINITION.hints.get(("ContainerDefinition", member)),
                    )
                )
    return found


def _containers(td: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path, container) for each container that is an object."""
    containers = td.get("containerDefinitions")
    if not isinstance(containers, list):
        return []
    return [
        (f"containerDefinitions[{label}]", c)
        for label, c in zip(item_labels(containers, "name"), containers, strict=True)
        if isinstance(c, dict)
    ]


def _items(container: dict[str, Any], member: str, path: str) -> list[tuple[str, dict[str, Any]]]:
    items = container.get(member)
    if not isinstance(items, list):
        return []
    return [(f"{path}.{member}[{i}]", it) for i, it in enumerate(items) if isinstance(it, dict)]


def _ecs_rules(td: dict[str, Any], service: Service) -> list[ShapeProblem]:
    """ECS's rules across fields; each looks only at values of the right type (the model
    check reports the others)."""
    found: list[ShapeProblem] = []
    family = td.get("family")
    if isinstance(family, str) and family and not _NAME.match(family):
        found.append(ShapeProblem("family", f"{family!r} is not a valid family", _NAME_HINT))
    launch_types = _launch_types(td, service)
    fargate = "FARGATE" in launch_types
    found += _task_size(td, fargate)
    network_mode = td.get("networkMode")
    if fargate and network_mode != "awsvpc":
        found.append(
            ShapeProblem(
                "networkMode",
                "Fargate needs networkMode awsvpc"
                + (f", not {network_mode!r}" if isinstance(network_mode, str) else ""),
                'set "networkMode": "awsvpc"',
            )
        )
    containers = _containers(td)
    if not containers:
        return found
    names = [str(c["name"]) for _, c in containers if isinstance(c.get("name"), str)]
    volumes = {
        v.get("name") for v in td.get("volumes") or [] if isinstance(v, dict) and v.get("name")
    }
    seen: set[str] = set()
    for path, c in containers:
        name = c.get("name")
        if isinstance(name, str) and name:
            if not _NAME.match(name):
                found.append(
                    ShapeProblem(f"{path}.name", f"{name!r} is not a valid name", _NAME_HINT)
                )
            if name in seen:
                found.append(
                    ShapeProblem(
                        f"{path}.name",
                        f"two containers are named {name!r}",
                        "container names must be unique",
                    )
                )
            seen.add(name)
        found += _container_memory(td, c, path, fargate)
        found += _references(c, path, names, volumes)
        found += _ports(c, path, network_mode)
        health = c.get("healthCheck")
        command = health.get("command") if isinstance(health, dict) else None
        if isinstance(command, list) and command and command[0] not in _HEALTH_CHECK_STARTS:
            found.append(
                ShapeProblem(
                    f"{path}.healthCheck.command",
                    f"starts with {command[0]!r}, not CMD or CMD-SHELL",
                    '["CMD-SHELL", "curl -f http://localhost/ || exit 1"], or ["CMD", ...] '
                    "to run a program without a shell",
                )
            )
    if all(c.get("essential") is False for _, c in containers):
        found.append(
            ShapeProblem(
                "containerDefinitions",
                "no container is essential",
                "a task needs at least one container with essential true (the default)",
            )
        )
    found += _totals(td, containers)
    return found


def _task_size(td: dict[str, Any], fargate: bool) -> list[ShapeProblem]:
    found: list[ShapeProblem] = []
    cpu, memory = td.get("cpu"), td.get("memory")
    if fargate:
        for member, value in (("cpu", cpu), ("memory", memory)):
            if value is None or value == "":
                found.append(
                    ShapeProblem(
                        member,
                        f"a Fargate task definition needs a task-level `{member}`",
                        'e.g. "cpu": "256", "memory": "512"',
                    )
                )
    if isinstance(cpu, str) and cpu:
        units = ecs_rules.task_cpu_units(cpu)
        if units is None:
            found.append(
                ShapeProblem(
                    "cpu",
                    f"{cpu!r} is not a task cpu",
                    'CPU units ("256") or vCPUs ("0.25 vCPU")',
                )
            )
        elif not ecs_rules.TASK_CPU_MIN <= units <= ecs_rules.TASK_CPU_MAX:
            found.append(
                ShapeProblem(
                    "cpu",
                    f"{cpu!r} is {units} CPU units, not between {ecs_rules.TASK_CPU_MIN} "
                    f"and {ecs_rules.TASK_CPU_MAX}",
                    "1024 CPU units are one vCPU",
                )
            )
    if isinstance(memory, str) and memory and ecs_rules.task_memory_mib(memory) is None:
        found.append(
            ShapeProblem(
                "memory",
                f"{memory!r} is not a task memory",
                'MiB ("512") or GB ("1 GB"); other units are not accepted',
            )
        )
    return found


def _container_memory(
    td: dict[str, Any], c: dict[str, Any], path: str, fargate: bool
) -> list[ShapeProblem]:
    found: list[ShapeProblem] = []
    hard, soft = c.get("memory"), c.get("memoryReservation")
    if not fargate and td.get("memory") in (None, "") and not (hard or soft):
        found.append(
            ShapeProblem(
                path,
                "no `memory` or `memoryReservation`",
                "the EC2 launch type needs one of them, or a task-level `memory`",
            )
        )
    hard_i, soft_i = _int(hard), _int(soft)
    if hard_i is not None and soft_i is not None and soft_i > hard_i:
        found.append(
            ShapeProblem(
                f"{path}.memoryReservation",
                f"{soft_i} is more than the container's memory, {hard_i}",
                "memory is the hard limit; memoryReservation, the soft limit, must not exceed it",
            )
        )
    return found


def _references(
    c: dict[str, Any], path: str, names: list[str], volumes: set[Any]
) -> list[ShapeProblem]:
    found: list[ShapeProblem] = []
    for where, dep in _items(c, "dependsOn", path):
        target = dep.get("containerName")
        if isinstance(target, str) and target not in names:
            found.append(
                ShapeProblem(
                    f"{where}.containerName",
                    f"{target!r} is not a container of this task definition",
                    f"containers: {', '.join(names)}" if names else None,
                )
            )
    for where, mount in _items(c, "mountPoints", path):
        source = mount.get("sourceVolume")
        if isinstance(source, str) and source not in volumes:
            found.append(
                ShapeProblem(
                    f"{where}.sourceVolume",
                    f"{source!r} is not a volume of this task definition",
                    f"volumes: {', '.join(sorted(volumes))}"
                    if volumes
                    else 'declare it under "volumes"',
                )
            )
    return found


def _ports(c: dict[str, Any], path: str, network_mode: Any) -> list[ShapeProblem]:
    found: list[ShapeProblem] = []
    if network_mode in ("awsvpc", "host"):
        for where, mapping in _items(c, "portMappings", path):
            host, container = _int(mapping.get("hostPort")), _int(mapping.get("containerPort"))
            if host and container is not None and host != container:
                found.append(
                    ShapeProblem(
                        f"{where}.hostPort",
                        f"{host} differs from containerPort {container}, and networkMode "
                        f"{network_mode} needs them equal",
                        "leave hostPort out, or set it to the containerPort",
                    )
                )
    links = c.get("links")
    if isinstance(network_mode, str) and network_mode != "bridge" and links:
        found.append(
            ShapeProblem(
                f"{path}.links",
                f"links need networkMode bridge, not {network_mode}",
                "with awsvpc and host the containers of a task reach each other on localhost",
            )
        )
    return found


def _totals(td: dict[str, Any], containers: list[tuple[str, dict[str, Any]]]) -> list[ShapeProblem]:
    """Containers within the task's size: each hard limit, and the sum of what they reserve."""
    found: list[ShapeProblem] = []
    task_memory = ecs_rules.task_memory_mib(td.get("memory"))
    if task_memory is not None:
        reserved = 0
        for path, c in containers:
            hard, soft = _int(c.get("memory")), _int(c.get("memoryReservation"))
            if hard is not None and hard > task_memory:
                found.append(
                    ShapeProblem(
                        f"{path}.memory",
                        f"{hard} MiB is more than the task's memory, {task_memory} MiB",
                        "raise the task-level memory, or lower the container's",
                    )
                )
            reserved += soft if soft is not None else hard or 0
        if reserved > task_memory and not found:
            found.append(
                ShapeProblem(
                    "memory",
                    f"the containers reserve {reserved} MiB, more than the task's "
                    f"{task_memory} MiB",
                    "raise the task-level memory, or lower the containers' memory or "
                    "memoryReservation",
                )
            )
    task_cpu = ecs_rules.task_cpu_units(td.get("cpu"))
    if task_cpu is not None:
        total = sum(_int(c.get("cpu")) or 0 for _, c in containers)
        if total > task_cpu:
            found.append(
                ShapeProblem(
                    "cpu",
                    f"the containers' cpu adds up to {total} units, more than the task's "
                    f"{task_cpu}",
                    "raise the task-level cpu, or lower the containers'",
                )
            )
    return found


def _service_problems(td: dict[str, Any], service: Service) -> list[ShapeProblem]:
    """deploy.yaml's view of the task definition: each load balancer's container and port."""
    containers = {c.get("name"): c for _, c in _containers(td) if isinstance(c.get("name"), str)}
    found: list[ShapeProblem] = []
    for lb in service.load_balancers:
        container = containers.get(lb.container)
        if container is None:
            names = sorted(str(n) for n in containers)
            found.append(
                ShapeProblem(
                    "",
                    f"{lb.label}.container {lb.container!r} is not a container of the task "
                    "definition",
                    f"containers: {', '.join(names)}" if names else None,
                )
            )
            continue
        ports = [
            p.get("containerPort")
            for p in container.get("portMappings") or []
            if isinstance(p, dict)
        ]
        if lb.port not in ports:
            found.append(
                ShapeProblem(
                    "",
                    f"container {lb.container!r} does not map {lb.label}.port {lb.port}",
                    f"its containerPorts: {', '.join(str(p) for p in ports)}"
                    if ports
                    else "add a portMappings entry with this containerPort",
                )
            )
    return found


# --- secrets written as literals ------------------------------------------------------


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words of a variable's name that say it holds a secret; pairs are two adjacent words.
_SECRET_WORDS = _word_set(
    "PASSWORD PASSWORDS PASSWD PASS PWD PASSPHRASE SECRET SECRETS TOKEN TOKENS "
    "APIKEY PRIVATEKEY CREDENTIAL CREDENTIALS CREDS"
)
_SECRET_PAIRS = frozenset({("API", "KEY"), ("PRIVATE", "KEY"), ("SECRET", "KEY")})
# A last word that makes the variable about a secret rather than the secret itself
# (`DB_PASSWORD_FILE`, `TOKEN_URL`, `SECRET_ARN`, `PASSWORD_MIN_LENGTH`).
_REFERENCE_WORDS = _word_set(
    "ARN NAME ID PATH FILE DIR PARAM PARAMETER REGION URL URI ENDPOINT HOST PORT TTL "
    "EXPIRY EXPIRES EXPIRATION LENGTH LEN MIN MAX TYPE ENABLED DISABLED ENABLE "
    "DISABLE REQUIRED HEADER ALGORITHM ISSUER AUDIENCE USER USERNAME VERSION TIMEOUT "
    "MODE PREFIX FORMAT POLICY PROVIDER SIZE COUNT STORE SOURCE KIND"
)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_NOT_SECRET_VALUES = frozenset({"true", "false", "yes", "no", "on", "off", "none", "null"})


def secret_like(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret: PASSWORD, SECRET,
    TOKEN, API_KEY, PRIVATE_KEY, CREDENTIALS... as words of it (`DB_PASSWORD`,
    `githubToken`), not inside another word, and not naming where a secret is
    (`SECRET_ARN`, `PASSWORD_FILE`)."""
    words = [w.upper() for w in _WORD.findall(name)]
    if not words or words == ["PWD"] or words[-1] in _REFERENCE_WORDS:
        return False
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def _literal(value: Any) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    text = value.strip()
    if text.lower() in _NOT_SECRET_VALUES or (text.isdigit() and len(text) <= 5):
        return False
    # An ARN or an SSM parameter name refers to a secret; a path names a file holding one.
    return not text.startswith(("arn:", "/"))


LITERAL_VALUE_WHY = (
    "the value is stored in the task definition: anyone allowed to describe task "
    "definitions reads it, and so does anyone with a saved plan"
)
LITERAL_VALUE_FIX = (
    "move it to the container's `secrets` with `valueFrom` (an SSM parameter or a Secrets "
    "Manager secret); ECS injects it when the task starts"
)


def secret_literals(td: Mapping[str, Any]) -> list[ShapeProblem]:
    """Environment variables named like a secret with a literal value (warnings).

    The value is never part of the message."""
    found: list[ShapeProblem] = []
    for path, c in _containers(td):
        env = c.get("environment")
        if not isinstance(env, list):
            continue
        for label, entry in zip(item_labels(env, "name"), env, strict=True):
            if not isinstance(entry, dict):
                continue
            name = entry.get("name")
            if isinstance(name, str) and secret_like(name) and _literal(entry.get("value")):
                found.append(
                    ShapeProblem(
                        f"{path}.environment[{label}]",
                        f"{name} looks like a secret but holds a literal value",
                        LITERAL_VALUE_FIX,
                    )
                )
    return found
