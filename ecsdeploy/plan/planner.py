"""The planner: desired state (config, renders) against live state -> a Plan. Pure, no I/O."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ecsdeploy import __version__
from ecsdeploy.adapters.ecs import family_and_revision, short_arn
from ecsdeploy.config.model import Config, Service
from ecsdeploy.config.overrides import CREATE_ONLY
from ecsdeploy.config.service_keys import (
    SERVICE_CONNECT_MEMBERS,
    alarms_api,
    comparable_alarms,
    comparable_registries,
    comparable_service_connect,
    comparable_volumes,
    registries_api,
    service_connect_api,
    volumes_api,
)
from ecsdeploy.ecsconfig import EcsConfig
from ecsdeploy.errors import OperationError
from ecsdeploy.releases import (
    FAILED,
    GIT_REVISION,
    OUTCOME,
    ROLLED_BACK,
    failed_revisions,
    outcome_of,
    tag_map,
    with_release_tags,
)
from ecsdeploy.render import ImageRef, RenderedService

from . import codedeploy
from .diff import Mask, diff_task_definitions, mask_environment
from .model import (
    Change,
    DeregisterStep,
    EcsConfigStep,
    Fingerprint,
    ImageStep,
    Plan,
    RegisterStep,
    SecretStep,
    ServicePlan,
    ServiceStep,
    Step,
    WaitStep,
    Warning,
)
from .normalize import normalize_task_definition
from .observe import InstanceState, LiveState, ServiceState
from .scaling import scaling_step
from .strategy import (
    ArnBase,
    comparable_hooks,
    desired_hooks,
    ecs_controlled,
    hook_text,
    live_strategy_value,
    shift_bake,
    stages,
    strategy_request,
)

NEW_REVISION = "(new)"
FAILED_OUTCOMES = (FAILED, ROLLED_BACK)


def known_after_apply(secret_name: str) -> str:
    """What a plan shows (and a saved plan holds) for the ARN of a secret apply creates."""
    return f"(known after apply: ARN of secret {secret_name})"


def placeholder_secret(value: object) -> str | None:
    """The secret name in a `known_after_apply` value, else None."""
    prefix, suffix = "(known after apply: ARN of secret ", ")"
    if isinstance(value, str) and value.startswith(prefix) and value.endswith(suffix):
        return value[len(prefix) : -len(suffix)]
    return None


def inject_repository_credentials(
    td: Mapping[str, Any], parameters: Mapping[str, str]
) -> dict[str, Any]:
    """The task definition with `repositoryCredentials` on every container whose image is
    in one of the registries (registry URL -> credentialsParameter); a container that
    sets its own is left alone."""
    out = copy.deepcopy(dict(td))
    for container in out.get("containerDefinitions") or []:
        image = str(container.get("image") or "")
        for url, parameter in parameters.items():
            if image.startswith(url + "/") and "repositoryCredentials" not in container:
                container["repositoryCredentials"] = {"credentialsParameter": parameter}
    return out


def _uses_repository_credentials(td: Mapping[str, Any]) -> bool:
    return any("repositoryCredentials" in c for c in td.get("containerDefinitions") or [])


def _out_of_date(instances: tuple[InstanceState, ...], digest: str) -> tuple[str, ...]:
    return tuple(i.ec2_instance_id for i in instances if i.ecs_config != digest)


def service_fields(service: Service) -> dict[str, Any]:
    """The service settings beyond the core ones that deploy.yaml mentions, in the
    CreateService/UpdateService shape (service_overrides merged in); tags aside."""
    fields: dict[str, Any] = {}
    if service.scheduling_strategy is not None:
        fields["schedulingStrategy"] = service.scheduling_strategy  # create-only
    if service.enable_execute_command is not None:
        fields["enableExecuteCommand"] = service.enable_execute_command
    if service.propagate_tags is not None:
        fields["propagateTags"] = service.propagate_tags
    if service.platform_version is not None:
        fields["platformVersion"] = service.platform_version
    placement = service.placement
    if placement.constraints is not None:
        fields["placementConstraints"] = [
            {"type": c.type} | ({"expression": c.expression} if c.expression is not None else {})
            for c in placement.constraints
        ]
    if placement.strategy is not None:
        fields["placementStrategy"] = [
            {"type": p.type} | ({"field": p.field} if p.field is not None else {})
            for p in placement.strategy
        ]
    if service.capacity_provider_strategy is not None:
        fields["capacityProviderStrategy"] = [
            {"capacityProvider": c.capacity_provider, "weight": c.weight, "base": c.base}
            for c in service.capacity_provider_strategy
        ]
    if service.service_connect is not None:
        fields["serviceConnectConfiguration"] = service_connect_api(service.service_connect)
    if service.service_registries is not None:
        fields["serviceRegistries"] = registries_api(service.service_registries)
    if service.availability_zone_rebalancing is not None:
        fields["availabilityZoneRebalancing"] = service.availability_zone_rebalancing
    if service.volume_configurations is not None:
        fields["volumeConfigurations"] = volumes_api(service.volume_configurations)
    fields |= copy.deepcopy(dict(service.service_overrides))
    return fields


# Fields compared in a normal form (ECS's defaults filled in, lists in order), the same
# on both sides; a ServiceConnectConfiguration member by member, each whole.
_COMPARABLE = {
    "serviceConnectConfiguration": comparable_service_connect,
    "serviceRegistries": comparable_registries,
    "volumeConfigurations": comparable_volumes,
}


def _flat(prefix: str, value: Any) -> dict[str, Any]:
    """Objects as dotted fields (`deploymentController.type`); lists and scalars whole."""
    if prefix in _COMPARABLE:
        value = _COMPARABLE[prefix](value)
        if prefix == "serviceConnectConfiguration":
            if not value["enabled"]:  # off: what it would name means nothing
                return {f"{prefix}.enabled": False}
            # No namespace given: ECS uses the cluster's default one, not compared.
            return {
                f"{prefix}.{k}": value[k]
                for k in SERVICE_CONNECT_MEMBERS
                if k != "namespace" or value[k] is not None
            }
        return {prefix: value}
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out |= _flat(f"{prefix}.{key}", inner)
        return out
    return {prefix: value}


def desired_service_settings(
    service: Service, task_definition: str, *, create: bool = False
) -> dict[str, object]:
    """The service fields deploy.yaml owns, as `ecs:DescribeServices` names them.

    Only what deploy.yaml mentions: an omitted desired_count is not compared (the live
    service keeps its count; a new one starts with 1), nor is an omitted setting. A
    DAEMON service has no count of its own (ECS runs one task per instance).
    """
    dep = service.deployment
    settings: dict[str, object] = {"taskDefinition": task_definition}
    if (service.desired_count is not None or create) and not service.daemon:
        settings["desiredCount"] = service.initial_count
    settings |= {
        "deploymentConfiguration.minimumHealthyPercent": dep.minimum_healthy_percent,
        "deploymentConfiguration.maximumPercent": dep.maximum_percent,
        "deploymentConfiguration.deploymentCircuitBreaker.enable": dep.circuit_breaker.enable,
        "deploymentConfiguration.deploymentCircuitBreaker.rollback": dep.circuit_breaker.rollback,
    }
    if dep.alarms is not None:
        alarms = comparable_alarms(alarms_api(dep.alarms))
        if not dep.alarms.enable:  # names and rollback mean nothing while off
            alarms = {"enable": False}
        settings |= _flat("deploymentConfiguration.alarms", alarms)
    if ecs_controlled(service) and (dep.traffic_shifting or not create):
        settings |= _flat("deploymentConfiguration", strategy_request(service))
    if service.health_check_grace_period is not None:
        settings["healthCheckGracePeriodSeconds"] = int(service.health_check_grace_period)
    for name, value in service_fields(service).items():
        if create or name not in CREATE_ONLY:
            settings |= _flat(name, value)
    for key, value in (service.tags or {}).items():
        settings[f"tags.{key}"] = value
    if create:  # nothing to show for what a new service will not have
        settings = {k: v for k, v in settings.items() if v is not None}
    return settings


# What DescribeServices leaves out means ECS's default (API reference).
_LIVE_DEFAULTS: Mapping[str, object] = {
    "enableExecuteCommand": False,
    "propagateTags": "NONE",
    "placementConstraints": [],
    "placementStrategy": [],
    "capacityProviderStrategy": [],
    "enableECSManagedTags": False,
    "serviceRegistries": [],
    # A service that never had it set: ECS treats it as DISABLED (UpdateService).
    "availabilityZoneRebalancing": "DISABLED",
    "volumeConfigurations": [],
}


def _live_value(svc: Mapping[str, Any], field: str) -> object:
    """A service field as DescribeServices (with TAGS) shows it, by dotted name; one it
    reports only per deployment (serviceConnectConfiguration, volumeConfigurations)
    from the primary deployment."""
    if field.startswith("tags."):
        return tag_map(svc).get(field.removeprefix("tags."))
    head, *rest = field.split(".")
    primary = next((d for d in svc.get("deployments") or [] if d.get("status") == "PRIMARY"), None)
    value: Any = svc.get(head)
    if value is None and primary is not None:
        value = primary.get(head)
    if value is None:
        value = _LIVE_DEFAULTS.get(head)
    if head in _COMPARABLE:
        value = _COMPARABLE[head](value)
    if head == "deploymentConfiguration":
        value = dict(value or {})
        value["alarms"] = comparable_alarms(value.get("alarms"))
    for part in rest:
        value = value.get(part) if isinstance(value, Mapping) else None
    if head == "capacityProviderStrategy" and isinstance(value, list):
        # Weight and base default to 0; ECS may leave either out.
        value = [
            {"capacityProvider": i.get("capacityProvider"), "weight": 0, "base": 0}
            | {k: v for k, v in i.items() if k in ("weight", "base") and v is not None}
            for i in value
            if isinstance(i, Mapping)
        ]
    return copy.deepcopy(value)


def _live_settings(state: ServiceState, fields: list[str]) -> dict[str, object]:
    svc = state.service or {}
    dep = svc.get("deploymentConfiguration") or {}
    breaker = dep.get("deploymentCircuitBreaker") or {}
    core: dict[str, object] = {
        "taskDefinition": svc.get("taskDefinition"),
        "desiredCount": svc.get("desiredCount"),
        "deploymentConfiguration.minimumHealthyPercent": dep.get("minimumHealthyPercent"),
        "deploymentConfiguration.maximumPercent": dep.get("maximumPercent"),
        "deploymentConfiguration.deploymentCircuitBreaker.enable": breaker.get("enable", False),
        "deploymentConfiguration.deploymentCircuitBreaker.rollback": breaker.get("rollback", False),
        "healthCheckGracePeriodSeconds": svc.get("healthCheckGracePeriodSeconds"),
    }
    out = {}
    for f in fields:
        if f in core:
            out[f] = core[f]
        elif f.startswith("deploymentConfiguration.") and f.split(".")[1] in _STRATEGY_FIELDS:
            out[f] = live_strategy_value(dep, f.split(".", 1)[1])
        else:
            out[f] = _live_value(svc, f)
    return out


_STRATEGY_FIELDS = frozenset(
    {"strategy", "bakeTimeInMinutes", "linearConfiguration", "canaryConfiguration"}
)


def wait_step_for(service: Service) -> WaitStep:
    """How a rollout of the service is waited for and judged."""
    dep = service.deployment
    shifting = dep.traffic_shifting and ecs_controlled(service)
    return WaitStep(
        timeout=dep.timeout,
        checks=_checks(service),
        poll=dep.poll_interval,
        circuit_breaker=dep.circuit_breaker.enable,
        load_balancers=service.load_balancers,
        strategy=dep.strategy if shifting else "rolling",
        stages=stages(service) if shifting else (),
        bake=(dep.bake_time or 0.0) if shifting else 0.0,
        shift_bake=shift_bake(service) if shifting else 0.0,
    )


def _checks(service: Service) -> tuple[str, ...]:
    count = "running tasks == desired count"
    if service.daemon:
        count += " (one per container instance)"
    if service.deployment.traffic_shifting and ecs_controlled(service):
        checks = [f"service deployment SUCCESSFUL ({service.deployment.strategy})", count]
    else:
        checks = ["deployment COMPLETED on the new revision", count]
    for lb in service.load_balancers:
        # blue_green, linear, canary: ECS moves traffic only to healthy targets itself.
        if lb.checks.targets_healthy and not service.deployment.traffic_shifting:
            checks.append(f"targets healthy in {lb.target_group}, old targets drained")
    for lb in service.load_balancers:
        if lb.checks.test_http is not None and service.deployment.traffic_shifting:
            http = lb.checks.test_http
            checks.append(f"GET {http.url} -> {http.expect_status} before production traffic")
        if lb.checks.http is not None:
            http = lb.checks.http
            checks.append(f"GET {http.url} -> {http.expect_status}")
    return tuple(checks)


def _image_steps(
    rendered: RenderedService,
    images: Mapping[str, ImageRef],
    live: LiveState,
    planned: set[str],
    errors: list[str],
) -> list[Step]:
    steps: list[Step] = []
    for key in rendered.images:
        ref = images[key]
        state = live.images[key]
        if ref.uri in planned:
            continue
        if ref.promote is None and ref.local is None:
            if state.target_digest is None:
                errors.append(
                    f"image `{key}`: {ref.uri} is not in the registry, and deploy.yaml gives "
                    "neither `promote` nor `local` to make it"
                )
            continue
        if state.source_digest is None:
            errors.append(f"image `{key}`: the source {ref.source} does not exist")
            continue
        if state.target_digest == state.source_digest:
            continue  # already tagged with this revision, same content
        planned.add(ref.uri)
        steps.append(
            ImageStep(
                image=key,
                method="promote" if ref.promote is not None else "push",
                source=ref.source or "",
                target=ref.uri,
                source_digest=state.source_digest,
                registry=ref.registry_key,
                repository=ref.repository,
            )
        )
    return steps


def deployment_configuration(
    service: Service,
    hooks: list[dict[str, Any]] | None = None,
    *,
    with_strategy: bool = False,
) -> dict[str, Any]:
    """deploymentConfiguration as apply sends it: the strategy's fields when the service
    uses (or leaves) blue_green, linear or canary, `hooks` when given."""
    dep = service.deployment
    config: dict[str, Any] = {
        "minimumHealthyPercent": dep.minimum_healthy_percent,
        "maximumPercent": dep.maximum_percent,
        "deploymentCircuitBreaker": {
            "enable": dep.circuit_breaker.enable,
            "rollback": dep.circuit_breaker.rollback,
        },
    }
    if dep.alarms is not None:  # left out, ECS keeps the service's alarms
        config["alarms"] = alarms_api(dep.alarms)
    if with_strategy:
        config |= strategy_request(service)
    if hooks is not None:
        config["lifecycleHooks"] = copy.deepcopy(hooks)
    return config


def service_request(
    service: Service,
    cluster: str,
    task_definition: str | None,
    *,
    create: bool,
    target_groups: Mapping[str, str | None] | None = None,
    changed: frozenset[str] | None = None,
    attachments: Mapping[str, Any] | None = None,
    hooks: list[dict[str, Any]] | None = None,
    with_strategy: bool | None = None,
    arns: ArnBase | None = None,
) -> dict[str, Any]:
    """The UpdateService (or CreateService) input for the service, as apply sends it.

    `task_definition` None stands for the revision the plan registers. An update
    sends the core fields and, of the other settings, those in `changed` (top-level
    names), with `attachments` (the load balancers and network configuration that
    changed, see `attachment_changes`); an omitted desired_count is not sent, so the
    live count stays. `target_groups` maps deploy.yaml's target groups to ARNs;
    `hooks` are the lifecycle hooks to send (see strategy.desired_hooks), and the
    strategy's fields are sent with `with_strategy` (by default: when not rolling).
    """
    request: dict[str, Any] = {"cluster": cluster}
    request["serviceName" if create else "service"] = service.name
    request["taskDefinition"] = task_definition
    if (create or service.desired_count is not None) and not service.daemon:
        request["desiredCount"] = service.initial_count
    if with_strategy is None:
        with_strategy = service.deployment.traffic_shifting and ecs_controlled(service)
    if hooks is None and create and ecs_controlled(service):
        hooks = desired_hooks(service, None, arns or ArnBase(None))
    request["deploymentConfiguration"] = deployment_configuration(
        service, hooks, with_strategy=with_strategy
    )
    if service.health_check_grace_period is not None:
        request["healthCheckGracePeriodSeconds"] = int(service.health_check_grace_period)
    extra = service_fields(service)
    if not create:
        for name, value in extra.items():
            if name not in CREATE_ONLY and name in (changed or frozenset()):
                request[name] = value
        if "capacityProviderStrategy" in request:
            # ECS refuses a capacity provider strategy change without a new deployment.
            request["forceNewDeployment"] = True
        request |= copy.deepcopy(dict(attachments or {}))
        return request
    if service.launch_type:
        request["launchType"] = service.launch_type
    if service.load_balancers:
        request["loadBalancers"] = load_balancers_request(service, target_groups or {}, arns)
    if service.network is not None:
        request["networkConfiguration"] = {
            "awsvpcConfiguration": {
                "subnets": list(service.network.subnets),
                "securityGroups": list(service.network.security_groups),
                "assignPublicIp": "ENABLED" if service.network.assign_public_ip else "DISABLED",
            }
        }
    request |= extra
    if service.tags:
        request["tags"] = [{"key": k, "value": v} for k, v in service.tags.items()]
    return request


def load_balancers_request(
    service: Service,
    target_groups: Mapping[str, str | None],
    arns: ArnBase | None = None,
) -> list[dict[str, Any]]:
    """Every `load_balancers` entry in the CreateService/UpdateService shape, with the
    advancedConfiguration of blue_green, linear and canary."""
    out = []
    for lb in service.load_balancers:
        entry: dict[str, Any] = {
            "targetGroupArn": target_groups.get(lb.target_group) or lb.target_group,
            "containerName": lb.container,
            "containerPort": lb.port,
        }
        if service.deployment.traffic_shifting and lb.alternate_target_group:
            advanced = {
                "alternateTargetGroupArn": target_groups.get(lb.alternate_target_group)
                or lb.alternate_target_group,
                "productionListenerRule": lb.production_listener_rule,
                "roleArn": (arns or ArnBase(None)).role(lb.role or ""),
            }
            if lb.test_listener_rule:
                advanced["testListenerRule"] = lb.test_listener_rule
            entry["advancedConfiguration"] = advanced
        out.append(entry)
    return out


def target_group_name(arn: str) -> str:
    """`shop-web` of `arn:aws:elasticloadbalancing:...:targetgroup/shop-web/0123abcd`."""
    _, sep, rest = arn.partition(":targetgroup/")
    return rest.split("/", 1)[0] if sep else arn


def resolve_target_groups(
    service: Service, state: ServiceState, known: Mapping[str, str]
) -> dict[str, str | None]:
    """Each target group deploy.yaml names (alternate ones too) -> its ARN (None: not
    found). An ARN is itself; a name is looked up in `known` (what the plan operation
    resolved), else in the live service's target groups, whose ARNs hold their names."""
    live: list[str] = []
    for lb in (state.service or {}).get("loadBalancers") or []:
        if not isinstance(lb, Mapping):
            continue
        advanced = lb.get("advancedConfiguration") or {}
        for arn in (lb.get("targetGroupArn"), advanced.get("alternateTargetGroupArn")):
            if arn:
                live.append(str(arn))
    found: dict[str, str | None] = {}
    for lb in service.load_balancers:
        for tg in (lb.target_group, lb.alternate_target_group):
            if tg is None:
                continue
            if tg.startswith("arn:"):
                found[tg] = tg
            else:
                found[tg] = known.get(tg) or next(
                    (a for a in live if target_group_name(a) == tg), None
                )
    return found


