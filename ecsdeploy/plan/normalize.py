"""Task-definition normaliser: one canonical form, so an unchanged template diffs empty.

`normalize_task_definition` takes any accepted shape (RegisterTaskDefinition input,
DescribeTaskDefinition output whole or unwrapped) and returns a form where
- what AWS (or moto) adds back on describe is gone: read-only fields, nulls, and
  values equal to ECS's documented defaults, so their presence equals their absence;
- lists whose order carries no meaning are sorted, so reordering is no change;
- task-level `cpu`/`memory` unit strings ("0.25 vCPU", "1 GB") are integers of CPU
  units and MiB, as ECS stores them.

A value is dropped only when ECS documents it as the default (the API reference
in botocore's ecs model) or when ECS/Docker treat it exactly like an absent value.
Deliberately *not* dropped, because absent means something else: `ipcMode`/`pidMode`
(absent = the Docker daemon's setting), `stopTimeout`/`startTimeout` (defaults depend
on the agent), awslogs `mode` (default depends on an account setting),
`ephemeralStorage` (absent = 20 GiB, but the API refuses 20, so absent is the only
spelling of the default), `requiresCompatibilities` (absent and ["EC2"] validate
differently), `dockerVolumeConfiguration.scope` (no documented default).

The result is for comparison and display, not for registration: task `cpu` and
`memory` are integers here, where RegisterTaskDefinition wants strings.
Pure: no I/O, and the input is never modified.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ecsdeploy import ecs_rules
from ecsdeploy.ecs_rules import CPU_UNITS_PER_VCPU, MIB_PER_GB
from ecsdeploy.releases import RELEASE_TAG_PREFIX
from ecsdeploy.render.shapes import to_register_input

# ECS accepts task cpu as "256", "0.25 vCPU", ".25 vcpu" and memory as "512",
# "1 GB", ".5 gb" (case and the space are free); it stores the integer form.
_CPU_RE = ecs_rules.TASK_CPU_PATTERN
_MEMORY_RE = ecs_rules.TASK_MEMORY_PATTERN

# Docker flags that are off unless set: false is what absent means.
_CONTAINER_FALSE_FLAGS = (
    "privileged",
    "readonlyRootFilesystem",
    "disableNetworking",
    "interactive",
    "pseudoTerminal",
)

# Old console/CLI exports write "" for an unset task or container field, and ECS
# and Docker treat it as not given (no role, the image's user, ...). Names are the
# exception: an empty name is an error the diff should keep showing.
_NAME_FIELDS = frozenset({"name", "family"})


def normalize_task_definition(td: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical form of a task definition in any accepted shape (see module doc)."""
    doc = to_register_input(copy.deepcopy(dict(td)))
    _drop_empty_strings(doc)
    network_mode = _effective_network_mode(doc)
    windows = _is_windows(doc)

    # Linux tasks default to bridge (API reference); moto and ECS may write it back.
    if not windows:
        _drop_default(doc, "networkMode", "bridge")
    # Default false (API reference); DescribeTaskDefinition returns it explicitly.
    _drop_default(doc, "enableFaultInjection", False)

    if "cpu" in doc:
        doc["cpu"] = parse_cpu(doc["cpu"])
    if "memory" in doc:
        doc["memory"] = parse_memory(doc["memory"])

    containers = doc.get("containerDefinitions")
    if isinstance(containers, list):
        for container in containers:
            if isinstance(container, dict):
                _normalize_container(container, network_mode)
        # Containers are found by name, never by position.
        doc["containerDefinitions"] = _sorted_by(containers, "name")

    volumes = doc.get("volumes")
    if isinstance(volumes, list):
        for volume in volumes:
            if isinstance(volume, dict):
                _normalize_volume(volume)
        # Volumes are referenced by name from mountPoints; their order is meaningless.
        doc["volumes"] = _sorted_by(volumes, "name")

    # Constraints all apply together: a set.
    _sort_list(doc, "placementConstraints", "type", "expression")
    # A set of launch types; ECS keeps whatever order it was given.
    _sort_scalars(doc, "requiresCompatibilities")
    # Tags are a map keyed by key. ecsdeploy's own release records (the Git revision,
    # the environment, the outcome) describe a release, not the task definition: they
    # never make a difference, and a revision registered for another commit is reused.
    tags = doc.get("tags")
    if isinstance(tags, list):
        kept = [
            t
            for t in tags
            if not (isinstance(t, dict) and str(t.get("key", "")).startswith(RELEASE_TAG_PREFIX))
        ]
        if kept:
            doc["tags"] = kept
        else:
            doc.pop("tags")
    _sort_list(doc, "tags", "key")
    _sort_list(doc, "inferenceAccelerators", "deviceName")

    proxy = doc.get("proxyConfiguration")
    if isinstance(proxy, dict):
        # APPMESH is the only proxy type, so absent can only mean APPMESH.
        _drop_default(proxy, "type", "APPMESH")
        # Properties are a name -> value map.
        _sort_list(proxy, "properties", "name")

    platform = doc.get("runtimePlatform")
    if isinstance(platform, dict) and doc.get("requiresCompatibilities") == ["FARGATE"]:
        # Fargate-only tasks run on Linux/X86_64 unless told otherwise. (On EC2 an
        # absent runtimePlatform places the task on any architecture, so not there.)
        _drop_default(platform, "operatingSystemFamily", "LINUX")
        _drop_default(platform, "cpuArchitecture", "X86_64")

    return _prune_dict(doc)


