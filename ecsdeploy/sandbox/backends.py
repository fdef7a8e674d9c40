"""Reading (and, where ECS would, writing) moto's in-process backends.

The simulation runs in the same process as moto's server, so it reads what it
needs (task definitions, container instances, target-group health settings)
straight from moto's models instead of calling its API over HTTP. This is the
only module that knows moto's internal attribute names, which is why moto is
pinned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ecsdeploy.sandbox.model import HealthSettings, TaskSpec, task_spec_from_definition


@dataclass(frozen=True)
class ContainerInstanceInfo:
    arn: str
    instance_id: str
    ec2_instance_id: str
    availability_zone: str
    cpu: int
    memory: int
    status: str = "ACTIVE"  # or DRAINING (UpdateContainerInstancesState)
    # Its attributes (ecs.instance-type, custom ones) and ec2InstanceId: what
    # memberOf placement constraints test.
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ForwardingRule:
    """A listener rule (or, for a Network Load Balancer, a listener) as ECS reads it to
    move traffic: its load balancer's type and the target groups it forwards to."""

    arn: str
    listener: bool  # a listener ARN rather than a rule's
    load_balancer_type: str  # "application" or "network"
    forward: tuple[tuple[str, int], ...]  # (target group ARN, weight), in order


def _forward_of(actions: Any) -> tuple[tuple[str, int], ...]:
    for action in actions or []:
        data = getattr(action, "data", action)
        if not isinstance(data, dict) or data.get("Type") != "forward":
            continue
        config = data.get("ForwardConfig")
        if isinstance(config, dict) and config.get("TargetGroups"):
            return tuple(
                (str(tg["TargetGroupArn"]), int(tg.get("Weight", 1)))
                for tg in config["TargetGroups"]
            )
        if data.get("TargetGroupArn"):
            return ((str(data["TargetGroupArn"]), 1),)
    return ()


def _resource(resources: list[dict[str, Any]], name: str, default: int) -> int:
    for r in resources:
        if r.get("name") == name:
            return int(r.get("integerValue") or default)
    return default


