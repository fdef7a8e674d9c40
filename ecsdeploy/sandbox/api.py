"""The ECS and ELBv2 operations the simulation answers or augments, in the wire formats.

Each handler gets the parsed request and a way to forward it to moto. Writes
(CreateService, UpdateService, DeleteService) go to moto first, so moto's
validation and stored resources stay the source of truth for what exists; the
simulation then adds what moto lacks and the answer is rewritten from it.
Reads of simulated things (tasks, deployments, events, target health) come
from the simulation alone.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from ecsdeploy.sandbox import strategies
from ecsdeploy.sandbox.model import (
    DEPLOYMENT_SETTINGS,
    DeploymentConfig,
    HookRun,
    LoadBalancerBinding,
    Service,
    ServiceDeploymentRecord,
    Target,
    Task,
)
from ecsdeploy.sandbox.simulation import Simulation

if TYPE_CHECKING:
    from ecsdeploy.sandbox.ssm import Hosts

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
TAG_LIMIT = 50  # user tags per ECS resource
ELBV2_NS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"


@dataclass(frozen=True)
class Call:
    """One AWS request, identified: which service and operation, for which region."""

    service: str  # boto3's client name: "ecs", "elbv2", "ecr", ...
    operation: str
    region: str
    account: str
    body: bytes
    params: dict[str, Any]  # JSON body, or the flat form fields of a query request
    json_protocol: bool = False  # awsJson (X-Amz-Target) rather than query/XML


@dataclass(frozen=True)
class Reply:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body or b"{}")
        return data


Forward = Callable[[bytes | None], Reply]


def json_reply(data: dict[str, Any], status: int = 200) -> Reply:
    body = json.dumps(data).encode()
    return Reply(status, (("Content-Type", JSON_CONTENT_TYPE),), body)


def json_error(code: str, message: str, status: int = 400, **extra: Any) -> Reply:
    body = json.dumps({"__type": code, "message": message, **extra}).encode()
    return Reply(status, (("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-ErrorType", code)), body)


def _cluster_name(params: dict[str, Any]) -> str:
    return str(params.get("cluster") or "default").split("/")[-1]


def _bindings(raw: Any) -> tuple[LoadBalancerBinding, ...]:
    found: list[LoadBalancerBinding] = []
    for lb in raw or []:
        if isinstance(lb, dict) and lb.get("targetGroupArn"):
            found.append(
                LoadBalancerBinding(
                    target_group_arn=str(lb["targetGroupArn"]),
                    container_name=str(lb.get("containerName") or ""),
                    container_port=int(lb.get("containerPort") or 0),
                    advanced=strategies.advanced_from_api(lb.get("advancedConfiguration")),
                )
            )
    return tuple(found)


def _launch_type(params: dict[str, Any], answered: dict[str, Any]) -> str:
    if params.get("launchType"):
        return str(params["launchType"])
    for item in params.get("capacityProviderStrategy") or []:
        if "FARGATE" in str(item.get("capacityProvider", "")).upper():
            return "FARGATE"
    return str(answered.get("launchType") or "EC2")


# Service settings the simulation keeps as sent and DescribeServices reports (moto
# drops some of them), with what ECS reports when CreateService was not given them.
SERVICE_SETTINGS: dict[str, Any] = {
    "enableExecuteCommand": False,
    "propagateTags": "NONE",
    "enableECSManagedTags": False,
    "placementConstraints": [],
    "placementStrategy": [],
    "capacityProviderStrategy": None,
    # ECS turns it on for a service created without it (CreateService reference).
    "availabilityZoneRebalancing": "ENABLED",
    "serviceRegistries": [],
    # Reported on the deployments (DEPLOYMENT_SETTINGS), absent when never sent.
    "serviceConnectConfiguration": None,
    "volumeConfigurations": None,
}


def _settings(params: dict[str, Any], *, create: bool, launch_type: str) -> dict[str, Any]:
    """The SERVICE_SETTINGS a CreateService/UpdateService call sets (with ECS's defaults
    on create); platformVersion LATEST for a Fargate service created without one."""
    out: dict[str, Any] = {}
    for name, default in SERVICE_SETTINGS.items():
        if name in params:
            out[name] = params[name]
        elif create and default is not None:
            out[name] = default
    if out.get("capacityProviderStrategy"):
        # DescribeServices shows weight and base, 0 when they were not given.
        out["capacityProviderStrategy"] = [
            {"capacityProvider": i.get("capacityProvider"), "weight": 0, "base": 0}
            | {k: v for k, v in i.items() if k in ("weight", "base")}
            for i in out["capacityProviderStrategy"]
        ]
    if create and launch_type == "FARGATE":
        out["platformVersion"] = params.get("platformVersion") or "LATEST"
    elif "platformVersion" in params:
        out["platformVersion"] = params["platformVersion"]
    return out


def _daemon_refusal(params: dict[str, Any], *, create: bool) -> str | None:
    """What ECS refuses in a CreateService/UpdateService call for a DAEMON service, in
    its own words (InvalidParameterException), or None."""
    if "desiredCount" in params:
        return (
            "The daemon scheduling strategy does not support a desired count for services. "
            "Remove the desired count value and try again"
        )
    if params.get("placementStrategy"):
        return (
            "The daemon scheduling strategy does not support placement strategies. "
            "Remove the placement strategy and try again"
        )
    if params.get("capacityProviderStrategy"):
        return (
            "Specifying a capacity provider strategy is not supported when you create a "
            "service using the DAEMON scheduling strategy."
        )
    if create and params.get("launchType") == "FARGATE":
        return (
            "The daemon scheduling strategy is not supported for tasks using the FARGATE "
            "launch type. Use the EC2 or EXTERNAL launch type and try again"
        )
    maximum = (params.get("deploymentConfiguration") or {}).get("maximumPercent")
    if maximum is not None and int(maximum) > 100:
        return (
            "The daemon scheduling strategy does not support values above 100 for "
            "maximumPercent on a deployment configuration. Change the maximumPercent value "
            "to 100, and try again"
        )
    return None


def _deployment_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A deployment's Service Connect and volume settings as DescribeServices reports
    them: as sent, a Service Connect service's discoveryName filled in with its
    portName (ECS's default)."""
    out = copy.deepcopy(settings)
    sc = out.get("serviceConnectConfiguration")
    if isinstance(sc, dict):
        for item in sc.get("services") or []:
            if isinstance(item, dict) and item.get("portName") and not item.get("discoveryName"):
                item["discoveryName"] = item["portName"]
    if not out.get("volumeConfigurations"):
        out.pop("volumeConfigurations", None)
    return out