def parse_cpu(value: Any) -> Any:
    """Task cpu as CPU units: "0.25 vCPU" -> 256, "1024" -> 1024; anything else unchanged."""
    return _parse_units(value, _CPU_RE, CPU_UNITS_PER_VCPU)


def parse_memory(value: Any) -> Any:
    """Task memory as MiB: "1 GB" -> 1024, ".5 gb" -> 512, "512" -> 512; else unchanged."""
    return _parse_units(value, _MEMORY_RE, MIB_PER_GB)


def _parse_units(value: Any, pattern: re.Pattern[str], unit: int) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if not isinstance(value, str):
        return value
    match = pattern.match(value)
    if match is None:
        # Left as written (a leftover template expression, a typo) so the diff shows it.
        return value.strip()
    number = float(match.group(1))
    if match.group(2):
        number *= unit
    # A fraction of a unit is not something ECS stores; keep the text to show it.
    return int(number) if number.is_integer() else value.strip()


def canonical_image(image: str) -> str:
    """One spelling per Docker Hub image, the short one people write: `nginx:1.25`,
    `docker.io/library/nginx:1.25` and `registry-1.docker.io/library/nginx:1.25` are
    the same image to Docker and ECS."""
    first, slash, rest = image.partition("/")
    if not slash or first not in _DOCKER_HUB_HOSTS:
        return image
    return rest.removeprefix("library/") if rest.count("/") == 1 else rest


_DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


def _normalize_container(c: dict[str, Any], network_mode: str) -> None:
    _drop_empty_strings(c)
    if isinstance(c.get("image"), str):
        c["image"] = canonical_image(c["image"])
    # "If this parameter is omitted, a container is assumed to be essential."
    _drop_default(c, "essential", True)
    # Omitted container cpu is 0 units, and DescribeTaskDefinition returns cpu: 0.
    _drop_default(c, "cpu", 0)
    for flag in _CONTAINER_FALSE_FLAGS:
        _drop_default(c, flag, False)
    # "By default, the value is enabled."
    _drop_default(c, "versionConsistency", "enabled")

    ports = c.get("portMappings")
    if isinstance(ports, list):
        for port in ports:
            if isinstance(port, dict):
                _normalize_port(port, network_mode)
        # Port mappings are a set; sort by port then protocol as a reader expects.
        c["portMappings"] = sorted(ports, key=_port_sort_key)

    # Environment variables and secrets are maps from name; order is noise.
    _sort_list(c, "environment", "name")
    _sort_list(c, "secrets", "name")

    mounts = c.get("mountPoints")
    if isinstance(mounts, list):
        for mount in mounts:
            if isinstance(mount, dict):
                # "The default value is false."
                _drop_default(mount, "readOnly", False)
        # Docker orders mounts by destination itself, so the list order is not used.
        _sort_list(c, "mountPoints", "containerPath", "sourceVolume")

    volumes_from = c.get("volumesFrom")
    if isinstance(volumes_from, list):
        for source in volumes_from:
            if isinstance(source, dict):
                # "The default value is false."
                _drop_default(source, "readOnly", False)
        _sort_list(c, "volumesFrom", "sourceContainer")

    # One limit per name, one setting per namespace, one requirement per type.
    _sort_list(c, "ulimits", "name")
    _sort_list(c, "systemControls", "namespace")
    _sort_list(c, "resourceRequirements", "type")
    # All conditions must hold before start; ECS does not read them in order.
    _sort_list(c, "dependsOn", "containerName")
    # Docker links are a set of name:alias.
    _sort_scalars(c, "links")
    # /etc/hosts lines for different names do not interact; a stable sort by name
    # keeps the order of lines for one name, which does matter (first match wins).
    _sort_list(c, "extraHosts", "hostname")
    # command, entryPoint, dnsServers, dnsSearchDomains, environmentFiles (processed
    # top down), credentialSpecs and dockerSecurityOptions keep their order.

    health = c.get("healthCheck")
    if isinstance(health, dict):
        # Documented defaults: interval 30 s, timeout 5 s, 3 retries, startPeriod off;
        # ECS returns the first three on describe when they were omitted.
        _drop_default(health, "interval", 30)
        _drop_default(health, "timeout", 5)
        _drop_default(health, "retries", 3)
        _drop_default(health, "startPeriod", 0)

    linux = c.get("linuxParameters")
    if isinstance(linux, dict):
        _normalize_linux_parameters(linux)

    logging = c.get("logConfiguration")
    if isinstance(logging, dict):
        # Like secrets: a map from option name to its source.
        _sort_list(logging, "secretOptions", "name")

    restart = c.get("restartPolicy")
    if restart == {"enabled": False}:
        # A disabled restart policy is no restart policy.
        del c["restartPolicy"]


