"""The normaliser: idempotent, shape-blind, and blind to what AWS adds back."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import StructureShape

from ecsdeploy.plan.normalize import normalize_task_definition, parse_cpu, parse_memory
from ecsdeploy.render.shapes import READ_ONLY_FIELDS, REGISTER_FIELDS, to_register_input

from .ecs_echo import describe_response
from .realdata import EXPECTED_COUNT, REAL_TASKDEFS_DIR, load, real_taskdef_params

DESCRIBE_SHAPED = {
    "02-banbury-cloud-describe",
    "08-ecspresso-td-plain-appmesh",
    "10-where-is-the-power-describe-secrets",
    "11-aghcampus-describe-ec2-hostport0",
    "12-samlesiden-describe-legacy-nulls",
    "17-courshare-payment-describe-managed-instances",
    "19-php-nginx-bridge-dynamic-ports-docker-volume",
    "20-gitlab-runner-describe-wrapped-with-tags",
    "21-newdok-describe-secrets-jsonkey-no-image",
}
REAL = real_taskdef_params()


def _td(doc: dict[str, Any]) -> dict[str, Any]:
    inner = doc.get("taskDefinition")
    return inner if isinstance(inner, dict) else doc


# -- the real task definitions ---------------------------------------------------------


@pytest.mark.parametrize("path", REAL)
def test_normalisation_is_idempotent(path: Path) -> None:
    once = normalize_task_definition(load(path))
    assert normalize_task_definition(once) == once
    assert once["containerDefinitions"], "every real file has containers"


@pytest.mark.parametrize("path", REAL)
def test_normalisation_does_not_modify_its_input(path: Path) -> None:
    doc = load(path)
    kept = copy.deepcopy(doc)
    normalize_task_definition(doc)
    assert doc == kept


@pytest.mark.parametrize("path", REAL)
def test_normal_form_has_no_read_only_fields_or_empty_values(path: Path) -> None:
    normal = normalize_task_definition(load(path))
    assert not READ_ONLY_FIELDS & normal.keys()

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                assert v not in ([], {}, None), f"{where}.{k} is empty"
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")

    walk(normal, "")


@pytest.mark.parametrize("path", REAL)
def test_register_input_and_what_ecs_describes_back_normalise_alike(path: Path) -> None:
    doc = load(path)
    register_input = to_register_input(doc)
    described = describe_response(register_input)
    assert "taskDefinitionArn" in described["taskDefinition"]
    assert normalize_task_definition(described) == normalize_task_definition(register_input)
    assert normalize_task_definition(doc) == normalize_task_definition(register_input)


@pytest.mark.parametrize("path", real_taskdef_params(only=DESCRIBE_SHAPED))
def test_describe_file_equals_its_hand_written_form(path: Path) -> None:
    """A describe output and the register input a person would write for it."""
    doc = load(path)
    written = to_register_input(doc)
    mode = written.get("networkMode")
    for c in written["containerDefinitions"]:
        if c.get("cpu") == 0:
            del c["cpu"]
        if c.get("essential") is True:
            del c["essential"]
        for port in c.get("portMappings", []):
            if port.get("protocol") == "tcp":
                del port["protocol"]
            if port.get("hostPort") == 0 or (
                mode == "awsvpc" and port.get("hostPort") == port.get("containerPort")
            ):
                port.pop("hostPort", None)
        for key in [k for k, v in c.items() if v == []]:
            del c[key]
    for key in [k for k, v in written.items() if v == [] or v is False]:
        del written[key]
    if written.get("networkMode") == "bridge":
        del written["networkMode"]
    assert written != to_register_input(doc) or path.stem.startswith("08-")
    assert normalize_task_definition(written) == normalize_task_definition(doc)


@pytest.mark.parametrize("path", REAL)
def test_containers_are_sorted_by_name_and_lists_by_their_key(path: Path) -> None:
    normal = normalize_task_definition(load(path))
    names = [c["name"] for c in normal["containerDefinitions"]]
    assert names == sorted(names)
    for c in normal["containerDefinitions"]:
        for key in ("environment", "secrets"):
            entries = [e["name"] for e in c.get(key, [])]
            assert entries == sorted(entries), f"{c['name']}.{key}"
        ports = [p.get("containerPort", -1) for p in c.get("portMappings", [])]
        assert ports == sorted(ports)


# -- individual rules ------------------------------------------------------------------


def _one(container: dict[str, Any], **task: Any) -> dict[str, Any]:
    return {"family": "f", "containerDefinitions": [{"name": "web", **container}], **task}


def _container(normal: dict[str, Any]) -> dict[str, Any]:
    container = normal["containerDefinitions"][0]
    assert isinstance(container, dict)
    return container


@pytest.mark.parametrize(
    ("written", "units"),
    [
        ("0.25 vCPU", 256),
        (".25 vcpu", 256),
        ("1 vCPU", 1024),
        ("2vcpu", 2048),
        ("0.5 VCPU", 512),
        ("256", 256),
        ("2048", 2048),
        (" 512 ", 512),
        (1024, 1024),
    ],
)
def test_task_cpu_becomes_cpu_units(written: Any, units: int) -> None:
    assert parse_cpu(written) == units
    assert normalize_task_definition(_one({}, cpu=written))["cpu"] == units


@pytest.mark.parametrize(
    ("written", "mib"),
    [
        ("1 GB", 1024),
        (".5 gb", 512),
        ("0.5GB", 512),
        ("4GB", 4096),
        ("512", 512),
        ("2048", 2048),
        (3072, 3072),
    ],
)
def test_task_memory_becomes_mib(written: Any, mib: int) -> None:
    assert parse_memory(written) == mib
    assert normalize_task_definition(_one({}, memory=written))["memory"] == mib


@pytest.mark.parametrize("written", ["0.3 vCPU", "lots", "{{ cpu }}", "1 GB"])
def test_cpu_that_is_not_a_whole_number_of_units_stays_as_written(written: str) -> None:
    assert normalize_task_definition(_one({}, cpu=written))["cpu"] == written


@pytest.mark.parametrize("path", real_taskdef_params(only={"18-ecs-exec-fargate-unit-strings"}))
def test_unit_string_file_normalises_to_numbers(path: Path) -> None:
    normal = normalize_task_definition(load(path))
    assert (normal["cpu"], normal["memory"]) == (256, 512)


def test_container_numbers_stay_integers() -> None:
    normal = normalize_task_definition(_one({"cpu": 256, "memory": 512, "memoryReservation": 128}))
    assert _container(normal) == {
        "name": "web",
        "cpu": 256,
        "memory": 512,
        "memoryReservation": 128,
    }


def test_essential_false_and_cpu_zero_are_not_confused_with_defaults() -> None:
    normal = normalize_task_definition(_one({"essential": False, "cpu": 0, "privileged": 0}))
    # False is kept (it is not the default); cpu 0 goes; 0 is not False.
    assert _container(normal) == {"name": "web", "essential": False, "privileged": 0}


def test_host_port_equal_to_container_port_is_dropped_under_awsvpc_and_host() -> None:
    for mode in ("awsvpc", "host"):
        port = {"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}
        normal = normalize_task_definition(_one({"portMappings": [port]}, networkMode=mode))
        assert _container(normal)["portMappings"] == [{"containerPort": 8080}]


def test_static_host_port_is_kept_under_bridge_and_dynamic_zero_dropped() -> None:
    ports = [
        {"containerPort": 8080, "hostPort": 80},
        {"containerPort": 9090, "hostPort": 0},
        {"containerPort": 7070, "hostPort": 7070},
    ]
    normal = normalize_task_definition(_one({"portMappings": ports}, networkMode="bridge"))
    assert "networkMode" not in normal
    assert _container(normal)["portMappings"] == [
        {"containerPort": 7070, "hostPort": 7070},
        {"containerPort": 8080, "hostPort": 80},
        {"containerPort": 9090},
    ]


def test_udp_is_kept_and_sorted_after_tcp() -> None:
    ports = [{"containerPort": 53, "protocol": "udp"}, {"containerPort": 53, "protocol": "tcp"}]
    normal = normalize_task_definition(_one({"portMappings": ports}))
    assert _container(normal)["portMappings"] == [
        {"containerPort": 53},
        {"containerPort": 53, "protocol": "udp"},
    ]


def test_bridge_is_kept_for_windows_where_it_is_not_the_default() -> None:
    platform = {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}
    normal = normalize_task_definition(_one({}, networkMode="bridge", runtimePlatform=platform))
    assert normal["networkMode"] == "bridge"


def test_runtime_platform_defaults_drop_only_for_fargate_only_tasks() -> None:
    platform = {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"}
    fargate = normalize_task_definition(
        _one({}, runtimePlatform=platform, requiresCompatibilities=["FARGATE"])
    )
    assert "runtimePlatform" not in fargate
    ec2 = normalize_task_definition(
        _one({}, runtimePlatform=platform, requiresCompatibilities=["EC2"])
    )
    assert ec2["runtimePlatform"] == platform
    arm = normalize_task_definition(
        _one({}, runtimePlatform={"cpuArchitecture": "ARM64"}, requiresCompatibilities=["FARGATE"])
    )
    assert arm["runtimePlatform"] == {"cpuArchitecture": "ARM64"}


def test_health_check_defaults_are_dropped_and_other_timings_kept() -> None:
    health = {"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3}
    assert _container(normalize_task_definition(_one({"healthCheck": health})))["healthCheck"] == {
        "command": ["CMD", "true"]
    }
    health = {"command": ["CMD", "true"], "interval": 10, "retries": 3, "startPeriod": 60}
    assert _container(normalize_task_definition(_one({"healthCheck": health})))["healthCheck"] == {
        "command": ["CMD", "true"],
        "interval": 10,
        "startPeriod": 60,
    }


def test_ordered_lists_keep_their_order() -> None:
    container = {
        "command": ["b", "a"],
        "entryPoint": ["sh", "-c"],
        "dnsServers": ["10.0.0.2", "10.0.0.1"],
        "environmentFiles": [
            {"type": "s3", "value": "arn:aws:s3:::b/2.env"},
            {"type": "s3", "value": "arn:aws:s3:::b/1.env"},
        ],
    }
    assert _container(normalize_task_definition(_one(container))) == {"name": "web", **container}


def test_set_like_lists_are_sorted() -> None:
    container = {
        "links": ["redis", "db:database"],
        "dependsOn": [
            {"containerName": "migrate", "condition": "SUCCESS"},
            {"containerName": "envoy", "condition": "HEALTHY"},
        ],
        "ulimits": [
            {"name": "nproc", "softLimit": 1, "hardLimit": 2},
            {"name": "nofile", "softLimit": 3, "hardLimit": 4},
        ],
        "linuxParameters": {"capabilities": {"add": ["SYS_PTRACE", "NET_ADMIN"]}},
        "mountPoints": [
            {"sourceVolume": "b", "containerPath": "/var/b", "readOnly": False},
            {"sourceVolume": "a", "containerPath": "/var/a", "readOnly": True},
        ],
    }
    normal = _container(normalize_task_definition(_one(container)))
    assert normal["links"] == ["db:database", "redis"]
    assert [d["containerName"] for d in normal["dependsOn"]] == ["envoy", "migrate"]
    assert [u["name"] for u in normal["ulimits"]] == ["nofile", "nproc"]
    assert normal["linuxParameters"] == {"capabilities": {"add": ["NET_ADMIN", "SYS_PTRACE"]}}
    assert normal["mountPoints"] == [
        {"sourceVolume": "a", "containerPath": "/var/a", "readOnly": True},
        {"sourceVolume": "b", "containerPath": "/var/b"},
    ]


def test_volume_defaults_are_dropped() -> None:
    volumes = [
        {
            "name": "efs",
            "configuredAtLaunch": False,
            "efsVolumeConfiguration": {
                "fileSystemId": "fs-1",
                "rootDirectory": "/",
                "transitEncryption": "DISABLED",
                "authorizationConfig": {"iam": "DISABLED"},
            },
        },
        {
            "name": "docker",
            "dockerVolumeConfiguration": {"driver": "local", "autoprovision": False},
        },
        {"name": "bind", "host": {}},
    ]
    normal = normalize_task_definition(_one({}, volumes=volumes))
    assert normal["volumes"] == [
        {"name": "bind"},
        {"name": "docker", "dockerVolumeConfiguration": {"driver": "local"}},
        {"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}},
    ]


def test_empty_strings_of_old_console_exports_mean_unset() -> None:
    doc = _one({"user": "", "environment": [{"name": "EMPTY", "value": ""}]}, taskRoleArn="")
    normal = normalize_task_definition(doc)
    assert "taskRoleArn" not in normal
    # An environment variable set to "" is a real value: it stays.
    assert _container(normal) == {"name": "web", "environment": [{"name": "EMPTY", "value": ""}]}


def test_tags_sorted_by_key_and_proxy_properties_by_name() -> None:
    doc = _one(
        {},
        tags=[{"key": "b", "value": "1"}, {"key": "a", "value": "2"}],
        proxyConfiguration={
            "type": "APPMESH",
            "containerName": "envoy",
            "properties": [
                {"name": "ProxyIngressPort", "value": "1"},
                {"name": "AppPorts", "value": "2"},
            ],
        },
    )
    normal = normalize_task_definition(doc)
    assert [t["key"] for t in normal["tags"]] == ["a", "b"]
    assert normal["proxyConfiguration"] == {
        "containerName": "envoy",
        "properties": [
            {"name": "AppPorts", "value": "2"},
            {"name": "ProxyIngressPort", "value": "1"},
        ],
    }


# -- the shapes module's field list ----------------------------------------------------


def _members(shape: Any) -> set[str]:
    assert isinstance(shape, StructureShape)
    return set(shape.members)


def test_register_fields_match_botocores_register_task_definition_input() -> None:
    model = botocore.session.get_session().get_service_model("ecs")
    members = _members(model.operation_model("RegisterTaskDefinition").input_shape)
    assert set(REGISTER_FIELDS) == members


def test_read_only_fields_are_describe_only() -> None:
    model = botocore.session.get_session().get_service_model("ecs")
    described = _members(model.shape_for("TaskDefinition"))
    assert described - set(REGISTER_FIELDS) <= set(READ_ONLY_FIELDS)
    assert not set(READ_ONLY_FIELDS) & set(REGISTER_FIELDS)


def test_all_real_task_definitions_are_there() -> None:
    assert len(list(REAL_TASKDEFS_DIR.glob("*.json"))) == EXPECTED_COUNT


@pytest.mark.parametrize(
    ("image", "canonical"),
    [
        ("nginx:1.25", "nginx:1.25"),
        ("docker.io/library/nginx:1.25", "nginx:1.25"),
        ("registry-1.docker.io/library/nginx:1.25", "nginx:1.25"),
        ("index.docker.io/bitnami/redis:7", "bitnami/redis:7"),
        ("docker.io/bitnami/redis:7", "bitnami/redis:7"),
        ("bitnami/redis:7", "bitnami/redis:7"),
        ("localhost/shop/web:1", "localhost/shop/web:1"),
        ("127.0.0.1:5556/shop/web:1", "127.0.0.1:5556/shop/web:1"),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web:3f2c1ab",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web:3f2c1ab",
        ),
        ("docker.io/library/nginx@sha256:" + "a" * 64, "nginx@sha256:" + "a" * 64),
    ],
)
def test_docker_hub_images_have_one_spelling(image: str, canonical: str) -> None:
    from ecsdeploy.plan.normalize import canonical_image

    assert canonical_image(image) == canonical


def test_docker_hub_spellings_diff_empty() -> None:
    from ecsdeploy.plan.diff import diff_task_definitions

    live = {"family": "f", "containerDefinitions": [{"name": "a", "image": "nginx:1.25"}]}
    desired = {
        "family": "f",
        "containerDefinitions": [{"name": "a", "image": "registry-1.docker.io/library/nginx:1.25"}],
    }
    assert not diff_task_definitions(live, desired).changed