class MotoBackends:
    """Typed access to the parts of moto's ECS, EC2 and ELBv2 models the engine uses."""

    def __init__(self) -> None:
        self._dicts: dict[str, Any] = {}

    def _backend(self, service: str, account: str, region: str) -> Any:
        # moto's get_backend walks its module list on every call, and the scheduler
        # asks at every step: its BackendDict, which lives as long as moto, is kept.
        found = self._dicts.get(service)
        if found is None:
            from moto.backends import get_backend

            found = self._dicts[service] = get_backend(service)  # type: ignore[call-overload]
        return found[account][region]

    def _ecs(self, account: str, region: str) -> Any:
        return self._backend("ecs", account, region)

    def _elbv2(self, account: str, region: str) -> Any:
        return self._backend("elbv2", account, region)

    def task_spec(self, account: str, region: str, reference: str) -> TaskSpec:
        td = self._ecs(account, region).describe_task_definition(reference)
        definition = {
            "networkMode": td.network_mode,
            "cpu": td.cpu,
            "memory": td.memory,
            "containerDefinitions": list(td.container_definitions),
        }
        return task_spec_from_definition(td.arn, td.family, definition)

    def container_environment(self, account: str, region: str, reference: str) -> dict[str, str]:
        """The environment of a task definition's first essential container ({} if none)."""
        try:
            td = self._ecs(account, region).describe_task_definition(reference)
        except Exception:  # gone from moto: nothing to obey
            return {}
        for container in td.container_definitions or []:
            if container.get("essential", True):
                return {
                    str(e.get("name")): str(e.get("value", ""))
                    for e in container.get("environment") or []
                    if isinstance(e, dict)
                }
        return {}

    def store_task_definition(
        self, account: str, region: str, arn: str, described: dict[str, Any]
    ) -> None:
        """Make moto's copy of a task definition what ECS stored (see taskdefs.py): the
        containers as registered with ECS's defaults (not moto's stand-in `memory` for
        a reservation-only container), task cpu and memory as integer strings."""
        td = self._ecs(account, region).describe_task_definition(arn)
        td.container_definitions = [dict(c) for c in described.get("containerDefinitions", [])]
        td.cpu = described.get("cpu")
        td.memory = described.get("memory")

    def ecs_tag_keys(self, account: str, region: str, arn: str) -> set[str]:
        """The tag keys an ECS resource has (moto raises for a resource it does not know)."""
        return {t["key"] for t in self._ecs(account, region).list_tags_for_resource(arn) or []}

    def draining_instance_arns(
        self, account: str, region: str, cluster_name: str
    ) -> frozenset[str]:
        """The cluster's DRAINING container instances (the scheduler asks at every step)."""
        by_cluster = self._ecs(account, region).container_instances.get(cluster_name, {})
        return frozenset(
            ci.container_instance_arn for ci in list(by_cluster.values()) if ci.status == "DRAINING"
        )

    def container_instances(
        self, account: str, region: str, cluster_name: str
    ) -> list[ContainerInstanceInfo]:
        found: list[ContainerInstanceInfo] = []
        by_cluster = self._ecs(account, region).container_instances.get(cluster_name, {})
        for ci in list(by_cluster.values()):
            if ci.status not in ("ACTIVE", "DRAINING"):
                continue
            arn = ci.container_instance_arn  # moto builds it on each read: once here
            found.append(
                ContainerInstanceInfo(
                    arn=arn,
                    instance_id=arn.split("/")[-1],
                    ec2_instance_id=ci.ec2_instance_id,
                    availability_zone=str(
                        ci.attributes.get("ecs.availability-zone") or f"{region}a"
                    ),
                    cpu=_resource(ci.registered_resources, "CPU", 4096),
                    memory=_resource(ci.registered_resources, "MEMORY", 7482),
                    status=str(ci.status),
                    attributes={
                        **{str(k): str(v) for k, v in dict(ci.attributes or {}).items()},
                        "ec2InstanceId": str(ci.ec2_instance_id),
                    },
                )
            )
        return sorted(found, key=lambda c: c.arn)

    def health_settings(self, account: str, region: str, target_group_arn: str) -> HealthSettings:
        tg = self._elbv2(account, region).target_groups.get(target_group_arn)
        if tg is None:
            return HealthSettings()
        return HealthSettings(
            interval=float(tg.health_check_interval_seconds or 30),
            healthy_threshold=int(tg.healthy_threshold_count or 5),
            unhealthy_threshold=int(tg.unhealthy_threshold_count or 2),
            deregistration_delay=float(
                tg.attributes.get("deregistration_delay.timeout_seconds", 300)
            ),
            port=str(tg.health_check_port or "traffic-port"),
        )

    def cluster_capacity_providers(
        self, account: str, region: str, cluster_name: str
    ) -> tuple[list[str], list[dict[str, Any]]] | None:
        """The cluster's capacity providers and default strategy; None: no such cluster."""
        cluster = self._ecs(account, region).clusters.get(cluster_name)
        if cluster is None:
            return None
        return (
            list(cluster.capacity_providers or []),
            [dict(i) for i in cluster.default_capacity_provider_strategy or []],
        )

    def target_group_exists(self, account: str, region: str, target_group_arn: str) -> bool:
        return target_group_arn in self._elbv2(account, region).target_groups

    def _rule_and_owner(self, account: str, region: str, arn: str) -> tuple[Any, Any, Any] | None:
        """(load balancer, listener, rule or None when `arn` is the listener's own)."""
        for lb in list(self._elbv2(account, region).load_balancers.values()):
            for listener in list(lb.listeners.values()):
                if listener.arn == arn:
                    return lb, listener, None
                # moto keys a listener's default rule by 0, not by its ARN.
                for rule in list(listener.rules.values()):
                    if rule.arn == arn:
                        return lb, listener, rule
        return None

    def rename_listener_resource(self, account: str, region: str, old: str, new: str) -> bool:
        """Give a listener or a listener rule another ARN (a seeding facility, ids.py):
        moto's dicts, the default rule's ARN and the tags follow."""
        backend = self._elbv2(account, region)
        found = self._rule_and_owner(account, region, old)
        if found is None:
            return False
        lb, listener, rule = found
        if rule is None:
            lb.listeners = {new if k == old else k: v for k, v in lb.listeners.items()}
            listener.arn = new
            for default in listener.rules.values():
                if getattr(default, "is_default", False):
                    default.listener_arn = new
                    default.arn = default.arn.replace(
                        old.replace(":listener/", ":listener-rule/"),
                        new.replace(":listener/", ":listener-rule/"),
                    )
        else:
            rules = listener._non_default_rules
            listener._non_default_rules = type(rules)(
                (new if k == old else k, v) for k, v in rules.items()
            )
            rule.arn = new
        tags = backend.tagging_service.tags
        if old in tags:
            tags[new] = tags.pop(old)
        return True

    def forwarding_rule(self, account: str, region: str, arn: str) -> ForwardingRule | None:
        """The listener rule (or NLB listener) `arn`, None if there is no such thing."""
        found = self._rule_and_owner(account, region, arn)
        if found is None:
            return None
        lb, listener, rule = found
        actions = listener.default_actions if rule is None else rule.actions
        return ForwardingRule(
            arn=arn,
            listener=rule is None,
            load_balancer_type=str(getattr(lb, "type", "application") or "application"),
            forward=_forward_of(actions),
        )

    def set_forward_weights(
        self, account: str, region: str, arn: str, weights: Mapping[str, int]
    ) -> None:
        """Make the forward action of rule (or listener) `arn` a weighted ForwardConfig,
        as ECS does with ModifyRule (ModifyListener for an NLB): the target groups it
        forwarded to keep their order, weights as given (others keep theirs)."""
        from moto.elbv2.models import FakeAction

        found = self._rule_and_owner(account, region, arn)
        if found is None:
            return
        lb, listener, rule = found
        actions = list(listener.default_actions if rule is None else rule.actions)
        index = next(
            (i for i, a in enumerate(actions) if getattr(a, "data", {}).get("Type") == "forward"),
            None,
        )
        old = {} if index is None else dict(getattr(actions[index], "data", {}))
        current = list(_forward_of([actions[index]])) if index is not None else []
        order = [tg for tg, _ in current] + [tg for tg in weights if tg not in dict(current)]
        stickiness = (old.get("ForwardConfig") or {}).get(
            "TargetGroupStickinessConfig", {"Enabled": False}
        )
        data: dict[str, Any] = {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": tg, "Weight": int(weights.get(tg, dict(current).get(tg, 0)))}
                    for tg in order
                ],
                "TargetGroupStickinessConfig": stickiness,
            },
        }
        if "Order" in old:
            data["Order"] = old["Order"]
        action = FakeAction(data)
        if index is None:
            actions.append(action)
        else:
            actions[index] = action
        if rule is None:
            listener.default_actions = actions
            for default in listener.rules.values():
                if getattr(default, "is_default", False):
                    default.actions = actions
        else:
            rule.actions = actions
        target_groups = self._elbv2(account, region).target_groups
        for tg in weights:
            found_tg = target_groups.get(tg)
            if found_tg is not None and lb.arn not in found_tg.load_balancer_arns:
                found_tg.load_balancer_arns.append(lb.arn)

    def alarm_states(self, account: str, region: str, names: Sequence[str]) -> dict[str, str]:
        """CloudWatch's state of each named alarm that exists (OK, ALARM, INSUFFICIENT_DATA)."""
        alarms = self._backend("cloudwatch", account, region).alarms
        return {n: str(alarms[n].state_value) for n in names if n in alarms}

    def set_service_task_definition(
        self, account: str, region: str, cluster_name: str, service_name: str, arn: str
    ) -> None:
        # moto keeps UpdateService's raw string ("web:3"); ECS keeps the full ARN.
        service = self._ecs(account, region).services.get(f"{cluster_name}:{service_name}")
        if service is not None:
            service.task_definition = arn

    def ecs_service_active(
        self, account: str, region: str, cluster_name: str, service_name: str
    ) -> bool:
        service = self._ecs(account, region).services.get(f"{cluster_name}:{service_name}")
        return service is not None and getattr(service, "status", "ACTIVE") == "ACTIVE"

    def scalable_target(self, account: str, region: str, rid: str, dimension: str) -> Any:
        """moto's scalable target (min_capacity, max_capacity), or None."""
        backend = self._backend("applicationautoscaling", account, region)
        return backend.targets.get(dimension, {}).get(rid)

    def scaling_policy_exists(self, account: str, region: str, rid: str, name: str) -> bool:
        backend = self._backend("applicationautoscaling", account, region)
        return any(
            p.resource_id == rid and p.policy_name == name for p in backend.policies.values()
        )

    def scheduled_action_exists(self, account: str, region: str, rid: str, name: str) -> bool:
        backend = self._backend("applicationautoscaling", account, region)
        return any(
            a.resource_id == rid and a.scheduled_action_name == name
            for a in backend.scheduled_actions
        )

    def target_group_arn(self, account: str, region: str, name: str) -> str | None:
        """The ARN of the target group named `name` (CodeDeploy names them), or None."""
        for arn, tg in self._elbv2(account, region).target_groups.items():
            if tg.name == name:
                return str(arn)
        return None

    def reset(self) -> None:
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