# Service deployment statuses after which nothing happens to it any more.
TERMINAL_DEPLOYMENT_STATUSES = frozenset(
    {"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}
)

TASK_DEFINITION_CALLS = frozenset(
    {"RegisterTaskDefinition", "DescribeTaskDefinition", "DeregisterTaskDefinition"}
)
# In a task definition's record (Simulation.task_definitions): the revision as
# ECS stored it (taskdefs.described), kept beside the fields ECS adds.
_STORED = "stored"


class Api:
    """Routes identified calls to the simulation; None means "let moto answer"."""

    def __init__(self, sim: Simulation, hosts: Hosts | None = None) -> None:
        self.sim = sim
        self.hosts = hosts  # instances as hosts: SSM Run Command, agent restarts (ssm.py)
        from ecsdeploy.sandbox.codedeploy import CodeDeploy

        # CodeDeploy, and the task sets of CODE_DEPLOY services (codedeploy.py).
        self.codedeploy = CodeDeploy(sim)
        self._ecs: dict[str, Callable[[Call, Forward], Reply | None]] = {
            "CreateService": self.create_service,
            "UpdateService": self.update_service,
            "DescribeServices": self.describe_services,
            "DeleteService": self.delete_service,
            "ListTasks": self.list_tasks,
            "DescribeTasks": self.describe_tasks,
            "StopTask": self.stop_task,
            "ListServiceDeployments": self.list_service_deployments,
            "DescribeServiceDeployments": self.describe_service_deployments,
            "DescribeServiceRevisions": self.describe_service_revisions,
            "ContinueServiceDeployment": self.continue_service_deployment,
            "StopServiceDeployment": self.stop_service_deployment,
            "DescribeContainerInstances": self.describe_container_instances,
            "DescribeClusters": self.describe_clusters,
            "TagResource": self.tag_resource,
            "RegisterContainerInstance": self.container_instances_changed,
            "UpdateContainerInstancesState": self.container_instances_changed,
            "DeregisterContainerInstance": self.container_instances_changed,
        }

    def handle(self, call: Call, forward: Forward) -> Reply | None:
        hosted = self._hosts_handle(call, forward)
        if hosted is not None:
            return hosted
        if call.service == "ecs" and call.operation in TASK_DEFINITION_CALLS:
            # Task definitions do not touch the deployment simulation: no need to
            # catch the engine up (the costly part of a call) to answer them.
            return self.task_definition_registry(call, forward)
        if call.service == "ecs":
            handler = self._ecs.get(call.operation)
            if handler is not None:
                with self.sim.synced():
                    return handler(call, forward)
        if call.service == "codedeploy":
            with self.sim.synced():
                return self.codedeploy.handle(call, forward)
        if call.service == "application-autoscaling":
            # Application Auto Scaling of ECS services: AWS's checks, the count it moves.
            from ecsdeploy.sandbox import autoscaling

            return autoscaling.handle(self.sim, call, forward)
        if call.service == "elbv2" and call.operation == "DescribeTargetHealth":
            with self.sim.synced():
                return self.describe_target_health(call)
        if call.operation in (
            "CreateSubnet",
            "CreateSecurityGroup",
            "CreateTargetGroup",
            "CreateLoadBalancer",
            "CreateListener",
            "CreateRule",
        ):
            from ecsdeploy.sandbox import ids

            return ids.handle(call, forward)
        if call.service == "ecr" and call.operation == "GetAuthorizationToken":
            from ecsdeploy.sandbox import patches

            return patches.ecr_authorization_token(call, forward)
        if call.service == "ssm" and call.operation == "ListCommandInvocations":
            from ecsdeploy.sandbox import patches

            return patches.ssm_list_command_invocations(call, forward)
        return None

    def _hosts_handle(self, call: Call, forward: Forward) -> Reply | None:
        """SendCommand and ListAttributes, answered by the instances as hosts (ssm.py)."""
        if self.hosts is None:
            return None
        if call.service == "ssm" and call.operation == "SendCommand":
            return self.hosts.send_command(call, forward)
        if call.service == "ecs" and call.operation == "ListAttributes":
            return self.hosts.list_attributes(call, forward)
        return None

    # -- timestamps ------------------------------------------------------------

    def _ts(self, sim_seconds: float | None) -> float | None:
        if sim_seconds is None:
            return None
        return round(self.sim.wall(sim_seconds), 3)

    # -- services ----------------------------------------------------------------

    @staticmethod
    def _fill_network(call: Call) -> bytes | None:
        """ECS defaults awsvpc security groups; moto fails with a 500 without them."""
        vpc = (call.params.get("networkConfiguration") or {}).get("awsvpcConfiguration")
        if isinstance(vpc, dict) and "securityGroups" not in vpc:
            vpc["securityGroups"] = []
            return json.dumps(call.params).encode()
        return None

    def _capacity_providers(self, call: Call, *, create: bool) -> Reply | None:
        """ECS's rules for a strategy: every provider associated with the cluster; a
        service created with neither a launch type nor a strategy gets the cluster's
        default strategy (PutClusterCapacityProviders), when it has one."""
        p = call.params
        found = self.sim.backends.cluster_capacity_providers(
            call.account, call.region, _cluster_name(p)
        )
        if found is None:
            return None  # moto answers for a cluster that does not exist
        providers, default = found
        strategy = p.get("capacityProviderStrategy")
        if create and not p.get("launchType") and not strategy and default:
            p["capacityProviderStrategy"] = strategy = default
        for item in strategy or []:
            if str(item.get("capacityProvider")) not in providers:
                return json_error(
                    "InvalidParameterException",
                    "The specified capacity provider strategy cannot contain a capacity provider "
                    "that is not associated with the cluster. Associate the capacity provider "
                    "with the cluster or specify a valid capacity provider and try again.",
                )
        return None

    def _strategy_refusal(
        self,
        call: Call,
        *,
        current: DeploymentConfig,
        bindings: tuple[LoadBalancerBinding, ...],
        daemon: bool,
        controller: str,
    ) -> str | None:
        backends = self.sim.backends

        def rule(arn: str) -> Any:
            parts = arn.split(":")
            if len(parts) < 6:
                return None
            return backends.forwarding_rule(parts[4], parts[3], arn)

        return strategies.refusal(
            call.params,
            current=current,
            bindings=bindings,
            daemon=daemon,
            controller=controller,
            rule=rule,
            target_group_exists=lambda arn: backends.target_group_exists(
                call.account, call.region, arn
            ),
        )

    def create_service(self, call: Call, forward: Forward) -> Reply | None:
        if call.params.get("launchType") and call.params.get("capacityProviderStrategy"):
            return json_error(
                "InvalidParameterException",
                "Specifying both a launch type and capacity provider strategy is not supported. "
                "Remove one and try again.",
            )
        daemon = call.params.get("schedulingStrategy") == "DAEMON"
        if daemon:
            why = _daemon_refusal(call.params, create=True)
            if why is not None:
                return json_error("InvalidParameterException", why)
        else:
            refused = self._capacity_providers(call, create=True)
            if refused is not None:
                return refused
        controller = (call.params.get("deploymentController") or {}).get("type", "ECS")
        why = self._strategy_refusal(
            call,
            current=DeploymentConfig(),
            bindings=_bindings(call.params.get("loadBalancers")),
            daemon=daemon,
            controller=str(controller),
        )
        if why is not None:
            return json_error("InvalidParameterException", why)
        self._fill_network(call)
        # Sent as amended: ECS's defaults (security groups, the cluster's strategy).
        reply = forward(json.dumps(call.params).encode())
        if reply.status != 200:
            return reply
        data = reply.json()
        answered = data.get("service") or {}
        controller = (call.params.get("deploymentController") or {}).get("type", "ECS")
        if controller != "ECS":
            # Not deployed by the simulation; described with what it was created with.
            p = call.params
            kept = _settings(p, create=True, launch_type=_launch_type(p, answered))
            kept["deploymentConfiguration"] = {
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            } | (p.get("deploymentConfiguration") or {})
            grace = p.get("healthCheckGracePeriodSeconds")
            kept["healthCheckGracePeriodSeconds"] = int(grace or 0)
            name = str(answered.get("serviceName") or p.get("serviceName"))
            self.sim.unsimulated[(call.region, _cluster_name(p), name)] = kept
            data["service"] = answered | copy.deepcopy(kept)
            if controller == "CODE_DEPLOY":
                data["service"] = self.codedeploy.service_created(call, data["service"])
            return json_reply(data)
        svc = self.sim.create_service(
            region=call.region,
            account=call.account,
            cluster_name=str(answered.get("clusterArn", "")).split("/")[-1]
            or _cluster_name(call.params),
            cluster_arn=str(answered.get("clusterArn", "")),
            name=str(answered.get("serviceName") or call.params.get("serviceName")),
            arn=str(answered.get("serviceArn", "")),
            task_definition=str(answered.get("taskDefinition") or call.params["taskDefinition"]),
            desired_count=int(call.params.get("desiredCount") or 0),
            launch_type=_launch_type(call.params, answered),
            load_balancers=_bindings(call.params.get("loadBalancers")),
            deployment_configuration=call.params.get("deploymentConfiguration"),
            health_check_grace_period=float(call.params.get("healthCheckGracePeriodSeconds") or 0),
            network_configuration=call.params.get("networkConfiguration"),
            platform_version=call.params.get("platformVersion"),
            settings=_settings(
                call.params, create=True, launch_type=_launch_type(call.params, answered)
            ),
            daemon=daemon,
        )
        data["service"] = self._overlay(answered, svc)
        return json_reply(data)

    def update_service(self, call: Call, forward: Forward) -> Reply | None:
        code_deploy = self.codedeploy.update_service(call, forward)
        if code_deploy is not None:
            return code_deploy
        p = call.params
        known = self.sim.find_service(call.region, _cluster_name(p), str(p.get("service", "")))
        if known is not None and known.daemon:
            why = _daemon_refusal(p, create=False)
            if why is not None:
                return json_error("InvalidParameterException", why)
        strategy = p.get("capacityProviderStrategy")
        if (
            known is not None
            and strategy is not None
            and strategy != known.settings.get("capacityProviderStrategy")
            and not p.get("forceNewDeployment")
        ):
            return json_error(
                "InvalidParameterException",
                "When switching from launch type to capacity provider strategy on an existing "
                "service, or making a change to a capacity provider strategy on a service that "
                "is already using one, you must force a new deployment.",
            )
        refused = self._capacity_providers(call, create=False)
        if refused is not None:
            return refused
        if known is not None:
            why = self._strategy_refusal(
                call,
                current=known.config,
                bindings=_bindings(p["loadBalancers"])
                if "loadBalancers" in p
                else known.load_balancers,
                daemon=known.daemon,
                controller="ECS",
            )
            if why is not None:
                return json_error("InvalidParameterException", why)
        reply = forward(self._fill_network(call))
        if reply.status != 200:
            return reply
        data = reply.json()
        answered = data.get("service") or {}
        svc = self.sim.find_service(
            call.region, _cluster_name(call.params), str(call.params.get("service", ""))
        )
        if svc is None:
            return reply
        lbs = _bindings(p["loadBalancers"]) if "loadBalancers" in p else None
        grace = p.get("healthCheckGracePeriodSeconds")
        self.sim.update_service(
            svc,
            account=call.account,
            task_definition=p.get("taskDefinition"),
            desired_count=None if p.get("desiredCount") is None else int(p["desiredCount"]),
            deployment_configuration=p.get("deploymentConfiguration"),
            force_new_deployment=bool(p.get("forceNewDeployment")),
            load_balancers=lbs,
            network_configuration=p.get("networkConfiguration"),
            health_check_grace_period=None if grace is None else float(grace),
            settings=_settings(p, create=False, launch_type=svc.launch_type),
        )
        data["service"] = self._overlay(answered, svc)
        return json_reply(data)

    def delete_service(self, call: Call, forward: Forward) -> Reply | None:
        reply = forward(None)
        if reply.status != 200:
            return reply
        data = reply.json()
        svc = self.sim.find_service(
            call.region, _cluster_name(call.params), str(call.params.get("service", ""))
        )
        if svc is None:
            return reply
        self.sim.delete_service(svc)
        data["service"] = self._overlay(data.get("service") or {}, svc)
        return json_reply(data)

    def describe_services(self, call: Call, forward: Forward) -> Reply | None:
        reply = forward(None)
        if reply.status != 200:
            return reply
        data = reply.json()
        cluster = _cluster_name(call.params)
        services = []
        for answered in data.get("services") or []:
            name = str(answered.get("serviceName"))
            svc = self.sim.find_service(call.region, cluster, name)
            if svc is None:
                kept = self.sim.unsimulated.get((call.region, cluster, name), {})
                described = answered | copy.deepcopy(kept)
                services.append(self.codedeploy.describe(call.region, cluster, name, described))
            else:
                services.append(self._overlay(answered, svc))
        data["services"] = services
        return json_reply(data)

    def _overlay(self, answered: dict[str, Any], svc: Service) -> dict[str, Any]:
        out = dict(answered)
        deployments = [self._deployment(svc, i) for i in range(len(svc.deployments))]
        out["deployments"] = deployments
        out["runningCount"] = sum(d["runningCount"] for d in deployments)
        out["pendingCount"] = sum(d["pendingCount"] for d in deployments)
        out["desiredCount"] = svc.desired_count
        out["schedulingStrategy"] = "DAEMON" if svc.daemon else "REPLICA"
        if svc.deployments:
            out["taskDefinition"] = svc.primary.spec.arn
        out["deploymentConfiguration"] = svc.config.to_api()
        out["launchType"] = svc.launch_type
        out |= copy.deepcopy(
            {k: v for k, v in svc.settings.items() if k not in DEPLOYMENT_SETTINGS}
        )
        if svc.settings.get("capacityProviderStrategy"):
            # A service on a capacity provider strategy has no launch type.
            out.pop("launchType", None)
        if svc.platform_version is not None:
            out["platformVersion"] = svc.platform_version
        out["healthCheckGracePeriodSeconds"] = int(svc.health_check_grace_period)
        out["loadBalancers"] = [
            {
                "targetGroupArn": lb.target_group_arn,
                "containerName": lb.container_name,
                "containerPort": lb.container_port,
            }
            | ({} if lb.advanced is None else {"advancedConfiguration": lb.advanced.to_api()})
            for lb in svc.load_balancers
        ]
        if svc.deleted:
            out["status"] = "DRAINING"
        out["events"] = [
            {"id": e.id, "createdAt": self._ts(e.created_at), "message": e.message}
            for e in reversed(svc.events)
        ]
        return out

    def _deployment(self, svc: Service, index: int) -> dict[str, Any]:
        d = svc.deployments[index]
        tasks = [t for t in svc.tasks if t.deployment_id == d.id]
        running = sum(1 for t in tasks if t.last_status == "RUNNING" and t.live)
        pending = sum(1 for t in tasks if t.last_status in ("PROVISIONING", "PENDING") and t.live)
        desired = svc.desired_count if index == 0 else sum(1 for t in tasks if t.live)
        out: dict[str, Any] = {
            "id": d.id,
            "status": d.status,
            "taskDefinition": d.spec.arn,
            "desiredCount": desired,
            "pendingCount": pending,
            "runningCount": running,
            "failedTasks": d.failed_tasks,
            "createdAt": self._ts(d.created_at),
            "updatedAt": self._ts(d.updated_at),
            "launchType": d.launch_type,
            "rolloutState": d.rollout_state,
            "rolloutStateReason": d.rollout_state_reason,
        }
        if d.launch_type == "FARGATE":
            out["platformVersion"] = d.platform_version or "1.4.0"
            out["platformFamily"] = "Linux"
        if d.network_configuration:
            out["networkConfiguration"] = d.network_configuration
        out |= _deployment_settings(d.settings)
        return out

    # -- tasks -------------------------------------------------------------------

    def list_tasks(self, call: Call, forward: Forward) -> Reply | None:
        p = call.params
        cluster = _cluster_name(p)
        service_name = p.get("serviceName")
        if service_name:
            svc = self.sim.find_service(call.region, cluster, str(service_name))
            if svc is None:
                return json_error("ServiceNotFoundException", "Service not found.")
        desired = str(p.get("desiredStatus") or "RUNNING")
        started_by = p.get("startedBy")
        family = p.get("family")
        instance = p.get("containerInstance")
        launch_type = p.get("launchType")
        arns: list[str] = []
        for task in self.sim.tasks.values():
            if task.cluster_arn.split("/")[-1] != cluster or f":{call.region}:" not in task.arn:
                continue
            if service_name and task.service_name != str(service_name).split("/")[-1]:
                continue
            if task.desired_status != desired:
                continue
            if started_by and task.deployment_id != started_by:
                continue
            if family and task.spec.family != family:
                continue
            if (
                instance
                and (task.container_instance_arn or "").split("/")[-1]
                != str(instance).split("/")[-1]
            ):
                continue
            if launch_type and task.launch_type != launch_type:
                continue
            arns.append(task.arn)
        if not service_name and not (started_by and str(started_by).startswith("ecs-svc/")):
            # Tasks moto runs itself (RunTask/StartTask) are listed too.
            moto = forward(None)
            if moto.status == 200:
                arns += [a for a in moto.json().get("taskArns", []) if a not in self.sim.tasks]
            elif not arns:
                return moto
        start = int(p.get("nextToken") or 0)
        size = int(p.get("maxResults") or 100)
        page = arns[start : start + size]
        out: dict[str, Any] = {"taskArns": page}
        if start + size < len(arns):
            out["nextToken"] = str(start + size)
        return json_reply(out)

    def describe_tasks(self, call: Call, forward: Forward) -> Reply | None:
        refs = [str(r) for r in call.params.get("tasks") or []]
        known: list[dict[str, Any]] = []
        unknown: list[str] = []
        for ref in refs:
            task = self.sim.find_task(call.region, ref)
            if task is None:
                unknown.append(ref)
            else:
                known.append(self._task(task))
        failures: list[dict[str, Any]] = []
        if unknown:
            body = dict(call.params)
            body["tasks"] = unknown
            reply = forward(json.dumps(body).encode())
            if reply.status != 200:
                if not known:
                    return reply
                failures += [{"arn": u, "reason": "MISSING"} for u in unknown]
            else:
                data = reply.json()
                known += data.get("tasks") or []
                failures += data.get("failures") or []
        return json_reply({"tasks": known, "failures": failures})

    def stop_task(self, call: Call, forward: Forward) -> Reply | None:
        task = self.sim.find_task(call.region, str(call.params.get("task", "")))
        if task is None:
            return None
        self.sim.stop_task(task, call.params.get("reason"))
        return json_reply({"task": self._task(task)})

    def _task(self, task: Task) -> dict[str, Any]:
        awsvpc = task.spec.network_mode == "awsvpc"
        containers = []
        for c in task.spec.containers:
            container: dict[str, Any] = {
                "containerArn": f"{task.arn.replace(':task/', ':container/')}/{c.name}",
                "taskArn": task.arn,
                "name": c.name,
                "image": c.image,
                "lastStatus": task.container_status,
                "healthStatus": task.health_status if c.has_health_check else "UNKNOWN",
            }
            if c.name in task.exit_codes:
                container["exitCode"] = task.exit_codes[c.name]
            if awsvpc:
                container["networkInterfaces"] = [
                    {"attachmentId": task.id, "privateIpv4Address": task.private_ip}
                ]
                container["networkBindings"] = []
            else:
                container["networkBindings"] = [
                    {
                        "bindIP": "0.0.0.0",  # noqa: S104 (reported, never bound)
                        "containerPort": p.container_port,
                        "hostPort": task.host_ports.get((c.name, p.container_port), 0),
                        "protocol": p.protocol,
                    }
                    for p in c.ports
                ]
            containers.append(container)
        out: dict[str, Any] = {
            "taskArn": task.arn,
            "clusterArn": task.cluster_arn,
            "taskDefinitionArn": task.spec.arn,
            "lastStatus": task.last_status,
            "desiredStatus": task.desired_status,
            "healthStatus": task.health_status,
            "launchType": task.launch_type,
            "group": f"service:{task.service_name}",
            "startedBy": task.deployment_id,
            "availabilityZone": task.availability_zone,
            "createdAt": self._ts(task.created_at),
            "version": task.version,
            "containers": containers,
            "attributes": [],
            "tags": [],
        }
        if task.spec.cpu_text or task.spec.cpu:
            out["cpu"] = task.spec.cpu_text or str(task.spec.cpu)
        if task.spec.memory_text or task.spec.memory:
            out["memory"] = task.spec.memory_text or str(task.spec.memory)
        if task.container_instance_arn:
            out["containerInstanceArn"] = task.container_instance_arn
        if task.launch_type == "FARGATE":
            out["platformVersion"] = "1.4.0"
            out["platformFamily"] = "Linux"
        if awsvpc:
            out["attachments"] = [
                {
                    "id": task.id,
                    "type": "ElasticNetworkInterface",
                    "status": "DELETED" if task.last_status == "STOPPED" else "ATTACHED",
                    "details": [{"name": "privateIPv4Address", "value": task.private_ip}],
                }
            ]
        for key, value in (
            ("pullStartedAt", task.pull_started_at),
            ("pullStoppedAt", task.pull_stopped_at),
            ("startedAt", task.started_at),
            ("stoppingAt", task.stopping_at),
            ("stoppedAt", task.stopped_at),
            ("executionStoppedAt", task.stopped_at),
        ):
            if value is not None:
                out[key] = self._ts(value)
        if task.stopped_reason:
            out["stoppedReason"] = task.stopped_reason
        if task.stop_code:
            out["stopCode"] = task.stop_code
        return out

    # -- service deployments ---------------------------------------------------------

    def _service_or_error(self, call: Call) -> Service | Reply:
        ref = str(call.params.get("service", ""))
        cluster = _cluster_name(call.params)
        if ref.startswith("arn:") and ref.count("/") >= 2:
            cluster = ref.split("/")[-2]
        svc = self.sim.find_service(call.region, cluster, ref)
        if svc is None:
            return json_error("ServiceNotFoundException", "Service not found.")
        return svc

    def list_service_deployments(self, call: Call, forward: Forward) -> Reply | None:
        found = self._service_or_error(call)
        if isinstance(found, Reply):
            return found
        svc = found
        statuses = set(call.params.get("status") or [])
        created = call.params.get("createdAt") or {}
        before, after = created.get("before"), created.get("after")
        briefs = []
        for r in svc.records:
            created_at = self._ts(r.created_at) or 0.0
            if statuses and r.status not in statuses:
                continue
            if before is not None and created_at > float(before):
                continue
            if after is not None and created_at < float(after):
                continue
            brief: dict[str, Any] = {
                "serviceDeploymentArn": r.arn,
                "serviceArn": svc.arn,
                "clusterArn": svc.cluster_arn,
                "createdAt": created_at,
                "startedAt": created_at,
                "targetServiceRevisionArn": r.target_revision_arn,
                "status": r.status,
            }
            if r.finished_at is not None:
                brief["finishedAt"] = self._ts(r.finished_at)
            if r.status_reason:
                brief["statusReason"] = r.status_reason
            briefs.append(brief)
        start = int(call.params.get("nextToken") or 0)
        size = int(call.params.get("maxResults") or 20)
        out: dict[str, Any] = {"serviceDeployments": briefs[start : start + size]}
        if start + size < len(briefs):
            out["nextToken"] = str(start + size)
        return json_reply(out)

    def describe_service_deployments(self, call: Call, forward: Forward) -> Reply | None:
        wanted = [str(a) for a in call.params.get("serviceDeploymentArns") or []]
        found: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        for arn in wanted:
            hit = None
            for svc in self.sim.services.values():
                for r in svc.records:
                    if r.arn == arn:
                        hit = (svc, r)
            if hit is None:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(self._service_deployment(*hit))
        return json_reply({"serviceDeployments": found, "failures": failures})

    def describe_service_revisions(self, call: Call, forward: Forward) -> Reply | None:
        """A service revision: the task definition (and settings) a deployment rolled out."""
        wanted = [str(a) for a in call.params.get("serviceRevisionArns") or []]
        if len(wanted) > 20:
            return json_error(
                "InvalidParameterException", "serviceRevisionArns can have at most 20 items."
            )
        found: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        for arn in wanted:
            hit = next(
                (
                    (svc, svc.revisions[arn])
                    for svc in self.sim.services.values()
                    if arn in svc.revisions
                ),
                None,
            )
            if hit is None:
                failures.append({"arn": arn, "reason": "MISSING"})
                continue
            svc, (task_definition, created_at) = hit
            found.append(
                {
                    "serviceRevisionArn": arn,
                    "serviceArn": svc.arn,
                    "clusterArn": svc.cluster_arn,
                    "taskDefinition": task_definition,
                    "launchType": svc.launch_type,
                    "createdAt": self._ts(created_at),
                }
            )
        return json_reply({"serviceRevisions": found, "failures": failures})

    def _revision(self, svc: Service, revision_arn: str, deployment_id: str) -> dict[str, Any]:
        dep = self.sim.deployment(svc, deployment_id)
        tasks = [t for t in svc.tasks if t.deployment_id == deployment_id]
        return {
            "arn": revision_arn,
            "requestedTaskCount": 0
            if dep is None
            else (svc.desired_count if dep is svc.primary else sum(1 for t in tasks if t.live)),
            "runningTaskCount": sum(1 for t in tasks if t.live and t.last_status == "RUNNING"),
            "pendingTaskCount": sum(
                1 for t in tasks if t.live and t.last_status in ("PROVISIONING", "PENDING")
            ),
        }

    def _service_deployment(self, svc: Service, r: ServiceDeploymentRecord) -> dict[str, Any]:
        out: dict[str, Any] = {
            "serviceDeploymentArn": r.arn,
            "serviceArn": svc.arn,
            "clusterArn": svc.cluster_arn,
            "createdAt": self._ts(r.created_at),
            "startedAt": self._ts(r.created_at),
            "updatedAt": self._ts(r.updated_at),
            "sourceServiceRevisions": [
                self._revision(svc, arn, dep_id) for arn, dep_id in r.source_revisions
            ],
            "targetServiceRevision": self._revision(svc, r.target_revision_arn, r.deployment_id),
            "status": r.status,
            "deploymentConfiguration": r.config.to_api(),
            "deploymentCircuitBreaker": {
                "status": r.circuit_breaker_status,
                "failureCount": r.failure_count,
                "threshold": r.threshold,
            },
            "alarms": self._deployment_alarms(r),
        }
        if r.shift is not None:
            out["lifecycleStage"] = r.shift.stage
            if r.shift.hooks:
                out["lifecycleHookDetails"] = [self._hook_detail(run) for run in r.shift.hooks]
        if r.status_reason:
            out["statusReason"] = r.status_reason
        if r.finished_at is not None:
            out["finishedAt"] = self._ts(r.finished_at)
        if r.stopped_at is not None:
            out["stoppedAt"] = self._ts(r.stopped_at)
        if r.rollback_started_at is not None:
            out["rollback"] = {
                "reason": r.status_reason or "",
                "startedAt": self._ts(r.rollback_started_at),
                "serviceRevisionArn": r.rollback_revision_arn,
            }
        return out

    @staticmethod
    def _deployment_alarms(r: ServiceDeploymentRecord) -> dict[str, Any]:
        names = r.config.alarms_watched
        if not names:
            return {"status": "DISABLED"}
        out: dict[str, Any] = {"status": r.alarms_status, "alarmNames": list(names)}
        if r.triggered_alarms:
            out["triggeredAlarmNames"] = list(r.triggered_alarms)
        return out

    def _hook_detail(self, run: HookRun) -> dict[str, Any]:
        out: dict[str, Any] = {"hookId": run.hook_id, "targetType": run.spec.target_type}
        if run.spec.target_type != "PAUSE" and run.spec.target_arn:
            out["targetArn"] = run.spec.target_arn
        out["status"] = run.status
        # A moment still to come has no wall time yet: it is reported as far ahead of now
        # as it is on the simulated clock (what ECS would answer), however fast it runs.
        now = self.sim.now
        ahead = max(0.0, run.expires_at - now)
        out["expiresAt"] = round(self.sim.wall(min(run.expires_at, now)) + ahead, 3)
        out["timeoutAction"] = run.spec.timeout_action
        return out

    def _find_record(self, arn: str) -> tuple[Service, ServiceDeploymentRecord] | None:
        for svc in self.sim.services.values():
            for r in svc.records:
                if r.arn == arn:
                    return svc, r
        return None

    def continue_service_deployment(self, call: Call, forward: Forward) -> Reply | None:
        """ContinueServiceDeployment: CONTINUE or ROLLBACK a deployment waiting at a pause
        hook. The refusals' wordings are ECS's (the ECS developer guide, troubleshooting
        blue/green deployments); which exception ECS raises with each is not documented."""
        arn = str(call.params.get("serviceDeploymentArn") or "")
        hook_id = str(call.params.get("hookId") or "")
        action = str(call.params.get("action") or "CONTINUE")
        if action not in ("CONTINUE", "ROLLBACK"):
            return json_error(
                "InvalidParameterException",
                f"Invalid action {action}. Valid values are: ROLLBACK, CONTINUE",  # own
            )
        if not re.fullmatch(r"ecs-[a-z]+-\S+", hook_id):
            return json_error(
                "InvalidParameterException",
                "Invalid hookId: hookId must follow the format: ecs-{hookType}-{id}",
            )
        hit = self._find_record(arn)
        if hit is None:
            return json_error(
                "ServiceDeploymentNotFoundException", "The service deployment does not exist."
            )
        svc, record = hit
        if record.status in TERMINAL_DEPLOYMENT_STATUSES:
            return json_error(
                "InvalidParameterException",
                "Continuing a service deployment is not allowed for service deployment in "
                "terminal states.",
            )
        shift = record.shift
        run = None
        if shift is not None and record.status == "IN_PROGRESS":
            run = next(
                (
                    r
                    for r in shift.stage_runs
                    if r.hook_id == hook_id and r.status == "AWAITING_ACTION"
                ),
                None,
            )
        if run is None:
            return json_error(
                "InvalidParameterException",
                "Provided hookId is either completed, unavailable, or not associated with the "
                "given Resource ARN",
            )
        self.sim.continue_deployment(svc, record, run, action)
        return json_reply({"serviceDeploymentArn": arn})

    def stop_service_deployment(self, call: Call, forward: Forward) -> Reply | None:
        """StopServiceDeployment: ROLLBACK (the only stop type the API reference calls
        valid; a request without one rolls back too) to the revision before it."""
        arn = str(call.params.get("serviceDeploymentArn") or "")
        stop_type = str(call.params.get("stopType") or "ROLLBACK")
        if stop_type != "ROLLBACK":
            return json_error(
                "InvalidParameterException",
                f"Invalid stopType {stop_type}. The valid values are ROLLBACK.",  # own wording
            )
        hit = self._find_record(arn)
        if hit is None:
            return json_error(
                "ServiceDeploymentNotFoundException", "The service deployment does not exist."
            )
        svc, record = hit
        if record.status in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED"):
            return json_reply({"serviceDeploymentArn": arn})  # already on its way
        if record.status in TERMINAL_DEPLOYMENT_STATUSES or not self.sim.stop_deployment(
            svc, record
        ):
            return json_error(
                "ConflictException",
                # own wording
                f"The service deployment is {record.status} and cannot be rolled back.",
                resourceIds=[arn],
            )
        return json_reply({"serviceDeploymentArn": arn})

    # -- clusters and container instances ----------------------------------------------

    def describe_clusters(self, call: Call, forward: Forward) -> Reply | None:
        reply = forward(None)
        if reply.status != 200:
            return reply
        data = reply.json()
        for cluster in data.get("clusters") or []:
            arn = str(cluster.get("clusterArn"))
            live = [t for t in self.sim.tasks.values() if t.cluster_arn == arn and t.live]
            cluster["runningTasksCount"] = sum(1 for t in live if t.last_status == "RUNNING")
            cluster["pendingTasksCount"] = sum(
                1 for t in live if t.last_status in ("PROVISIONING", "PENDING")
            )
            cluster["activeServicesCount"] = sum(
                1
                for svc in self.sim.services.values()
                if svc.cluster_arn == arn and not svc.deleted
            )
        return json_reply(data)

    def task_definition_registry(self, call: Call, forward: Forward) -> Reply | None:
        """Task definitions as ECS keeps them (taskdefs.py): RegisterTaskDefinition
        refuses what ECS refuses, and every answer shows the revision as ECS stored
        it, defaults filled in, with what moto lacks: when and by whom it was
        registered (`registeredAt`, `registeredBy`), and when it was deregistered."""
        from ecsdeploy.sandbox import taskdefs

        registering = call.operation == "RegisterTaskDefinition"
        body: bytes | None = None
        if registering:
            refused = taskdefs.refusal(call.params)
            if refused is not None:
                return json_error(refused.code, refused.message)
            accepted = taskdefs.moto_input(call.params)
            body = None if accepted is None else json.dumps(accepted).encode()
        reply = forward(body)
        if reply.status != 200:
            return reply
        data = reply.json()
        td = data.get("taskDefinition")
        if not isinstance(td, dict) or not td.get("taskDefinitionArn"):
            return reply
        arn = str(td["taskDefinitionArn"])
        with self.sim.lock:
            now = self._ts(self.sim.now)
            record = self.sim.task_definitions.setdefault(
                arn, {"registeredAt": now, "registeredBy": f"arn:aws:iam::{call.account}:root"}
            )
            if registering:
                shape = taskdefs.described(
                    call.params,
                    arn=arn,
                    revision=int(td.get("revision") or 0),
                    status=str(td.get("status") or "ACTIVE"),
                )
                record[_STORED] = shape
                self.sim.backends.store_task_definition(call.account, call.region, arn, shape)
            if call.operation == "DeregisterTaskDefinition":
                record.setdefault("deregisteredAt", now)
            stored = record.get(_STORED)
            if isinstance(stored, dict):
                td = {**json.loads(json.dumps(stored)), "status": td.get("status", "ACTIVE")}
            td.update({k: v for k, v in record.items() if k != _STORED})
            data["taskDefinition"] = td
        return json_reply(data)

    def tag_resource(self, call: Call, forward: Forward) -> Reply | None:
        """ECS's limit moto lacks: 50 user tags per resource (overwriting a key is free)."""
        arn = str(call.params.get("resourceArn") or "")
        try:
            current = self.sim.backends.ecs_tag_keys(call.account, call.region, arn)
        except Exception:  # moto answers for what it does not know
            return None
        keys = current | {t.get("key") for t in call.params.get("tags") or []}
        if len([k for k in keys if not str(k).startswith("aws:")]) > TAG_LIMIT:
            return json_error(
                "InvalidParameterException",
                f"The resource {arn} would have more than {TAG_LIMIT} tags.",
            )
        return None

    def container_instances_changed(self, call: Call, forward: Forward) -> Reply | None:
        reply = forward(None)
        if reply.status == 200:
            self.sim.poke()
        return reply

    def describe_container_instances(self, call: Call, forward: Forward) -> Reply | None:
        reply = forward(None)
        if reply.status != 200:
            return reply
        data = reply.json()
        for ci in data.get("containerInstances") or []:
            running, pending, cpu, mem, ports = self.sim.instance_usage(
                str(ci.get("containerInstanceArn"))
            )
            ci["runningTasksCount"] = running
            ci["pendingTasksCount"] = pending
            remaining = []
            for res in ci.get("registeredResources") or []:
                res = dict(res)
                if res.get("name") == "CPU":
                    res["integerValue"] = int(res.get("integerValue", 0)) - cpu
                elif res.get("name") == "MEMORY":
                    res["integerValue"] = int(res.get("integerValue", 0)) - mem
                elif res.get("name") == "PORTS":
                    held = set(res.get("stringSetValue") or []) | {str(p) for p in ports}
                    res["stringSetValue"] = sorted(held, key=int)
                remaining.append(res)
            ci["remainingResources"] = remaining
            if self.hosts is not None:
                self.hosts.overlay_agent(ci)
        return json_reply(data)

    # -- ELBv2 -----------------------------------------------------------------------

    def describe_target_health(self, call: Call) -> Reply | None:
        tg_arn = str(call.params.get("TargetGroupArn", ""))
        if not self.sim.manages_target_group(tg_arn):
            return None
        targets = self.sim.targets_of(tg_arn)
        wanted: list[tuple[str, int | None]] = []
        n = 1
        while f"Targets.member.{n}.Id" in call.params:
            port = call.params.get(f"Targets.member.{n}.Port")
            wanted.append((str(call.params[f"Targets.member.{n}.Id"]), int(port) if port else None))
            n += 1
        rows: list[str] = []
        if wanted:
            for target_id, port in wanted:
                hits = [
                    t
                    for t in targets
                    if t.target_id == target_id and (port is None or t.port == port)
                ]
                if hits:
                    rows += [self._target_xml(t) for t in hits]
                else:
                    rows.append(self._unused_xml(target_id, port))
        else:
            rows = [self._target_xml(t) for t in targets]
        body = (
            f'<DescribeTargetHealthResponse xmlns="{ELBV2_NS}">'
            "<DescribeTargetHealthResult><TargetHealthDescriptions>"
            + "".join(rows)
            + "</TargetHealthDescriptions></DescribeTargetHealthResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</DescribeTargetHealthResponse>"
        )
        return Reply(200, (("Content-Type", "text/xml"),), body.encode())

    @staticmethod
    def _target_xml(t: Target) -> str:
        health = f"<State>{t.state}</State>"
        if t.reason:
            health += f"<Reason>{escape(t.reason)}</Reason>"
        if t.description:
            health += f"<Description>{escape(t.description)}</Description>"
        port = str(t.port) if t.settings.port == "traffic-port" else t.settings.port
        return (
            "<member>"
            f"<Target><Id>{escape(t.target_id)}</Id><Port>{t.port}</Port>"
            f"<AvailabilityZone>{escape(t.availability_zone)}</AvailabilityZone></Target>"
            f"<HealthCheckPort>{escape(port)}</HealthCheckPort>"
            f"<TargetHealth>{health}</TargetHealth>"
            "</member>"
        )

    @staticmethod
    def _unused_xml(target_id: str, port: int | None) -> str:
        port_xml = f"<Port>{port}</Port>" if port is not None else ""
        return (
            "<member>"
            f"<Target><Id>{escape(target_id)}</Id>{port_xml}</Target>"
            "<TargetHealth><State>unused</State><Reason>Target.NotRegistered</Reason>"
            "<Description>Target is not registered to the target group</Description>"
            "</TargetHealth></member>"
        )