_LB_FIELDS = ("targetGroupArn", "loadBalancerName", "containerName", "containerPort")


def _lb_entries(entries: Any) -> list[dict[str, Any]]:
    """Load balancer entries with only the fields ECS compares. An entry's target group
    and alternate one (blue_green, linear, canary) are a pair in either order: which of
    the two serves production changes with each deployment."""
    out = []
    for lb in entries or []:
        if not isinstance(lb, Mapping):
            continue
        entry = {k: lb[k] for k in _LB_FIELDS if lb.get(k) is not None}
        advanced = lb.get("advancedConfiguration")
        if isinstance(advanced, Mapping) and advanced:
            pair = [entry.pop("targetGroupArn", None), advanced.get("alternateTargetGroupArn")]
            entry["targetGroupArns"] = sorted(str(a) for a in pair if a)
            for key in ("productionListenerRule", "testListenerRule", "roleArn"):
                if advanced.get(key):
                    entry[key] = advanced[key]
        out.append(entry)
    return out


def _unordered(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: json.dumps(e, sort_keys=True))


def _lb_text(entry: Mapping[str, Any]) -> str:
    """`web:8080 in shop-web`: one load balancer entry, for people (with the alternate
    target group, the listener rules and the role of blue_green, linear and canary)."""
    groups = entry.get("targetGroupArns") or [entry.get("targetGroupArn")]
    if any(groups):
        where = " / ".join(target_group_name(str(a)) for a in groups if a)
    else:
        where = f"Classic Load Balancer {entry.get('loadBalancerName')}"
    text = f"{entry.get('containerName')}:{entry.get('containerPort')} in {where}"
    extra = [
        f"{label} {str(entry[key]).rsplit('/', 1)[-1]}"
        for key, label in (
            ("productionListenerRule", "production rule"),
            ("testListenerRule", "test rule"),
            ("roleArn", "role"),
        )
        if entry.get(key)
    ]
    return text + (f" ({', '.join(extra)})" if extra else "")