def _normalize_port(port: dict[str, Any], network_mode: str) -> None:
    # "The default is tcp."
    _drop_default(port, "protocol", "tcp")
    # hostPort 0 is how an omitted hostPort is written back (dynamic in bridge mode).
    _drop_default(port, "hostPort", 0)
    if network_mode in ("awsvpc", "host") and port.get("hostPort") == port.get("containerPort"):
        # awsvpc/host: hostPort must be omitted or equal containerPort, and ECS fills it in.
        port.pop("hostPort", None)


def _port_sort_key(port: Any) -> tuple[tuple[int, Any], ...]:
    # The whole mapping breaks ties, so two mappings of one port sort the same way
    # whatever order they were written in.
    return (
        *_sort_key(port, "containerPort", "protocol", "containerPortRange"),
        (4, _canonical(port)),
    )


def _normalize_linux_parameters(linux: dict[str, Any]) -> None:
    # --init is off unless asked for.
    _drop_default(linux, "initProcessEnabled", False)
    capabilities = linux.get("capabilities")
    if isinstance(capabilities, dict):
        # Capability lists are sets.
        _sort_scalars(capabilities, "add")
        _sort_scalars(capabilities, "drop")
    _sort_list(linux, "devices", "hostPath", "containerPath")
    _sort_list(linux, "tmpfs", "containerPath")
    if "maxSwap" not in linux:
        # "If a value is not specified for maxSwap then this parameter is ignored."
        linux.pop("swappiness", None)
    else:
        # "If the swappiness parameter is not specified, a default value of 60 is used."
        _drop_default(linux, "swappiness", 60)


def _normalize_volume(volume: dict[str, Any]) -> None:
    # Only EBS volumes set this true; describe writes false on every other volume.
    _drop_default(volume, "configuredAtLaunch", False)
    efs = volume.get("efsVolumeConfiguration")
    if isinstance(efs, dict):
        # "Specifying / will have the same effect as omitting this parameter."
        _drop_default(efs, "rootDirectory", "/")
        # "If this parameter is omitted, the default value of DISABLED is used."
        _drop_default(efs, "transitEncryption", "DISABLED")
        auth = efs.get("authorizationConfig")
        if isinstance(auth, dict):
            # "If this parameter is omitted, the default value of DISABLED is used."
            _drop_default(auth, "iam", "DISABLED")
    docker = volume.get("dockerVolumeConfiguration")
    if isinstance(docker, dict):
        # Only "true" creates the volume; false is the absent behaviour.
        _drop_default(docker, "autoprovision", False)
    # An empty `host` (as `host: {}` or `sourcePath: null`) means Docker picks the
    # path, as no `host` does; _prune_empty removes the empty object afterwards.


def _effective_network_mode(doc: Mapping[str, Any]) -> str:
    mode = doc.get("networkMode")
    if isinstance(mode, str) and mode:
        return mode
    # Windows on EC2 uses Docker's default (NAT) network; Linux uses bridge.
    return "default" if _is_windows(doc) else "bridge"


def _is_windows(doc: Mapping[str, Any]) -> bool:
    platform = doc.get("runtimePlatform")
    if not isinstance(platform, dict):
        return False
    family = platform.get("operatingSystemFamily")
    return isinstance(family, str) and family.startswith("WINDOWS")


def _drop_default(obj: dict[str, Any], key: str, default: Any) -> None:
    """Remove obj[key] when it equals default in value and type (so 0 is never False)."""
    if key in obj and type(obj[key]) is type(default) and obj[key] == default:
        del obj[key]


def _drop_empty_strings(obj: dict[str, Any]) -> None:
    for key in [k for k, v in obj.items() if v == "" and k not in _NAME_FIELDS]:
        del obj[key]


def _sort_scalars(obj: dict[str, Any], key: str) -> None:
    items = obj.get(key)
    if isinstance(items, list):
        obj[key] = sorted(items, key=_canonical)


def _sort_list(obj: dict[str, Any], key: str, *fields: str) -> None:
    items = obj.get(key)
    if isinstance(items, list):
        obj[key] = _sorted_by(items, *fields)


def _sorted_by(items: Iterable[Any], *fields: str) -> list[Any]:
    """A stable sort by the given fields; entries without them sort first."""
    return sorted(items, key=lambda item: _sort_key(item, *fields))


def _sort_key(item: Any, *fields: str) -> tuple[tuple[int, Any], ...]:
    if not isinstance(item, dict):
        return ((3, _canonical(item)),)
    return tuple(_sort_token(item.get(f)) for f in fields)


def _sort_token(value: Any) -> tuple[int, Any]:
    # Mixed types must still compare: absent first, then numbers, strings, the rest.
    if value is None:
        return (0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, _canonical(value))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _prune_dict(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop keys holding [] or {} at any depth: ECS describes "none" as an empty list."""
    pruned = {k: _prune(v) for k, v in obj.items()}
    return {k: v for k, v in pruned.items() if v != [] and v != {}}


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return _prune_dict(value)
    if isinstance(value, list):
        # Items stay: an empty item is invalid input, and hiding it would hide that.
        return [_prune(v) for v in value]
    return value
