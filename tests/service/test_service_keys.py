"""The pure side of the Service Connect, registry, volume and alarm keys: deploy.yaml's
names to the API's and back, the compared form, the verify rules on made-up facts, and
init's YAML for lists of mappings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from ecsdeploy.config import model as m
from ecsdeploy.config.service_keys import (
    api_name,
    build_alarms,
    comparable_alarms,
    comparable_registries,
    comparable_service_connect,
    from_api,
    to_api,
    yaml_name,
)
from ecsdeploy.init import Block, emit, to_value
from ecsdeploy.verify.rules import ServiceFacts, linked_findings

REAL = Path("/nonexistent")  # the rules never read the template


@pytest.mark.parametrize(
    ("snake", "camel"),
    [
        ("port_name", "portName"),
        ("managed_ebs_volume", "managedEBSVolume"),
        ("size_in_gib", "sizeInGiB"),
        ("aws_pca_authority_arn", "awsPcaAuthorityArn"),
        ("per_request_timeout_seconds", "perRequestTimeoutSeconds"),
        ("enabled", "enabled"),
    ],
)
def test_names_both_ways(snake: str, camel: str) -> None:
    assert api_name(snake) == camel
    assert yaml_name(camel) == snake


def test_values_both_ways_keep_options_and_turn_tags_into_a_list() -> None:
    yaml_value: dict[str, Any] = {
        "log_configuration": {
            "log_driver": "awslogs",
            "options": {"awslogs-group": "/ecs/x", "awslogs-stream-prefix": "sc"},
        },
        "tag_specifications": [{"resource_type": "volume", "tags": {"team": "shop"}}],
        "unset": None,
    }
    api = to_api(yaml_value)
    assert api == {
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": "/ecs/x", "awslogs-stream-prefix": "sc"},
        },
        "tagSpecifications": [
            {"resourceType": "volume", "tags": [{"key": "team", "value": "shop"}]}
        ],
    }
    del yaml_value["unset"]
    assert from_api(api) == yaml_value


def test_service_connect_is_compared_in_one_form() -> None:
    live = {
        "enabled": True,
        "namespace": "shop.local",
        "services": [
            {"portName": "b", "discoveryName": "b", "clientAliases": [{"port": 81}]},
            {"portName": "a", "discoveryName": "api", "clientAliases": []},
        ],
    }
    assert comparable_service_connect(live) == {
        "enabled": True,
        "namespace": "shop.local",
        "services": [
            {"portName": "a", "discoveryName": "api"},
            {"portName": "b", "clientAliases": [{"port": 81}]},
        ],
        "logConfiguration": None,
        "accessLogConfiguration": None,
    }
    never = comparable_service_connect(None)
    assert never["enabled"] is False and never["services"] == []


def test_alarms_absent_are_off_and_names_are_a_set() -> None:
    assert comparable_alarms(None) == {"alarmNames": [], "enable": False, "rollback": False}
    assert comparable_alarms({"alarmNames": ["b", "a"], "enable": True, "rollback": True})[
        "alarmNames"
    ] == ["a", "b"]
    assert build_alarms({"names": ["x"]}) == m.DeploymentAlarms(("x",), True, True)
    assert build_alarms({"enable": False}) == m.DeploymentAlarms((), False, False)
    assert build_alarms(None) is None


def test_registries_in_order_without_nulls() -> None:
    assert comparable_registries(
        [{"registryArn": "b", "port": None}, {"registryArn": "a", "containerName": "web"}]
    ) == [{"registryArn": "a", "containerName": "web"}, {"registryArn": "b"}]


# -- the verify rules ----------------------------------------------------------------------

TASKDEF = {
    "containerDefinitions": [
        {"name": "web", "portMappings": [{"containerPort": 8080, "name": "http"}]},
        {"name": "sidecar", "portMappings": [{"containerPort": 9000}]},
    ]
}


def _service(**kwargs: Any) -> m.Service:
    return m.Service(key="web", cluster="main", name="web", task_definition=REAL, **kwargs)


def _messages(service: m.Service, facts: ServiceFacts | None = None) -> list[str]:
    return [f.message for f in linked_findings(service, TASKDEF, facts or ServiceFacts())]


def test_missing_alarms_are_named_and_disabled_ones_not_looked_at() -> None:
    alarms = m.DeploymentAlarms(("a", "b", "c"))
    service = _service(deployment=m.Deployment(alarms=alarms))
    facts = ServiceFacts(alarms={"a": True, "b": False, "c": False})
    assert _messages(service, facts) == ["deployment alarms b, c do not exist in CloudWatch"]
    one = ServiceFacts(alarms={"a": True, "b": True, "c": False})
    assert _messages(service, one) == ["deployment alarm c does not exist in CloudWatch"]
    off = _service(deployment=m.Deployment(alarms=m.DeploymentAlarms(("a",), enable=False)))
    assert _messages(off, facts) == []


def test_service_connect_namespace_and_port_names() -> None:
    sc = m.ServiceConnect(
        namespace="shop.local",
        services=(m.ServiceConnectService("http"), m.ServiceConnectService("grpc")),
    )
    service = _service(service_connect=sc)
    assert _messages(service, ServiceFacts(namespaces={"shop.local": False})) == [
        "Service Connect namespace shop.local does not exist in Cloud Map",
        "Service Connect port_name `grpc` is not the name of a port mapping in the task "
        "definition (named: http)",
    ]
    assert _messages(service, ServiceFacts(namespaces={"shop.local": True}))[1:] == []
    # Turned off: nothing it names matters.
    assert (
        _messages(_service(service_connect=m.ServiceConnect(enabled=False, services=sc.services)))
        == []
    )


def test_registry_container_and_port() -> None:
    def registry(name: str | None, port: int | None) -> list[str]:
        reg = m.ServiceRegistry("arn:x", container_name=name, container_port=port)
        return _messages(_service(service_registries=(reg,)))

    assert registry("web", 8080) == []
    assert registry(None, None) == []
    assert registry("db", 5432) == [
        "service registry container `db` is not in the task definition (containers: sidecar, web)"
    ]
    assert registry("sidecar", 9001) == [
        "service registry port 9001 is not a containerPort of container `sidecar` (its ports: 9000)"
    ]


# -- init's YAML for lists of mappings ----------------------------------------------------


def test_lists_of_mappings_read_back_as_written() -> None:
    data = {
        "service_connect": {
            "enabled": True,
            "services": [
                {"port_name": "http", "client_aliases": [{"port": 80, "dns_name": "web"}]},
                {"port_name": "admin", "timeout": {"idle_timeout_seconds": 0}},
            ],
            "log_configuration": {"log_driver": "awslogs", "options": {"awslogs-group": "/x"}},
        },
        "alarm_names": ["a", "b"],
    }
    block = to_value(data)
    assert isinstance(block, Block)
    text = "\n".join(emit(block)) + "\n"
    assert "      client_aliases:\n        - port: 80\n          dns_name: web\n" in text
    assert YAML(typ="safe").load(text) == data == json.loads(json.dumps(block.data()))


def test_what_the_plan_compares_of_service_connect() -> None:
    from ecsdeploy.plan.planner import desired_service_settings

    def compared(sc: m.ServiceConnect) -> dict[str, object]:
        settings = desired_service_settings(_service(service_connect=sc), "td:1")
        return {k: v for k, v in settings.items() if k.startswith("serviceConnect")}

    # No namespace: ECS takes the cluster's default, which the plan does not compare.
    assert compared(m.ServiceConnect()) == {
        "serviceConnectConfiguration.enabled": True,
        "serviceConnectConfiguration.services": [],
        "serviceConnectConfiguration.logConfiguration": None,
        "serviceConnectConfiguration.accessLogConfiguration": None,
    }
    off = m.ServiceConnect(enabled=False, namespace="x", services=(m.ServiceConnectService("a"),))
    assert compared(off) == {"serviceConnectConfiguration.enabled": False}