def _oriented(wanted: list[dict[str, Any]], live: Any) -> list[dict[str, Any]]:
    """`wanted` with each pair of target groups the way round the live service has it,
    so an update that keeps the pair does not swap production and alternate."""
    current = {
        str(lb.get("targetGroupArn")): str(
            (lb.get("advancedConfiguration") or {}).get("alternateTargetGroupArn")
        )
        for lb in live or []
        if isinstance(lb, Mapping) and isinstance(lb.get("advancedConfiguration"), Mapping)
    }
    out = copy.deepcopy(wanted)
    for entry in out:
        advanced = entry.get("advancedConfiguration")
        if not isinstance(advanced, dict):
            continue
        tg, alt = str(entry["targetGroupArn"]), str(advanced.get("alternateTargetGroupArn"))
        if current.get(alt) == tg:
            entry["targetGroupArn"], advanced["alternateTargetGroupArn"] = alt, tg
    return out


def _awsvpc(state: ServiceState, desired_td: Mapping[str, Any]) -> bool:
    live = ((state.service or {}).get("networkConfiguration") or {}).get("awsvpcConfiguration")
    return bool(live) or desired_td.get("networkMode") == "awsvpc"


def attachment_changes(
    service: Service,
    state: ServiceState,
    desired_td: Mapping[str, Any],
    target_groups: Mapping[str, str | None],
    arns: ArnBase | None = None,
) -> tuple[list[Change], dict[str, Any]]:
    """What differs between deploy.yaml's load balancers and network configuration and
    the live service's, and the UpdateService fields that change them.

    Compared only when deploy.yaml gives them; the load balancers in any order (target
    groups by ARN), subnets and security groups in any order. A network field deploy.yaml
    leaves out keeps its live value, in the comparison and in the request.
    """
    svc = state.service or {}
    changes: list[Change] = []
    fields: dict[str, Any] = {}
    if service.load_balancers:
        wanted = load_balancers_request(service, target_groups, arns)
        before, after = _lb_entries(svc.get("loadBalancers")), _lb_entries(wanted)
        if _unordered(before) != _unordered(after):
            changes.append(
                Change(
                    "loadBalancers",
                    [_lb_text(e) for e in before],
                    [_lb_text(e) for e in after],
                )
            )
            fields["loadBalancers"] = _oriented(wanted, svc.get("loadBalancers"))
    net = service.network
    if net is not None and _awsvpc(state, desired_td):
        live = (svc.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        prefix = "networkConfiguration.awsvpcConfiguration"
        compared = {
            "subnets": (sorted(net.subnets), sorted(live.get("subnets") or [])),
            "securityGroups": (
                sorted(net.security_groups),
                sorted(live.get("securityGroups") or []),
            ),
            "assignPublicIp": (
                "ENABLED" if net.assign_public_ip else "DISABLED",
                live.get("assignPublicIp") or "DISABLED",
            ),
        }
        changed_net = False
        for name, (want, have) in compared.items():
            if want in ([], None) or want == have:
                continue  # not in deploy.yaml, or the same
            changes.append(Change(f"{prefix}.{name}", have, want))
            changed_net = True
        if changed_net:
            fields["networkConfiguration"] = {
                "awsvpcConfiguration": {
                    "subnets": list(net.subnets) or list(live.get("subnets") or []),
                    "securityGroups": list(net.security_groups)
                    or list(live.get("securityGroups") or []),
                    "assignPublicIp": compared["assignPublicIp"][0],
                }
            }
    return changes, fields


def known_outcomes(
    state: ServiceState,
    revisions: tuple[str, ...],
    described: Mapping[str, Mapping[str, Any]],
) -> dict[str, str | None]:
    """What retention knows of each revision without describing it: the failures the
    service records (its failed-revisions tag), and the records of the revisions the
    observation described anyway (the newest, the one running)."""
    failed = failed_revisions(state.service)
    known: dict[str, str | None] = {}
    for arn in revisions:
        td = described.get(arn)
        outcome = outcome_of(td) if td is not None else None
        if outcome is None and family_and_revision(arn)[1] in failed:
            outcome = ROLLED_BACK
        known[arn] = outcome
    return known


def retention(
    service: Service,
    state: ServiceState,
    revisions: tuple[str, ...],
    registering: bool,
    target_arn: str | None,
    users: Mapping[str, frozenset[str]],
    outcomes: Mapping[str, str | None],
) -> DeregisterStep | None:
    """Retention, applied once the new release succeeded: keep the `keep_revisions`
    newest good releases (the new one included); a revision recorded as failed or
    rolled back does not count and goes; one without a record counts as good, by age.
    Never the revision the service moves to, nor the newest good one before it (what
    a rollback would go to), nor one a service still uses."""
    good_left = service.keep_revisions - (1 if registering else 0)
    last_good = next(
        (a for a in revisions if a != target_arn and outcomes.get(a) not in FAILED_OUTCOMES),
        None,
    )
    candidates = []
    for arn in revisions:
        if arn == target_arn:
            if not registering:
                good_left -= 1  # the reused revision is the new release
            continue
        if outcomes.get(arn) in FAILED_OUTCOMES:
            candidates.append(arn)
        elif good_left > 0:
            good_left -= 1
        elif arn != last_good:
            candidates.append(arn)
    own = {state.arn} if state.arn else set()
    moving_away = target_arn is not None or registering
    stale = []
    for arn in candidates:
        using = users.get(arn, frozenset())
        others = using - own if (moving_away and arn == state.task_definition_arn) else using
        if not others:
            stale.append(arn)
    return DeregisterStep(arns=tuple(stale)) if stale else None


def plan_service(
    config: Config,
    rendered: RenderedService,
    images: Mapping[str, ImageRef],
    live: LiveState,
    planned_images: set[str],
    errors: list[str],
    mask: Mask,
    cluster_steps: Mapping[str, EcsConfigStep] | None = None,
    secrets_current: Mapping[str, bool] | None = None,
    planned_secrets: set[str] | None = None,
    target_groups: Mapping[str, str] | None = None,
    revision: str | None = None,
) -> ServicePlan:
    service = config.services[rendered.key]
    # A CODE_DEPLOY service runs what its PRIMARY task set runs.
    state = codedeploy.effective_state(live.services[rendered.key])
    code_deploy = codedeploy.code_deploy_controlled(service, state.service)
    revisions = live.families.get(rendered.family, ())
    current_arn = state.task_definition_arn
    current_td = live.task_definitions.get(current_arn) if current_arn else None
    latest_arn = revisions[0] if revisions else None
    latest_td = live.task_definitions.get(latest_arn) if latest_arn else None
    desired_td = rendered.task_definition

    steps: list[Step] = list(_image_steps(rendered, images, live, planned_images, errors))
    # Registry credentials before the task definition that needs them: a secret, or
    # the cluster's ecs.config.
    secret_steps, desired_td = _repository_credentials(
        config, desired_td, live, secrets_current or {}, planned_secrets
    )
    steps += secret_steps
    if cluster_steps and state.cluster in cluster_steps:
        steps.append(cluster_steps[state.cluster])

    # Against what the service runs now; a service yet to be created against the family.
    base_td = current_td if current_td is not None else latest_td
    diff = diff_task_definitions(base_td, desired_td, mask=mask)
    target_arn: str | None = current_arn
    registering = False
    # A service to create needs a revision even when the family's newest equals the
    # render (a first apply killed between register and create): it reuses that one.
    if base_td is None or diff.changed or not state.exists:
        desired_norm = normalize_task_definition(desired_td)
        if latest_td is not None and normalize_task_definition(latest_td) == desired_norm:
            target_arn = latest_arn  # registered by an earlier, interrupted apply
            steps.append(RegisterStep(family=rendered.family, diff=diff, reuse_arn=latest_arn))
        else:
            target_arn = None
            registering = True
            steps.append(RegisterStep(family=rendered.family, diff=diff))
            # The release's record travels with what is registered.
            desired_td = with_release_tags(desired_td, revision, config.environment)

    strategy_error = _strategy_change(service, state)
    if strategy_error is not None:
        errors.append(strategy_error)
    if service.deployment.codedeploy is not None and state.exists and not code_deploy:
        errors.append(
            f"service `{service.key}`: deploy.yaml names a CodeDeploy deployment group but "
            f"{service.name}'s deployment controller is not CODE_DEPLOY: ECS deploys it"
        )
    shown_target = target_arn or f"{rendered.family}:{NEW_REVISION}"
    desired = desired_service_settings(service, shown_target, create=not state.exists)
    tg_arns = resolve_target_groups(service, state, target_groups or {})
    arns = ArnBase(state.arn or live.clusters.get(state.cluster))
    hooks = desired_hooks(service, state.service, arns) if ecs_controlled(service) else None
    if not state.exists:
        # (For an existing service verify reports a missing target group, and apply refuses.)
        for lb in service.load_balancers:
            for tg in (lb.target_group, lb.alternate_target_group):
                if tg is not None and tg_arns.get(tg) is None:
                    errors.append(f"service `{service.key}`: target group {tg} does not exist")
        changes = tuple(Change(k, None, _show(k, v)) for k, v in desired.items())
        if hooks:
            changes += (
                Change(
                    "deploymentConfiguration.lifecycleHooks",
                    None,
                    [hook_text(h) for h in comparable_hooks(hooks)],
                ),
            )
        request = service_request(
            service,
            state.cluster,
            target_arn,
            create=True,
            target_groups=tg_arns,
            hooks=hooks or None,
            arns=arns,
        )
        steps.append(ServiceStep(changes=changes, create=True, request=request))
    else:
        live_settings = _live_settings(state, list(desired))
        attached, attachments = attachment_changes(service, state, desired_td, tg_arns, arns)
        changes = tuple(
            Change(k, _show(k, live_settings.get(k)), _show(k, v))
            for k, v in desired.items()
            if live_settings.get(k) != v
        ) + tuple(attached)
        live_dc = (state.service or {}).get("deploymentConfiguration") or {}
        live_hooks = comparable_hooks(live_dc.get("lifecycleHooks"))
        if hooks is not None and comparable_hooks(hooks) != live_hooks:
            changes += (
                Change(
                    "deploymentConfiguration.lifecycleHooks",
                    [hook_text(h) for h in live_hooks],
                    [hook_text(h) for h in comparable_hooks(hooks)],
                ),
            )
        if changes:
            changed = frozenset(c.field.split(".")[0] for c in changes)
            request = service_request(
                service,
                state.cluster,
                target_arn,
                create=False,
                changed=changed,
                attachments=attachments,
                hooks=hooks,
                with_strategy=ecs_controlled(service, state.service)
                and (
                    service.deployment.traffic_shifting
                    or live_strategy_value(live_dc, "strategy") != "ROLLING"
                ),
                arns=arns,
            )
            update = ServiceStep(
                changes=changes,
                request=request,
                notes=_update_notes(service, state, changed),
                tag_resource=_tag_resource(state, changes),
            )
            if code_deploy:
                # UpdateService takes some of it; CodeDeploy deploys the rest.
                steps += codedeploy.codedeploy_steps(
                    service,
                    state,
                    update,
                    target_arn,
                    live.codedeploy.get(service.key),
                    errors,
                    revision,
                )
            else:
                steps.append(update)
    # Application Auto Scaling once the service exists (after its create or update).
    scaling = scaling_step(
        service,
        state.cluster,
        (state.service or {}).get("desiredCount") if state.exists else None,
        live.scaling.get(service.key),
        live.resource_labels.get(service.key),
        errors,
    )
    if scaling is not None:
        steps.append(scaling)
    if code_deploy:
        waiting = codedeploy.wait_step(service, steps, live.codedeploy.get(service.key), errors)
        if waiting is not None:
            steps.append(waiting)
    elif (
        any(isinstance(s, ServiceStep) for s in steps)
        or _rolling_out(state)
        or _unjudged(current_td, revisions_listed=live.revisions_listed)
    ):
        # Also when nothing changes but a rollout is still going (an apply interrupted
        # while it waited): re-running apply then waits for it and checks it.
        steps.append(wait_step_for(service))
    dereg = (
        retention(
            service,
            state,
            revisions,
            registering,
            target_arn,
            live.users,
            known_outcomes(state, revisions, live.task_definitions),
        )
        if live.revisions_listed
        else None
    )
    if dereg is not None:
        steps.append(dereg)

    warnings = _registry_auth_warnings(config, service, rendered, desired_td, cluster_steps)
    if _uses_repository_credentials(desired_td) and not desired_td.get("executionRoleArn"):
        warnings.append(
            Warning(
                service.key,
                "a container uses repositoryCredentials but the task definition has no "
                "executionRoleArn: ECS cannot read the registry secret and the tasks will "
                "not start",
                "set executionRoleArn to a role allowed secretsmanager:GetSecretValue on the "
                "secret (and kms:Decrypt for a customer-managed key)",
            )
        )
    primary = state.primary_deployment
    return ServicePlan(
        key=service.key,
        name=service.name,
        cluster=state.cluster,
        family=rendered.family,
        current_task_definition=current_arn,
        task_definition=desired_td,
        steps=tuple(steps),
        fingerprint=Fingerprint(
            task_definition=current_arn,
            deployment=None if primary is None else primary.id,
            exists=state.exists,
        ),
        warnings=tuple(warnings),
        depends_on=tuple(service.depends_on),
    )


def _strategy_change(service: Service, state: ServiceState) -> str | None:
    """Why the plan cannot be made when deploy.yaml asks for another scheduling strategy
    than the live service's: ECS cannot change it (UpdateService does not take it)."""
    if not state.exists:
        return None
    live = str((state.service or {}).get("schedulingStrategy") or "REPLICA")
    wanted = service.scheduling_strategy or "REPLICA"
    if live == wanted:
        return None
    written = (
        f"scheduling_strategy: {wanted}"
        if service.scheduling_strategy is not None
        else "no scheduling_strategy (REPLICA)"
    )
    return (
        f"service `{service.key}`: deploy.yaml says {written} but {service.name} is a {live} "
        "service; ECS cannot change a service's scheduling strategy, so the service must be "
        "recreated"
    )


def _update_notes(
    service: Service, state: ServiceState, changed: frozenset[str]
) -> tuple[str, ...]:
    """What a reviewer should know about an update beyond the changed fields."""
    notes = []
    live = (state.service or {}).get("desiredCount")
    if service.daemon:
        notes.append(f"desired count: one task per container instance (live {live})")
    elif service.desired_count is None:
        owner = ", autoscaling's" if service.autoscaling is not None else ""
        notes.append(f"desired count: kept (live {live}{owner})")
    if "capacityProviderStrategy" in changed:
        notes.append(
            "the capacity provider strategy changes: ECS starts a new deployment "
            "(forceNewDeployment), replacing every task"
        )
    moved = [
        what
        for name, what in (
            ("loadBalancers", "load balancers"),
            ("networkConfiguration", "network configuration"),
        )
        if name in changed
    ]
    if moved:
        notes.append(
            f"the {' and the '.join(moved)} change: ECS starts a new deployment, "
            "replacing every task"
        )
    for name, what in _REDEPLOYING.items():
        if name in changed:
            notes.append(f"{what}: ECS starts a new deployment, replacing every task")
    return tuple(notes)


# UpdateService fields whose change makes ECS start a new deployment (API reference).
_REDEPLOYING: Mapping[str, str] = {
    "serviceConnectConfiguration": "the Service Connect configuration changes",
    "serviceRegistries": "the service registries change",
    "volumeConfigurations": "the volume configurations change",
}


def _tag_resource(state: ServiceState, changes: tuple[Change, ...]) -> dict[str, Any] | None:
    """The TagResource input for the service's changed tags (UpdateService takes none)."""
    tags = [
        {"key": c.field.removeprefix("tags."), "value": c.after}
        for c in changes
        if c.field.startswith("tags.")
    ]
    if not tags:
        return None
    return {"resourceArn": state.arn, "tags": tags}


def _registry_auth_warnings(
    config: Config,
    service: Service,
    rendered: RenderedService,
    desired_td: Mapping[str, Any],
    cluster_steps: Mapping[str, EcsConfigStep] | None,
) -> list[Warning]:
    found: list[Warning] = []
    fargate = (
        service.launch_type == "FARGATE"
        or any(
            c.capacity_provider.upper().startswith("FARGATE")
            for c in service.capacity_provider_strategy or ()
        )
        or "FARGATE" in (desired_td.get("requiresCompatibilities") or [])
    )
    for key in rendered.images:
        registry = config.registries[config.images[key].registry]
        mode = registry.auth.mode if registry.auth is not None else "ecs_config"
        if fargate and registry.ecs_config and mode == "ecs_config":
            found.append(
                Warning(
                    service.key,
                    f"image `{key}` is in registry `{registry.key}`, whose credentials go to "
                    "the instances' ecs.config: Fargate tasks have no instance to read it",
                    f"set auth.mode: repository_credentials on registry `{registry.key}`",
                )
            )
    for step in (cluster_steps or {}).values():
        if step.drain and step.total < 2:
            found.append(
                Warning(
                    service.key,
                    f"cluster {step.cluster} has {step.total} container instance: draining it "
                    "for the ecs.config roll-out leaves its tasks nowhere to go",
                    "add an instance, or set ecs_config.drain: false on the cluster",
                )
            )
    return found


def _repository_credentials(
    config: Config,
    desired_td: dict[str, Any],
    live: LiveState,
    current: Mapping[str, bool],
    planned: set[str] | None,
) -> tuple[list[Step], dict[str, Any]]:
    """Secret steps for the repository_credentials registries this task definition uses,
    and the task definition with their `repositoryCredentials` (before diffing, so an
    unchanged secret plans no new revision)."""
    parameters: dict[str, str] = {}
    steps: list[Step] = []
    for key, secret in live.secrets.items():
        url = config.registries[key].url
        uses = any(
            str(c.get("image") or "").startswith(url + "/")
            for c in desired_td.get("containerDefinitions") or []
        )
        if not uses:
            continue
        parameters[url] = secret.arn or known_after_apply(secret.name)
        fresh = secret.arn is not None and current.get(key, False)
        if not fresh and (planned is None or key not in planned):
            if planned is not None:
                planned.add(key)
            steps.append(SecretStep(registry=key, name=secret.name, arn=secret.arn))
    if not parameters:
        return steps, desired_td
    return steps, inject_repository_credentials(desired_td, parameters)


def ecs_config_steps(
    config: Config, ecs_configs: Mapping[str, EcsConfig], live: LiveState
) -> dict[str, EcsConfigStep]:
    """Cluster name -> its roll-out, for clusters with instances out of date."""
    steps: dict[str, EcsConfigStep] = {}
    for key, managed in ecs_configs.items():
        instances = live.container_instances.get(managed.cluster, ())
        stale = _out_of_date(instances, managed.digest)
        if not stale:
            continue
        services = [
            s
            for s in config.services.values()
            if config.clusters[s.cluster].name == managed.cluster
        ]
        steps[managed.cluster] = EcsConfigStep(
            cluster=managed.cluster,
            cluster_key=key,
            instances=stale,
            total=len(instances),
            digest=managed.digest,
            lines=tuple(managed.lines()),
            drain=config.clusters[key].ecs_config.drain,
            registries=managed.registries,
            settings=tuple(sorted(config.clusters[key].ecs_config.settings.items())),
            poll=min([5.0, *(s.deployment.poll_interval for s in services)]),
            drain_timeout=max([900.0, *(s.deployment.timeout for s in services)]),
        )
    return steps


def _unjudged(current_td: Mapping[str, Any] | None, *, revisions_listed: bool) -> bool:
    """The service runs a release ecsdeploy registered whose outcome was never recorded:
    an apply stopped after the rollout, before judging it. The plan checks it and
    records it, as that apply would have (not with --no-wait, which judges nothing)."""
    if current_td is None or not revisions_listed:
        return False
    tags = tag_map(current_td)
    return GIT_REVISION in tags and OUTCOME not in tags


def _rolling_out(state: ServiceState) -> bool:
    live = state.live
    return live is not None and live.rolling_out


def _show(field: str, value: object) -> object:
    if field == "taskDefinition" and isinstance(value, str) and value.startswith("arn:"):
        return short_arn(value)
    return value


def make_plan(
    config: Config,
    rendered: Mapping[str, RenderedService],
    images: Mapping[str, ImageRef],
    live: LiveState,
    *,
    revision: str | None,
    region: str | None,
    mask: Mask | None = None,
    now: datetime | None = None,
    ecs_configs: Mapping[str, EcsConfig] | None = None,
    secrets_current: Mapping[str, bool] | None = None,
    target_groups: Mapping[str, str] | None = None,
) -> Plan:
    """Compute the plan; an image that cannot be made is an error here, not in apply.

    `ecs_configs` (cluster key -> managed ecs.config) and `secrets_current` (registry
    key -> whether its secret holds the credentials) come from the plan operation;
    `target_groups` (name -> ARN) names the target groups of services to create.
    """
    planned_images: set[str] = set()
    planned_secrets: set[str] = set()
    errors: list[str] = []
    pending = ecs_config_steps(config, ecs_configs or {}, live)
    services_list = []
    for key in config.service_order():
        if key not in rendered:
            continue
        cluster = config.clusters[config.services[key].cluster].name
        # Each cluster's roll-out travels with the first of its services in the plan.
        carried = {cluster: pending.pop(cluster)} if cluster in pending else {}
        services_list.append(
            plan_service(
                config,
                rendered[key],
                images,
                live,
                planned_images,
                errors,
                mask or mask_environment(),
                cluster_steps=carried,
                secrets_current=secrets_current,
                planned_secrets=planned_secrets,
                target_groups=target_groups,
                revision=revision,
            )
        )
    services = tuple(services_list)
    if errors:
        hints = []
        if any("scheduling strategy" in e for e in errors):
            hints.append(
                "write the live service's `scheduling_strategy` in deploy.yaml, or delete the "
                "service (aws ecs delete-service --force) so that apply creates it anew"
            )
        if any("CodeDeploy deployment group" in e for e in errors):
            hints.append(
                "name the service's CodeDeploy application and deployment group in "
                "`deployment.codedeploy` (application, deployment_group)"
            )
        if any(
            not any(w in e for w in ("scheduling strategy", "CodeDeploy", "CODE_DEPLOY"))
            for e in errors
        ):
            hints.append("push or tag the missing images, or fix `images:` in deploy.yaml")
        raise OperationError(
            "the plan cannot be made:\n  " + "\n  ".join(errors),
            hint="; ".join(hints),
        )
    return Plan(
        services=services,
        revision=revision,
        environment=config.environment,
        config_path=str(config.path),
        region=region,
        created_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
        tool_version=__version__,
        registries=dict(config.registries),
        clusters=tuple(sorted({c.name for c in config.clusters.values()})),
    )
