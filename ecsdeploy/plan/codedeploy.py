"""Services whose deployment controller is CODE_DEPLOY: what apply sends to ECS and to
CodeDeploy for them. Pure: the deployment group comes from the observation.

ECS's UpdateService takes only some settings of such a service (UpdateService reference:
the desired count, deployment configuration, health check grace period, placement
constraints and strategies, ECS managed tags and tag propagation; ecspresso also sends
enableExecuteCommand on every CodeDeploy deploy, and ECS takes it). The task definition,
the load balancer's container and port, the network configuration, the platform version
and the capacity provider strategy change through a CodeDeploy deployment whose AppSpec
names them (CodeDeploy User Guide, "AppSpec 'resources' section for Amazon ECS
deployments"). Anything else cannot change on a CODE_DEPLOY service: a plan error.

A service is deployed through the CodeDeploy deployment group whose `ecsServices` names
it: deploy.yaml's `deployment.codedeploy`, or the one plan finds.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ecsdeploy.config.durations import format_duration
from ecsdeploy.config.model import Service

from .model import Change, CodeDeployStep, CodeDeployTarget, ServiceStep, Step, WaitStep
from .observe import ServiceState

CODE_DEPLOY = "CODE_DEPLOY"

# UpdateService fields ECS takes for a CODE_DEPLOY service (the service's tags go by
# TagResource, as for any service).
UPDATABLE = frozenset(
    {
        "desiredCount",
        "deploymentConfiguration",
        "healthCheckGracePeriodSeconds",
        "placementConstraints",
        "placementStrategy",
        "enableECSManagedTags",
        "propagateTags",
        "enableExecuteCommand",
        "tags",
    }
)
# What a CodeDeploy deployment changes: the AppSpec's TargetService properties.
DEPLOYED = frozenset(
    {
        "taskDefinition",
        "loadBalancers",
        "networkConfiguration",
        "platformVersion",
        "capacityProviderStrategy",
    }
)
# Of a task set, what it runs with: for a CODE_DEPLOY service the PRIMARY one's values are
# the service's (a CodeDeploy deployment changes them on the task set it makes).
_TASK_SET_FIELDS = (
    "taskDefinition",
    "loadBalancers",
    "networkConfiguration",
    "platformVersion",
    "capacityProviderStrategy",
)
_LINEAR = re.compile(r"ECSLinear(\d+)PercentEvery(\d+)Minutes?$")
_CANARY = re.compile(r"ECSCanary(\d+)[Pp]ercent(\d+)Minutes?$")


def code_deploy_controlled(service: Service, live: Mapping[str, Any] | None) -> bool:
    """Whether CodeDeploy deploys the service: deploymentController CODE_DEPLOY, as
    service_overrides asks or the live service has it."""
    wanted = service.service_overrides.get("deploymentController")
    kind = (wanted or (live or {}).get("deploymentController") or {}).get("type", "ECS")
    return bool(kind == CODE_DEPLOY)


def effective_state(state: ServiceState) -> ServiceState:
    """A CODE_DEPLOY service as it runs: the PRIMARY task set's task definition, load
    balancer, network, platform version and capacity providers in the service's place."""
    svc = state.service
    if svc is None or (svc.get("deploymentController") or {}).get("type") != CODE_DEPLOY:
        return state
    primary = next((t for t in svc.get("taskSets") or [] if t.get("status") == "PRIMARY"), None)
    if primary is None:
        return state
    seen = dict(svc)
    for name in _TASK_SET_FIELDS:
        if primary.get(name):
            seen[name] = copy.deepcopy(primary[name])
    return replace(state, service=seen)


