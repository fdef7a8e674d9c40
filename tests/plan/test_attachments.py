"""The planner's comparison of deploy.yaml's load balancers and network configuration
with a live service's (pure: made-up DescribeServices entries)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecsdeploy.config.model import LoadBalancer, Network, Service
from ecsdeploy.plan.observe import ServiceState
from ecsdeploy.plan.planner import attachment_changes, resolve_target_groups

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{}/0123456789abcdef"
AWSVPC = {"networkMode": "awsvpc"}


def service(*groups: str, network: Network | None = None) -> Service:
    return Service(
        key="web",
        cluster="main",
        name="web",
        task_definition=Path("/x/web.json.j2"),
        load_balancers=tuple(
            LoadBalancer(target_group=g, container="web", port=8080, label=f"load_balancers[{i}]")
            for i, g in enumerate(groups)
        ),
        network=network,
    )


def state(*groups: str, awsvpc: dict[str, Any] | None = None) -> ServiceState:
    live: dict[str, Any] = {
        "loadBalancers": [
            {"targetGroupArn": TG.format(g), "containerName": "web", "containerPort": 8080}
            for g in groups
        ]
    }
    if awsvpc is not None:
        live["networkConfiguration"] = {"awsvpcConfiguration": awsvpc}
    return ServiceState("web", "main", "web", live)


def test_names_resolve_through_the_live_arns_and_order_does_not_matter() -> None:
    svc, live = service("int", "ext"), state("ext", "int")
    arns = resolve_target_groups(svc, live, {})
    assert arns == {"int": TG.format("int"), "ext": TG.format("ext")}
    assert attachment_changes(svc, live, {}, arns) == ([], {})


def test_a_name_the_service_is_not_in_comes_from_the_lookup() -> None:
    svc, live = service("ext", "new"), state("ext", "int")
    arns = resolve_target_groups(svc, live, {"new": TG.format("new")})
    changes, fields = attachment_changes(svc, live, {}, arns)
    assert [(c.field, c.before, c.after) for c in changes] == [
        (
            "loadBalancers",
            ["web:8080 in ext", "web:8080 in int"],
            ["web:8080 in ext", "web:8080 in new"],
        )
    ]
    assert [lb["targetGroupArn"] for lb in fields["loadBalancers"]] == [
        TG.format("ext"),
        TG.format("new"),
    ]
    # Unknown anywhere: None, for the planner or verify to report.
    assert resolve_target_groups(service("gone"), live, {}) == {"gone": None}


def test_no_load_balancers_in_deploy_yaml_leaves_the_live_ones() -> None:
    assert attachment_changes(service(), state("ext"), AWSVPC, {}) == ([], {})


def test_network_fields_left_out_keep_their_live_values() -> None:
    live = state(
        awsvpc={
            "subnets": ["subnet-b", "subnet-a"],
            "securityGroups": ["sg-1"],
            "assignPublicIp": "DISABLED",
        }
    )
    same = service(network=Network(subnets=("subnet-a", "subnet-b")))
    assert attachment_changes(same, live, AWSVPC, {}) == ([], {})
    public = service(network=Network(assign_public_ip=True))
    changes, fields = attachment_changes(public, live, AWSVPC, {})
    assert [(c.field, c.before, c.after) for c in changes] == [
        ("networkConfiguration.awsvpcConfiguration.assignPublicIp", "DISABLED", "ENABLED")
    ]
    assert fields == {
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-b", "subnet-a"],
                "securityGroups": ["sg-1"],
                "assignPublicIp": "ENABLED",
            }
        }
    }


def test_network_is_not_compared_for_a_bridge_service() -> None:
    svc = service(network=Network(subnets=("subnet-a",)))
    assert attachment_changes(svc, state(), {"networkMode": "bridge"}, {}) == ([], {})