@dataclass(frozen=True)
class CodeDeployGroup:
    """A deployment group as plan uses it (BatchGetDeploymentGroups' entry)."""

    application: str
    name: str
    config_name: str
    target_groups: tuple[str, ...]  # the pair, by name
    production_listeners: tuple[str, ...]
    test_listeners: tuple[str, ...]
    ready_wait: float | None  # seconds held Ready for ContinueDeployment; None: no hold
    termination_wait: float  # seconds the original task set runs on after the reroute
    alarms: bool  # CloudWatch alarms can stop its deployments
    active_deployment: str | None = None  # a deployment still going when plan looked
    ecs_services: tuple[tuple[str, str], ...] = ()  # (cluster, service) it deploys

    @classmethod
    def from_api(cls, info: Mapping[str, Any], active: str | None = None) -> CodeDeployGroup:
        pairs = (info.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or [{}]
        pair = pairs[0] if pairs else {}
        blue_green = info.get("blueGreenDeploymentConfiguration") or {}
        ready = blue_green.get("deploymentReadyOption") or {}
        terminate = blue_green.get("terminateBlueInstancesOnDeploymentSuccess") or {}
        return cls(
            application=str(info.get("applicationName") or ""),
            name=str(info.get("deploymentGroupName") or ""),
            config_name=str(info.get("deploymentConfigName") or ""),
            target_groups=tuple(str(t.get("name")) for t in pair.get("targetGroups") or []),
            production_listeners=tuple(
                (pair.get("prodTrafficRoute") or {}).get("listenerArns") or ()
            ),
            test_listeners=tuple((pair.get("testTrafficRoute") or {}).get("listenerArns") or ()),
            ready_wait=float(ready.get("waitTimeInMinutes") or 0) * 60
            if ready.get("actionOnTimeout") == "STOP_DEPLOYMENT"
            else None,
            termination_wait=float(terminate.get("terminationWaitTimeInMinutes") or 0) * 60
            if terminate.get("action", "TERMINATE") == "TERMINATE"
            else 0.0,
            alarms=bool((info.get("alarmConfiguration") or {}).get("enabled")),
            active_deployment=active,
            ecs_services=tuple(
                (str(s.get("clusterName")), str(s.get("serviceName")))
                for s in info.get("ecsServices") or []
            ),
        )

    @property
    def target(self) -> CodeDeployTarget:
        return CodeDeployTarget(self.application, self.name, self.ready_wait)

    @property
    def label(self) -> str:
        return f"{self.application}/{self.name}"


def shift_seconds(config_name: str) -> float:
    """How long a predefined ECS deployment configuration takes to move all production
    traffic (linear: its steps, canary: its interval); 0 for all at once or unknown."""
    linear = _LINEAR.search(config_name)
    if linear:
        steps = -(-100 // int(linear.group(1)))  # ceil
        return float((steps - 1) * int(linear.group(2)) * 60)
    canary = _CANARY.search(config_name)
    if canary:
        return float(int(canary.group(2)) * 60)
    return 0.0


def _tg_name(reference: str) -> str:
    if ":targetgroup/" in reference:
        return reference.split(":targetgroup/", 1)[1].split("/")[0]
    return reference


def _load_balancer(service: Service, svc: Mapping[str, Any]) -> tuple[str, int] | None:
    """(container, port) traffic goes to: deploy.yaml's entry, else the live one."""
    if service.load_balancers:
        lb = service.load_balancers[0]
        return lb.container, lb.port
    live = [lb for lb in svc.get("loadBalancers") or [] if isinstance(lb, Mapping)]
    if live and live[0].get("containerName") and live[0].get("containerPort"):
        return str(live[0]["containerName"]), int(live[0]["containerPort"])
    return None


def appspec(service: Service, state: ServiceState, task_definition: str | None) -> dict[str, Any]:
    """The AppSpec of a deployment of `task_definition` (None: the revision the plan
    registers). What deploy.yaml leaves out stays as the service runs it: its platform
    version (an AppSpec without one means LATEST), its network configuration (CodeDeploy
    keeps the service's when the AppSpec has none)."""
    svc = state.service or {}
    lb = _load_balancer(service, svc)
    container, port = lb if lb is not None else ("", 0)
    props: dict[str, Any] = {
        "TaskDefinition": task_definition,
        "LoadBalancerInfo": {"ContainerName": container, "ContainerPort": port},
    }
    platform = service.platform_version or svc.get("platformVersion")
    if platform:
        props["PlatformVersion"] = platform
    if service.network is not None:
        live = (svc.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        net = service.network
        # All three or none (AppSpec reference): what deploy.yaml leaves out stays.
        props["NetworkConfiguration"] = {
            "AwsvpcConfiguration": {
                "Subnets": list(net.subnets) or list(live.get("subnets") or []),
                "SecurityGroups": list(net.security_groups)
                or list(live.get("securityGroups") or []),
                "AssignPublicIp": "ENABLED" if net.assign_public_ip else "DISABLED",
            }
        }
    if service.capacity_provider_strategy is not None:
        props["CapacityProviderStrategy"] = [
            {"CapacityProvider": c.capacity_provider, "Base": c.base, "Weight": c.weight}
            for c in service.capacity_provider_strategy
        ]
    return {
        "version": 0.0,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": props}}],
    }


def create_deployment_request(group: CodeDeployGroup, revision: str | None) -> dict[str, Any]:
    """CreateDeployment's input but the revision. Rolling back is always on: a release
    that fails, or that apply stops, goes back to the original task set (and so on alarm
    stops, when the group has alarms)."""
    events = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"]
    if group.alarms:
        events.append("DEPLOYMENT_STOP_ON_ALARM")
    request: dict[str, Any] = {
        "applicationName": group.application,
        "deploymentGroupName": group.name,
        "autoRollbackConfiguration": {"enabled": True, "events": events},
    }
    if revision:
        request["description"] = f"ecsdeploy: revision {revision}"
    return request


def codedeploy_steps(
    service: Service,
    state: ServiceState,
    update: ServiceStep,
    task_definition: str | None,
    found: CodeDeployGroup | str | None,
    errors: list[str],
    revision: str | None = None,
) -> list[Step]:
    """The update of a CODE_DEPLOY service, split: what UpdateService takes (a ServiceStep
    without the task definition) and what a CodeDeploy deployment changes (a CodeDeployStep).
    `update` is the UpdateService step the service would get with the ECS controller."""
    svc = state.service or {}
    ecs: list[Change] = []
    deployed: list[Change] = []
    refused: list[str] = []
    for change in update.changes:
        top = change.field.split(".")[0]
        if top == "loadBalancers":
            moved = _load_balancer_change(service, svc, found, errors)
            if moved is not None:
                deployed.append(moved)
        elif top in DEPLOYED:
            deployed.append(change)
        elif top in UPDATABLE:
            ecs.append(change)
        else:
            refused.append(change.field)
    if refused:
        errors.append(
            f"service `{service.key}`: ECS cannot change {', '.join(refused)} of a CODE_DEPLOY "
            "service: UpdateService does not take it, nor does a CodeDeploy deployment"
        )
    steps: list[Step] = []
    if ecs:
        request = {
            k: copy.deepcopy(v)
            for k, v in update.request.items()
            if k in ("cluster", "service") or k in UPDATABLE
        }
        steps.append(
            ServiceStep(
                changes=tuple(ecs),
                request=request,
                notes=tuple(n for n in update.notes if n.startswith("desired count")),
                tag_resource=update.tag_resource,
            )
        )
    if deployed:
        if not isinstance(found, CodeDeployGroup):
            errors.append(f"service `{service.key}`: {found or 'no CodeDeploy deployment group'}")
            return steps
        busy = _under_way(found, svc, task_definition, errors, service.key)
        if busy:
            return steps  # the deployment of this very revision is under way: waited for
        if _load_balancer(service, svc) is None:
            errors.append(
                f"service `{service.key}`: a CODE_DEPLOY service needs a load balancer entry "
                "(its container and port go in the AppSpec)"
            )
            return steps
        steps.append(
            CodeDeployStep(
                target=found.target,
                appspec=appspec(service, state, task_definition),
                request=create_deployment_request(found, revision),
                changes=tuple(deployed),
            )
        )
    return steps


def _under_way(
    group: CodeDeployGroup,
    svc: Mapping[str, Any],
    task_definition: str | None,
    errors: list[str],
    key: str,
) -> bool:
    """Whether the group's deployment still going deploys `task_definition` already (an
    apply stopped while it waited); one of another revision is an error: CodeDeploy
    runs one deployment per group at a time."""
    if group.active_deployment is None:
        return False
    deploying = next(
        (
            str(t.get("taskDefinition"))
            for t in svc.get("taskSets") or []
            if isinstance(t, Mapping) and t.get("externalId") == group.active_deployment
        ),
        None,
    )
    if task_definition is not None and deploying == task_definition:
        return True
    what = f" of {deploying.rsplit('/', 1)[-1]}" if deploying else ""
    errors.append(
        f"service `{key}`: CodeDeploy deployment {group.active_deployment}{what} is under way "
        f"in deployment group {group.label}; CodeDeploy starts another one when it has ended "
        "(wait for it, or stop it: aws deploy stop-deployment --deployment-id "
        f"{group.active_deployment} --auto-rollback-enabled)"
    )
    return True


def _load_balancer_change(
    service: Service,
    svc: Mapping[str, Any],
    found: CodeDeployGroup | str | None,
    errors: list[str],
) -> Change | None:
    """A load balancer change of a CODE_DEPLOY service: its container or port (the
    AppSpec's LoadBalancerInfo); the target group alternates between the group's pair
    with each deployment, so it differs by design, but must be one of the pair."""
    if not service.load_balancers:
        return None
    lb = service.load_balancers[0]
    live = next((x for x in svc.get("loadBalancers") or [] if isinstance(x, Mapping)), {})
    if isinstance(found, CodeDeployGroup) and _tg_name(lb.target_group) not in (
        found.target_groups or (_tg_name(lb.target_group),)
    ):
        errors.append(
            f"service `{service.key}`: target group {lb.target_group} is not one of CodeDeploy "
            f"deployment group {found.label}'s ({', '.join(found.target_groups)})"
        )
    before = (live.get("containerName"), live.get("containerPort"))
    if before == (lb.container, lb.port):
        return None
    return Change("loadBalancers", f"{before[0]}:{before[1]}", f"{lb.container}:{lb.port}")


def wait_step(
    service: Service,
    steps: list[Step],
    found: CodeDeployGroup | str | None,
    errors: list[str],
) -> WaitStep | None:
    """How apply follows a change of a CODE_DEPLOY service: the CodeDeploy deployment it
    creates (or one under way since before the plan), or, for a service it creates or only
    updates, the PRIMARY task set settling on the revision."""
    deploys = any(isinstance(s, CodeDeployStep) for s in steps)
    group = found if isinstance(found, CodeDeployGroup) else None
    under_way = group is not None and group.active_deployment is not None
    if not (deploys or under_way or any(isinstance(s, ServiceStep) for s in steps)):
        return None
    dep = service.deployment
    if not (deploys or under_way) or group is None:
        return WaitStep(
            timeout=dep.timeout,
            checks=("PRIMARY task set on the revision, steady (running tasks == desired count)",),
            poll=dep.poll_interval,
            circuit_breaker=False,
            strategy="codedeploy",
        )
    ready = group.ready_wait
    stages = [
        "CodeDeploy starts a task set of the new revision in the group's other target group "
        "(Install)",
        "test traffic to it (AllowTestTraffic)"
        if group.test_listeners
        else "no test listener: no test traffic",
    ]
    if ready is not None:
        stages.append(
            f"holds it Ready up to {format_duration(round(ready))} for the traffic reroute "
            "to be started (ContinueDeployment READY_WAIT, or the console's Reroute traffic); "
            "apply waits, it does not start it"
        )
    config = group.config_name or "the group's deployment configuration"
    stages.append(f"moves production traffic to it (AllowTraffic, {config})")
    stages.append(
        f"keeps the original task set {format_duration(round(group.termination_wait))}, "
        "then removes it"
        if group.termination_wait
        else "removes the original task set"
    )
    checks = [
        f"CodeDeploy deployment Succeeded ({group.label})",
        "PRIMARY task set on the new revision",
    ]
    if any(lb.checks.http or lb.checks.test_http for lb in service.load_balancers):
        checks.append(
            "not made: the HTTP checks of deploy.yaml (CodeDeploy's lifecycle hooks and "
            "alarms judge a CODE_DEPLOY service's deployments)"
        )
    return WaitStep(
        timeout=dep.timeout,
        checks=tuple(checks),
        poll=dep.poll_interval,
        circuit_breaker=False,
        strategy="codedeploy",
        stages=tuple(stages),
        bake=group.termination_wait,
        shift_bake=shift_seconds(group.config_name),
        codedeploy=group.target,
    )
