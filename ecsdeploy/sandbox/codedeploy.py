"""CodeDeploy for ECS in the sandbox: applications, deployment groups, and the blue/green
deployments of services whose deployment controller is CODE_DEPLOY, on the simulated clock.

What AWS documents (CodeDeploy User Guide, "Deployments on an Amazon ECS compute
platform"; CodeDeploy and ECS API references), and what this follows:

- A CODE_DEPLOY service runs task sets, not deployments: DescribeServices shows
  `taskSets` (PRIMARY serves production) and an empty `deployments`; CreateService
  makes its first, PRIMARY, task set in the service's target group.
- UpdateService on such a service takes the desired count, deployment configuration,
  health check grace period, placement, ECS managed tags and tag propagation; a task
  definition, load balancers, network configuration or platform version need a
  CodeDeploy deployment ("Unable to update task definition on services with a
  CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.").
- CreateDeployment with an AppSpec (revisionType AppSpecContent) walks the ECS
  lifecycle: Install (a replacement task set of the AppSpec's task definition, in the
  deployment group's other target group), AllowTestTraffic, then, when the group's
  deploymentReadyOption is STOP_DEPLOYMENT, the status `Ready` until ContinueDeployment
  (READY_WAIT) or the wait time ends (then `Stopped`); AllowTraffic moves production
  to the replacement (at once, or in the linear/canary steps of the deployment
  configuration), which becomes PRIMARY; the original task set runs on for the group's
  termination wait (ContinueDeployment TERMINATION_WAIT ends it) and is removed;
  `Succeeded`. The target group of the original task set serves the next deployment's
  replacement.
- A failure, or StopDeployment, ends the deployment `Failed`/`Stopped` with
  errorInformation; with automatic rollback (the deployment's autoRollbackConfiguration,
  else the group's; StopDeployment's autoRollbackEnabled) CodeDeploy reroutes traffic
  to the original task set in a rollback deployment of its own (creator
  codeDeployRollback), named in rollbackInfo.

Approximations (not documented, chosen here): the replacement task set is judged on
the sandbox's container behaviour (SANDBOX_CRASH, SANDBOX_UNHEALTHY, `break_service`):
one that never becomes healthy fails the deployment after INSTALL_TIMEOUT with
errorInformation TIMEOUT; error and status messages are the sandbox's own words, except
ECS's UpdateService refusals for the task definition and load balancers, which are
ECS's; Lambda hooks in an AppSpec are not invoked (they succeed); listener rules are not
rewritten (the task sets and GetDeploymentTarget show where production traffic goes);
there are no custom deployment configurations and no alarms.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecsdeploy.sandbox.api import Call, Forward, Reply, json_error, json_reply
from ecsdeploy.sandbox.model import PROVISIONING_SECONDS
from ecsdeploy.sandbox.simulation import Simulation

EXTENSION = "codedeploy"  # key of this module's state in Simulation.extensions

START_SECONDS = 2.0  # Created -> InProgress
# How long the sandbox's CodeDeploy waits for a replacement task set to become healthy.
INSTALL_TIMEOUT = 3600.0
ROLLBACK_SECONDS = 10.0  # a rollback deployment: traffic back, replacement removed
ACTIVE = ("Created", "Queued", "InProgress", "Baking", "Ready")
DEFAULT_CONFIG = "CodeDeployDefault.ECSAllAtOnce"
LIFECYCLE = (
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
)
_LINEAR = re.compile(r"^CodeDeployDefault\.ECSLinear(\d+)PercentEvery(\d+)Minutes?$")
_CANARY = re.compile(r"^CodeDeployDefault\.ECSCanary(\d+)[Pp]ercent(\d+)Minutes?$")

# ECS's words (the first two as ECS gives them; the others alike).
_REFUSED_UPDATES = {
    "taskDefinition": "task definition",
    "loadBalancers": "load balancers",
    "networkConfiguration": "network parameters",
    "platformVersion": "platform version",
}
# What UpdateService changes on a CODE_DEPLOY service, kept for DescribeServices.
_UPDATABLE = (
    "deploymentConfiguration",
    "healthCheckGracePeriodSeconds",
    "placementConstraints",
    "placementStrategy",
    "enableECSManagedTags",
    "propagateTags",
    "enableExecuteCommand",
)


class CodeDeployError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- state -----------------------------------------------------------------------------


@dataclass
class TaskSet:
    id: str
    arn: str
    task_definition: str
    target_group: str
    container_name: str
    container_port: int
    status: str  # PRIMARY, ACTIVE
    created_at: float
    running_at: float
    healthy_at: float | None  # None: never (its containers crash or fail health checks)
    launch_type: str
    platform_version: str | None = None
    network_configuration: dict[str, Any] | None = None
    external_id: str | None = None  # the CodeDeploy deployment that made it
    updated_at: float = 0.0


@dataclass
class CodeDeployService:
    """A CODE_DEPLOY service as the sandbox runs it: its task sets."""

    region: str
    account: str
    cluster: str
    name: str
    arn: str
    cluster_arn: str
    task_sets: list[TaskSet] = field(default_factory=list)

    @property
    def primary(self) -> TaskSet | None:
        return next((t for t in self.task_sets if t.status == "PRIMARY"), None)


@dataclass
class Application:
    name: str
    id: str
    compute_platform: str
    created_at: float


@dataclass
class Group:
    application: str
    name: str
    id: str
    raw: dict[str, Any]  # CreateDeploymentGroup's input, as GetDeploymentGroup echoes it
    config_name: str

    @property
    def ecs_services(self) -> list[tuple[str, str]]:
        return [
            (str(s.get("clusterName")), str(s.get("serviceName")))
            for s in self.raw.get("ecsServices") or []
        ]

    @property
    def pair(self) -> dict[str, Any]:
        pairs = (self.raw.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or [{}]
        return dict(pairs[0])

    @property
    def target_groups(self) -> list[str]:
        return [str(t.get("name")) for t in self.pair.get("targetGroups") or []]

    @property
    def blue_green(self) -> dict[str, Any]:
        return dict(self.raw.get("blueGreenDeploymentConfiguration") or {})

    @property
    def ready_wait(self) -> float | None:
        """Seconds a deployment waits in Ready for ContinueDeployment; None: it does not."""
        ready = self.blue_green.get("deploymentReadyOption") or {}
        if ready.get("actionOnTimeout") != "STOP_DEPLOYMENT":
            return None
        return float(ready.get("waitTimeInMinutes") or 0) * 60

    @property
    def termination_wait(self) -> float:
        term = self.blue_green.get("terminateBlueInstancesOnDeploymentSuccess") or {}
        return float(term.get("terminationWaitTimeInMinutes") or 0) * 60

    @property
    def auto_rollback(self) -> dict[str, Any]:
        return dict(self.raw.get("autoRollbackConfiguration") or {})


@dataclass
class Deployment:
    id: str
    region: str
    account: str
    application: str
    group: str
    service: tuple[str, str, str]  # (region, cluster, name)
    config_name: str
    appspec: dict[str, Any]
    sha256: str
    auto_rollback: dict[str, Any]
    created_at: float
    creator: str = "user"
    description: str | None = None
    status: str = "Created"
    phase: str = "created"  # created, install, ready, shift, termination, rollback, done
    started_at: float | None = None
    completed_at: float | None = None
    error: tuple[str, str] | None = None
    rollback_info: dict[str, str] | None = None
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # lifecycle event -> state
    replacement: TaskSet | None = None
    original: TaskSet | None = None
    phase_until: float | None = None  # when the phase ends by itself (ready, shift, ...)
    ready_since: float | None = None
    shift_started: float | None = None
    termination_started: bool = False
    rolls_back: str | None = None  # a rollback deployment: the one it rolls back

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass
class State:
    applications: dict[tuple[str, str, str], Application] = field(default_factory=dict)
    groups: dict[tuple[str, str, str, str], Group] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)
    services: dict[tuple[str, str, str], CodeDeployService] = field(default_factory=dict)


# -- the engine --------------------------------------------------------------------------


class CodeDeploy:
    """The CodeDeploy API and the ECS side of CODE_DEPLOY services; call with the
    simulation's lock held (`Simulation.synced`)."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self._ops: dict[str, Callable[[Call], dict[str, Any]]] = {
            "CreateApplication": self.create_application,
            "GetApplication": self.get_application,
            "BatchGetApplications": self.batch_get_applications,
            "ListApplications": self.list_applications,
            "CreateDeploymentGroup": self.create_deployment_group,
            "GetDeploymentGroup": self.get_deployment_group,
            "UpdateDeploymentGroup": self.update_deployment_group,
            "BatchGetDeploymentGroups": self.batch_get_deployment_groups,
            "ListDeploymentGroups": self.list_deployment_groups,
            "CreateDeployment": self.create_deployment,
            "GetDeployment": self.get_deployment,
            "BatchGetDeployments": self.batch_get_deployments,
            "ListDeployments": self.list_deployments,
            "StopDeployment": self.stop_deployment,
            "ContinueDeployment": self.continue_deployment,
            "GetDeploymentTarget": self.get_deployment_target,
        }

    @property
    def state(self) -> State:
        # Kept with the simulation, so that resetting the sandbox forgets it too.
        found = self.sim.extensions.get(EXTENSION)
        if not isinstance(found, State):
            found = self.sim.extensions[EXTENSION] = State()
        return found

    def ts(self, sim_seconds: float | None) -> float | None:
        return None if sim_seconds is None else round(self.sim.wall(sim_seconds), 3)

    def _new_id(self, prefix: str, length: int = 9) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        return prefix + "".join(self.sim.rng.choice(alphabet) for _ in range(length))

    # -- the CodeDeploy API -----------------------------------------------------------

    def handle(self, call: Call, forward: Forward) -> Reply | None:
        op = self._ops.get(call.operation)
        if op is None:
            return None  # moto answers what is not simulated here
        self.sync()
        try:
            return json_reply(op(call))
        except CodeDeployError as exc:
            return json_error(exc.code, exc.message)

    def _application(self, call: Call, name: Any) -> Application:
        if not name:
            raise CodeDeployError(
                "ApplicationNameRequiredException",
                "The minimum number of required application names was not specified.",
            )
        app = self.state.applications.get((call.account, call.region, str(name)))
        if app is None:
            raise CodeDeployError(
                "ApplicationDoesNotExistException",
                f"No application found for name: {name}",
            )
        return app

    def _group(self, call: Call, app: str, name: Any) -> Group:
        if not name:
            raise CodeDeployError(
                "DeploymentGroupNameRequiredException",
                "The deployment group name was not specified.",
            )
        group = self.state.groups.get((call.account, call.region, app, str(name)))
        if group is None:
            raise CodeDeployError(
                "DeploymentGroupDoesNotExistException",
                f"No Deployment Group found for name: {name}",
            )
        return group

    def _deployment(self, call: Call) -> Deployment:
        dep_id = call.params.get("deploymentId")
        if not dep_id:
            raise CodeDeployError(
                "DeploymentIdRequiredException", "At least one deployment ID must be specified."
            )
        dep = self.state.deployments.get(str(dep_id))
        if dep is None or (dep.account, dep.region) != (call.account, call.region):
            raise CodeDeployError(
                "DeploymentDoesNotExistException", f"The deployment {dep_id} could not be found."
            )
        return dep

    def create_application(self, call: Call) -> dict[str, Any]:
        name = str(call.params.get("applicationName") or "")
        key = (call.account, call.region, name)
        if not name:
            raise CodeDeployError(
                "ApplicationNameRequiredException", "The application name was not specified."
            )
        if key in self.state.applications:
            raise CodeDeployError(
                "ApplicationAlreadyExistsException", f"The application {name} already exists."
            )
        platform = str(call.params.get("computePlatform") or "Server")
        if platform not in ("Server", "Lambda", "ECS"):
            raise CodeDeployError(
                "InvalidComputePlatformException", f"Invalid compute platform: {platform}"
            )
        app = Application(name, self._uuid(), platform, self.sim.now)
        self.state.applications[key] = app
        return {"applicationId": app.id}

    def _uuid(self) -> str:
        import uuid

        return str(uuid.UUID(int=self.sim.rng.getrandbits(128), version=4))

    def _application_info(self, app: Application) -> dict[str, Any]:
        return {
            "applicationId": app.id,
            "applicationName": app.name,
            "createTime": self.ts(app.created_at),
            "linkedToGitHub": False,
            "computePlatform": app.compute_platform,
        }

    def get_application(self, call: Call) -> dict[str, Any]:
        app = self._application(call, call.params.get("applicationName"))
        return {"application": self._application_info(app)}

    def batch_get_applications(self, call: Call) -> dict[str, Any]:
        names = [str(n) for n in call.params.get("applicationNames") or []]
        if len(names) > 100:
            raise CodeDeployError(
                "BatchLimitExceededException",
                "The maximum number of names or IDs allowed for this request (100) was exceeded.",
            )
        return {
            "applicationsInfo": [self._application_info(self._application(call, n)) for n in names]
        }

    def list_applications(self, call: Call) -> dict[str, Any]:
        names = sorted(
            n for (a, r, n) in self.state.applications if (a, r) == (call.account, call.region)
        )
        return _page(names, call.params.get("nextToken"), "applications")

    def create_deployment_group(self, call: Call) -> dict[str, Any]:
        p = call.params
        app = self._application(call, p.get("applicationName"))
        name = str(p.get("deploymentGroupName") or "")
        if not name:
            raise CodeDeployError(
                "DeploymentGroupNameRequiredException",
                "The deployment group name was not specified.",
            )
        key = (call.account, call.region, app.name, name)
        if key in self.state.groups:
            raise CodeDeployError(
                "DeploymentGroupAlreadyExistsException",
                f"The deployment group {name} already exists.",
            )
        if not p.get("serviceRoleArn"):
            raise CodeDeployError("RoleRequiredException", "The service role was not specified.")
        config_name = str(p.get("deploymentConfigName") or "")
        if app.compute_platform == "ECS":
            config_name = config_name or DEFAULT_CONFIG
            self._check_ecs_group(call, p, config_name)
        group = Group(app.name, name, self._uuid(), dict(p), config_name)
        self.state.groups[key] = group
        return {"deploymentGroupId": group.id}

    def _check_ecs_group(self, call: Call, p: dict[str, Any], config_name: str) -> None:
        style = p.get("deploymentStyle") or {}
        if (style.get("deploymentType"), style.get("deploymentOption")) != (
            "BLUE_GREEN",
            "WITH_TRAFFIC_CONTROL",
        ):
            raise CodeDeployError(
                "InvalidDeploymentStyleException",
                "An ECS deployment group needs deploymentStyle BLUE_GREEN with "
                "WITH_TRAFFIC_CONTROL.",
            )
        services = p.get("ecsServices") or []
        if len(services) != 1:
            raise CodeDeployError(
                "InvalidECSServiceException", "An ECS deployment group needs one ECS service."
            )
        cluster, svc_name = str(services[0].get("clusterName")), str(services[0].get("serviceName"))
        if (call.region, cluster, svc_name) not in self.state.services:
            raise CodeDeployError(
                "InvalidECSServiceException",
                f"Deployment group's ECS service must be configured for a CODE_DEPLOY "
                f"deployment controller: {cluster}:{svc_name}",
            )
        pairs = (p.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
        if len(pairs) != 1 or len(pairs[0].get("targetGroups") or []) != 2:
            raise CodeDeployError(
                "InvalidTargetGroupPairException",
                "An ECS deployment group needs one target group pair of two target groups.",
            )
        listeners = (pairs[0].get("prodTrafficRoute") or {}).get("listenerArns") or []
        if len(listeners) != 1:
            raise CodeDeployError(
                "InvalidTargetGroupPairException",
                "A target group pair needs one production listener.",
            )
        _shift(config_name)  # refuses a configuration that does not exist

    def _group_info(self, group: Group) -> dict[str, Any]:
        raw = group.raw
        info: dict[str, Any] = {
            "applicationName": group.application,
            "deploymentGroupId": group.id,
            "deploymentGroupName": group.name,
            "deploymentConfigName": group.config_name,
            "serviceRoleArn": raw.get("serviceRoleArn"),
            "computePlatform": "ECS" if raw.get("ecsServices") else "Server",
            "ecsServices": list(raw.get("ecsServices") or []),
            "deploymentStyle": raw.get("deploymentStyle") or {},
            "blueGreenDeploymentConfiguration": raw.get("blueGreenDeploymentConfiguration") or {},
            "loadBalancerInfo": raw.get("loadBalancerInfo") or {},
            "autoRollbackConfiguration": raw.get("autoRollbackConfiguration") or {"enabled": False},
            "alarmConfiguration": raw.get("alarmConfiguration") or {"enabled": False},
        }
        last = [
            d
            for d in self.state.deployments.values()
            if (d.application, d.group) == (group.application, group.name)
        ]
        if last:
            newest = max(last, key=lambda d: d.created_at)
            info["lastAttemptedDeployment"] = {
                "deploymentId": newest.id,
                "status": newest.status,
                "createTime": self.ts(newest.created_at),
            }
        return info

    def update_deployment_group(self, call: Call) -> dict[str, Any]:
        p = call.params
        app = self._application(call, p.get("applicationName"))
        group = self._group(call, app.name, p.get("currentDeploymentGroupName"))
        raw = dict(group.raw) | {
            k: v
            for k, v in p.items()
            if k not in ("applicationName", "currentDeploymentGroupName", "newDeploymentGroupName")
        }
        config_name = str(raw.get("deploymentConfigName") or group.config_name)
        if app.compute_platform == "ECS":
            self._check_ecs_group(call, raw, config_name)
        new_name = str(p.get("newDeploymentGroupName") or group.name)
        del self.state.groups[(call.account, call.region, app.name, group.name)]
        raw["deploymentGroupName"] = new_name
        self.state.groups[(call.account, call.region, app.name, new_name)] = Group(
            app.name, new_name, group.id, raw, config_name
        )
        return {"hooksNotCleanedUp": []}

    def get_deployment_group(self, call: Call) -> dict[str, Any]:
        app = self._application(call, call.params.get("applicationName"))
        group = self._group(call, app.name, call.params.get("deploymentGroupName"))
        return {"deploymentGroupInfo": self._group_info(group)}

    def batch_get_deployment_groups(self, call: Call) -> dict[str, Any]:
        app = self._application(call, call.params.get("applicationName"))
        names = [str(n) for n in call.params.get("deploymentGroupNames") or []]
        if not names:
            raise CodeDeployError(
                "DeploymentGroupNameRequiredException",
                "The deployment group name was not specified.",
            )
        if len(names) > 100:
            raise CodeDeployError(
                "BatchLimitExceededException",
                "The maximum number of names or IDs allowed for this request (100) was exceeded.",
            )
        found, missing = [], []
        for name in names:
            group = self.state.groups.get((call.account, call.region, app.name, name))
            if group is None:
                missing.append(name)
            else:
                found.append(self._group_info(group))
        out: dict[str, Any] = {"deploymentGroupsInfo": found}
        if missing:
            out["errorMessage"] = "Deployment groups not found: " + ", ".join(missing)
        return out

    def list_deployment_groups(self, call: Call) -> dict[str, Any]:
        app = self._application(call, call.params.get("applicationName"))
        names = sorted(
            n
            for (a, r, application, n) in self.state.groups
            if (a, r, application) == (call.account, call.region, app.name)
        )
        out = _page(names, call.params.get("nextToken"), "deploymentGroups")
        out["applicationName"] = app.name
        return out

    # -- deployments --------------------------------------------------------------------

    def create_deployment(self, call: Call) -> dict[str, Any]:
        p = call.params
        app = self._application(call, p.get("applicationName"))
        group = self._group(call, app.name, p.get("deploymentGroupName"))
        if app.compute_platform != "ECS":
            raise CodeDeployError(
                "InvalidComputePlatformException",
                "The sandbox deploys ECS applications only.",
            )
        busy = next(
            (
                d
                for d in self.state.deployments.values()
                if (d.account, d.region, d.application, d.group)
                == (call.account, call.region, app.name, group.name)
                and d.active
            ),
            None,
        )
        if busy is not None:
            raise CodeDeployError(
                "DeploymentLimitExceededException",
                f"The Deployment Group '{group.name}' already has an active Deployment '{busy.id}'",
            )
        content, digest = _appspec_content(p.get("revision"))
        appspec = _parse_appspec(content)
        config_name = str(p.get("deploymentConfigName") or group.config_name)
        _shift(config_name)
        cluster, name = group.ecs_services[0]
        rollback = p.get("autoRollbackConfiguration")
        dep = Deployment(
            id=self._new_id("d-"),
            region=call.region,
            account=call.account,
            application=app.name,
            group=group.name,
            service=(call.region, cluster, name),
            config_name=config_name,
            appspec=appspec,
            sha256=digest,
            auto_rollback=dict(rollback) if rollback is not None else group.auto_rollback,
            created_at=self.sim.now,
            description=p.get("description"),
        )
        dep.events = {e: {"status": "Pending"} for e in LIFECYCLE}
        self.state.deployments[dep.id] = dep
        return {"deploymentId": dep.id}

    def _deployment_info(self, dep: Deployment) -> dict[str, Any]:
        group = self.state.groups.get((dep.account, dep.region, dep.application, dep.group))
        overview = dict.fromkeys(
            ("Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Ready"), 0
        )
        overview[
            {
                "Created": "Pending",
                "Queued": "Pending",
                "InProgress": "InProgress",
                "Ready": "Ready",
                "Succeeded": "Succeeded",
                "Failed": "Failed",
                "Stopped": "Failed",
            }.get(dep.status, "InProgress")
        ] = 1
        info: dict[str, Any] = {
            "applicationName": dep.application,
            "deploymentGroupName": dep.group,
            "deploymentConfigName": dep.config_name,
            "deploymentId": dep.id,
            "revision": {
                "revisionType": "AppSpecContent",
                # GetDeployment never returns the content, only its digest.
                "appSpecContent": {"sha256": dep.sha256},
            },
            "status": dep.status,
            "createTime": self.ts(dep.created_at),
            "deploymentOverview": overview,
            "creator": dep.creator,
            "autoRollbackConfiguration": dep.auto_rollback or {"enabled": False},
            "deploymentStyle": {
                "deploymentType": "BLUE_GREEN",
                "deploymentOption": "WITH_TRAFFIC_CONTROL",
            },
            "instanceTerminationWaitTimeStarted": dep.termination_started,
            "computePlatform": "ECS",
            "deploymentStatusMessages": [],
        }
        if group is not None:
            info["blueGreenDeploymentConfiguration"] = group.blue_green
            info["loadBalancerInfo"] = group.raw.get("loadBalancerInfo") or {}
        if dep.description:
            info["description"] = dep.description
        if dep.started_at is not None:
            info["startTime"] = self.ts(dep.started_at)
        if dep.completed_at is not None:
            info["completeTime"] = self.ts(dep.completed_at)
        if dep.error is not None:
            info["errorInformation"] = {"code": dep.error[0], "message": dep.error[1]}
        if dep.rollback_info:
            info["rollbackInfo"] = dict(dep.rollback_info)
        return info

    def get_deployment(self, call: Call) -> dict[str, Any]:
        return {"deploymentInfo": self._deployment_info(self._deployment(call))}

    def batch_get_deployments(self, call: Call) -> dict[str, Any]:
        found = []
        for dep_id in call.params.get("deploymentIds") or []:
            dep = self.state.deployments.get(str(dep_id))
            if dep is not None and (dep.account, dep.region) == (call.account, call.region):
                found.append(self._deployment_info(dep))
        return {"deploymentsInfo": found}

    def list_deployments(self, call: Call) -> dict[str, Any]:
        p = call.params
        app_name, group_name = p.get("applicationName"), p.get("deploymentGroupName")
        if bool(app_name) != bool(group_name):
            raise CodeDeployError(
                "DeploymentGroupNameRequiredException"
                if app_name
                else ("ApplicationNameRequiredException"),
                "If applicationName is specified, then deploymentGroupName must be "
                "specified, and the other way round.",
            )
        if app_name:
            self._group(call, self._application(call, app_name).name, group_name)
        statuses = set(p.get("includeOnlyStatuses") or [])
        found = [
            d
            for d in self.state.deployments.values()
            if (d.account, d.region) == (call.account, call.region)
            and (not app_name or (d.application, d.group) == (app_name, group_name))
            and (not statuses or d.status in statuses)
        ]
        found.sort(key=lambda d: d.created_at, reverse=True)  # newest first
        return _page([d.id for d in found], p.get("nextToken"), "deployments")

    def stop_deployment(self, call: Call) -> dict[str, Any]:
        dep = self._deployment(call)
        if not dep.active:
            raise CodeDeployError(
                "DeploymentAlreadyCompletedException",
                f"The deployment {dep.id} has already completed.",
            )
        roll_back = bool(call.params.get("autoRollbackEnabled"))
        self._end(
            dep,
            self.sim.now,
            "Stopped",
            ("MANUAL_STOP", "The deployment was stopped by a StopDeployment request."),
            roll_back=roll_back,
        )
        if roll_back:
            return {
                "status": "Pending",
                "statusMessage": "Stopping the deployment and rolling it back.",
            }
        return {"status": "Succeeded", "statusMessage": "The deployment is stopped."}

    def continue_deployment(self, call: Call) -> dict[str, Any]:
        dep = self._deployment(call)
        wait = str(call.params.get("deploymentWaitType") or "READY_WAIT")
        if wait not in ("READY_WAIT", "TERMINATION_WAIT"):
            raise CodeDeployError(
                "InvalidDeploymentWaitTypeException", f"Invalid deployment wait type: {wait}"
            )
        if not dep.active:
            raise CodeDeployError(
                "DeploymentAlreadyCompletedException",
                f"The deployment {dep.id} has already completed.",
            )
        now = self.sim.now
        if wait == "READY_WAIT":
            if dep.phase != "ready":
                raise CodeDeployError(
                    "DeploymentIsNotInReadyStateException",
                    f"The deployment {dep.id} is not in a Ready state.",
                )
            self._start_shift(dep, now)
        else:
            if dep.phase != "termination":
                raise CodeDeployError(
                    "DeploymentIsNotInReadyStateException",
                    f"The deployment {dep.id} is not waiting to terminate the original task set.",
                )
            dep.phase_until = now
        self.sync()
        return {}

    def get_deployment_target(self, call: Call) -> dict[str, Any]:
        dep = self._deployment(call)
        if dep.rolls_back is not None or dep.started_at is None:
            raise CodeDeployError(
                "DeploymentNotStartedException", f"The deployment {dep.id} has not started."
            )
        _, cluster, name = dep.service
        target = f"{cluster}:{name}"
        if str(call.params.get("targetId") or "") != target:
            raise CodeDeployError(
                "DeploymentTargetDoesNotExistException",
                f"The deployment target {call.params.get('targetId')} could not be found.",
            )
        svc = self.state.services.get(dep.service)
        weight = self._weight(dep)
        sets = []
        for label, ts in (("Blue", dep.original), ("Green", dep.replacement)):
            if ts is None:
                continue
            share = weight if label == "Green" else 100.0 - weight
            sets.append(
                {
                    "identifer": ts.id,  # sic: the API's own spelling
                    "status": ts.status,
                    "trafficWeight": share,
                    "targetGroup": {"name": _tg_name(ts.target_group)},
                    "taskSetLabel": label,
                }
            )
        return {
            "deploymentTarget": {
                "deploymentTargetType": "ECSTarget",
                "ecsTarget": {
                    "deploymentId": dep.id,
                    "targetId": target,
                    "targetArn": svc.arn if svc is not None else "",
                    "status": {
                        "Created": "Pending",
                        "Queued": "Pending",
                        "Stopped": "Failed",
                    }.get(dep.status, dep.status),
                    "lifecycleEvents": [
                        {"lifecycleEventName": name_, **state}
                        for name_, state in dep.events.items()
                    ],
                    "taskSetsInfo": sets,
                },
            }
        }

    # -- the lifecycle ------------------------------------------------------------------

    def sync(self) -> None:
        """Move every deployment on to the simulation's now."""
        moved = True
        while moved:
            moved = False
            for dep in list(self.state.deployments.values()):
                if dep.phase != "done" and self._step(dep):
                    moved = True

    def _step(self, dep: Deployment) -> bool:
        now = self.sim.now
        if dep.phase == "created":
            at = dep.created_at + START_SECONDS
            if now < at:
                return False
            self._install(dep, at)
            return True
        if dep.phase == "install":
            ts = dep.replacement
            assert ts is not None
            if ts.healthy_at is not None and now >= ts.healthy_at:
                self._installed(dep, ts.healthy_at)
                return True
            started = dep.started_at or dep.created_at
            if ts.healthy_at is None and now >= started + INSTALL_TIMEOUT:
                minutes = round(INSTALL_TIMEOUT / 60)
                self._event(dep, "Install", "Failed", started + INSTALL_TIMEOUT)
                self._end(
                    dep,
                    started + INSTALL_TIMEOUT,
                    "Failed",
                    (
                        "TIMEOUT",
                        "The deployment timed out while waiting for the replacement task "
                        f"set to become healthy. This time out period is {minutes} minutes.",
                    ),
                    roll_back=self._rolls_back_on(dep, "DEPLOYMENT_FAILURE"),
                )
                return True
            return False
        if dep.phase_until is None or now < dep.phase_until:
            return False
        at = dep.phase_until
        if dep.phase == "ready":
            wait = round((at - (dep.ready_since or at)) / 60)
            self._end(
                dep,
                at,
                "Stopped",
                (
                    "TIMEOUT",
                    "Traffic was not rerouted to the replacement task set within the "
                    f"deployment group's ready wait ({wait} minutes).",
                ),
                roll_back=True,
            )
        elif dep.phase == "shift":
            self._rerouted(dep, at)
        elif dep.phase == "termination":
            self._succeeded(dep, at)
        elif dep.phase == "rollback":
            self._rolled_back(dep, at)
        return True

    def _event(self, dep: Deployment, name: str, status: str, at: float) -> None:
        state = dep.events.setdefault(name, {})
        if status == "InProgress" or "startTime" not in state:
            state["startTime"] = self.ts(at)
        if status in ("Succeeded", "Failed", "Skipped"):
            state["endTime"] = self.ts(at)
        state["status"] = status

    def _install(self, dep: Deployment, at: float) -> None:
        dep.status, dep.phase, dep.started_at = "InProgress", "install", at
        svc = self.state.services.get(dep.service)
        group = self.state.groups[(dep.account, dep.region, dep.application, dep.group)]
        for name in ("BeforeInstall",):
            self._event(dep, name, "Succeeded", at)
        self._event(dep, "Install", "InProgress", at)
        target = dep.appspec.get("TaskDefinition")
        if svc is None or svc.primary is None:
            self._end(
                dep,
                at,
                "Failed",
                ("INVALID_ECS_SERVICE", f"The ECS service {dep.service[2]} does not exist."),
                roll_back=False,
            )
            return
        problem = self._appspec_problem(dep, str(target or ""))
        if problem is not None:
            self._event(dep, "Install", "Failed", at)
            self._end(dep, at, "Failed", ("ECS_UPDATE_ERROR", problem), roll_back=False)
            return
        original = svc.primary
        # The group names its pair; the one the original task set is not in takes the
        # replacement (so each deployment uses the other one).
        others = [tg for tg in group.target_groups if tg != _tg_name(original.target_group)]
        replacement_tg = original.target_group
        if others:
            found = self.sim.backends.target_group_arn(dep.account, dep.region, others[0])
            replacement_tg = found or others[0]
        if svc.name in self.sim.break_next:
            # `break_service`: the next new task definition its deployments use crashes.
            self.sim.break_next.discard(svc.name)
            self.sim.broken.add(str(target))
        lb = dep.appspec.get("LoadBalancerInfo") or {}
        network = dep.appspec.get("NetworkConfiguration")
        ts = self._task_set(
            svc,
            str(target),
            replacement_tg,
            str(lb.get("ContainerName") or original.container_name),
            int(lb.get("ContainerPort") or original.container_port),
            at,
            launch_type=original.launch_type,
            platform_version=dep.appspec.get("PlatformVersion") or original.platform_version,
            network=_network_api(network) if network else original.network_configuration,
        )
        ts.status, ts.external_id = "ACTIVE", dep.id
        svc.task_sets.append(ts)
        dep.replacement, dep.original = ts, original

    def _appspec_problem(self, dep: Deployment, arn: str) -> str | None:
        try:
            spec = self.sim.backends.task_spec(dep.account, dep.region, arn)
        except Exception:
            return f"The task definition {arn} does not exist."
        lb = dep.appspec.get("LoadBalancerInfo") or {}
        container = str(lb.get("ContainerName") or "")
        port = int(lb.get("ContainerPort") or 0)
        found = next((c for c in spec.containers if c.name == container), None)
        if found is None:
            return f"The container {container} does not exist in the task definition."
        if all(p.container_port != port for p in found.ports):
            return f"The container {container} does not have a port mapping of {port}."
        return None

    def _task_set(
        self,
        svc: CodeDeployService,
        task_definition: str,
        target_group: str,
        container: str,
        port: int,
        at: float,
        *,
        launch_type: str,
        platform_version: str | None,
        network: dict[str, Any] | None,
    ) -> TaskSet:
        ts_id = self.sim.new_deployment_id()
        running_at: float = at + PROVISIONING_SECONDS
        healthy_at: float | None = None
        try:
            spec = self.sim.backends.task_spec(svc.account, svc.region, task_definition)
            running_at += spec.behaviour.start_seconds
            broken = (
                spec.behaviour.crash
                or spec.behaviour.unhealthy
                or task_definition in self.sim.broken
            )
        except Exception:
            broken = False
        if not broken:
            health = self.sim.backends.health_settings(svc.account, svc.region, target_group)
            healthy_at = running_at + health.healthy_threshold * health.interval
        return TaskSet(
            id=ts_id,
            arn=f"arn:aws:ecs:{svc.region}:{svc.account}:task-set/{svc.cluster}/{svc.name}/{ts_id}",
            task_definition=task_definition,
            target_group=target_group,
            container_name=container,
            container_port=port,
            status="PRIMARY",
            created_at=at,
            running_at=running_at,
            healthy_at=healthy_at,
            launch_type=launch_type,
            platform_version=platform_version,
            network_configuration=network,
            updated_at=at,
        )

    def _installed(self, dep: Deployment, at: float) -> None:
        group = self.state.groups[(dep.account, dep.region, dep.application, dep.group)]
        for name in ("Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic"):
            self._event(dep, name, "Succeeded", at)
        wait = group.ready_wait
        if wait is not None:
            dep.status, dep.phase = "Ready", "ready"
            dep.ready_since = at
            dep.phase_until = at + wait
            return
        self._start_shift(dep, at)

    def _start_shift(self, dep: Deployment, at: float) -> None:
        dep.status, dep.phase = "InProgress", "shift"
        self._event(dep, "BeforeAllowTraffic", "Succeeded", at)
        self._event(dep, "AllowTraffic", "InProgress", at)
        dep.shift_started = at
        dep.phase_until = at + _shift(dep.config_name).total

    def _weight(self, dep: Deployment) -> float:
        """Percent of production traffic on the replacement task set."""
        if dep.phase in ("created", "install", "ready") or dep.shift_started is None:
            return 0.0
        if dep.phase == "shift":
            shift = _shift(dep.config_name)
            if shift.every <= 0:
                return shift.percent
            steps = math.floor((self.sim.now - dep.shift_started) / shift.every) + 1
            return float(min(100.0, shift.percent * steps))
        if dep.status in ("Failed", "Stopped") or dep.phase == "rollback":
            return 0.0
        return 100.0

    def _rerouted(self, dep: Deployment, at: float) -> None:
        """AllowTraffic done: production serves the replacement, which becomes PRIMARY."""
        for name in ("AllowTraffic", "AfterAllowTraffic"):
            self._event(dep, name, "Succeeded", at)
        assert dep.replacement is not None and dep.original is not None
        dep.replacement.status, dep.replacement.updated_at = "PRIMARY", at
        dep.original.status, dep.original.updated_at = "ACTIVE", at
        group = self.state.groups[(dep.account, dep.region, dep.application, dep.group)]
        dep.phase, dep.termination_started = "termination", True
        dep.phase_until = at + group.termination_wait

    def _succeeded(self, dep: Deployment, at: float) -> None:
        svc = self.state.services.get(dep.service)
        if svc is not None and dep.original in svc.task_sets:
            svc.task_sets.remove(dep.original)
        dep.status, dep.phase, dep.completed_at = "Succeeded", "done", at

    def _rolls_back_on(self, dep: Deployment, event: str) -> bool:
        config = dep.auto_rollback or {}
        return bool(config.get("enabled")) and event in (config.get("events") or [])

    def _end(
        self,
        dep: Deployment,
        at: float,
        status: str,
        error: tuple[str, str],
        *,
        roll_back: bool,
    ) -> None:
        """The deployment fails or stops; with `roll_back`, a rollback deployment puts
        production back on the original task set and removes the replacement."""
        dep.status, dep.phase, dep.completed_at, dep.error = status, "done", at, error
        dep.phase_until = None
        for name, state in dep.events.items():
            if state.get("status") == "InProgress":
                self._event(dep, name, "Failed", at)
        if not roll_back or dep.replacement is None:
            return  # the task sets stay as they are
        rollback = Deployment(
            id=self._new_id("d-"),
            region=dep.region,
            account=dep.account,
            application=dep.application,
            group=dep.group,
            service=dep.service,
            config_name=dep.config_name,
            appspec=dep.appspec,
            sha256=dep.sha256,
            auto_rollback={},
            created_at=at,
            creator="codeDeployRollback",
            status="InProgress",
            phase="rollback",
            started_at=at,
            replacement=dep.replacement,
            original=dep.original,
            phase_until=at + ROLLBACK_SECONDS,
            rolls_back=dep.id,
        )
        rollback.rollback_info = {"rollbackTriggeringDeploymentId": dep.id}
        self.state.deployments[rollback.id] = rollback
        dep.rollback_info = {
            "rollbackDeploymentId": rollback.id,
            "rollbackMessage": f"Rolling back to the original task set in deployment "
            f"{rollback.id}.",
        }
        # Traffic goes back to the original task set at once.
        if dep.original is not None:
            dep.original.status, dep.original.updated_at = "PRIMARY", at
        dep.replacement.status, dep.replacement.updated_at = "ACTIVE", at

    def _rolled_back(self, dep: Deployment, at: float) -> None:
        svc = self.state.services.get(dep.service)
        if svc is not None and dep.replacement in svc.task_sets:
            svc.task_sets.remove(dep.replacement)
        dep.status, dep.phase, dep.completed_at = "Succeeded", "done", at
        original = self.state.deployments.get(dep.rolls_back or "")
        if original is not None and original.rollback_info is not None:
            original.rollback_info["rollbackMessage"] = (
                f"The deployment was rolled back by deployment {dep.id}: production traffic "
                "is on the original task set."
            )

    # -- the ECS side: CODE_DEPLOY services -------------------------------------------------

    def service_created(self, call: Call, answered: dict[str, Any]) -> dict[str, Any]:
        """CreateService made a CODE_DEPLOY service: its first task set, PRIMARY."""
        p = call.params
        cluster = str(p.get("cluster") or "default").split("/")[-1]
        name = str(answered.get("serviceName") or p.get("serviceName"))
        svc = CodeDeployService(
            region=call.region,
            account=call.account,
            cluster=cluster,
            name=name,
            arn=str(answered.get("serviceArn") or ""),
            cluster_arn=str(answered.get("clusterArn") or ""),
        )
        lbs = p.get("loadBalancers") or [{}]
        td = str(answered.get("taskDefinition") or p.get("taskDefinition") or "")
        launch_type = str(answered.get("launchType") or p.get("launchType") or "EC2")
        ts = self._task_set(
            svc,
            td,
            str(lbs[0].get("targetGroupArn") or ""),
            str(lbs[0].get("containerName") or ""),
            int(lbs[0].get("containerPort") or 0),
            self.sim.now,
            launch_type=launch_type,
            platform_version=answered.get("platformVersion") or p.get("platformVersion"),
            network=p.get("networkConfiguration"),
        )
        svc.task_sets.append(ts)
        self.state.services[(call.region, cluster, name)] = svc
        return self.describe(call.region, cluster, name, answered)

    def _service_of(self, call: Call) -> tuple[tuple[str, str, str], CodeDeployService] | None:
        ref = str(call.params.get("service") or "")
        cluster = str(call.params.get("cluster") or "default").split("/")[-1]
        if ref.startswith("arn:") and ref.count("/") >= 2:
            cluster = ref.split("/")[-2]
        key = (call.region, cluster, ref.split("/")[-1])
        svc = self.state.services.get(key)
        return None if svc is None else (key, svc)

    def update_service(self, call: Call, forward: Forward) -> Reply | None:
        """UpdateService of a CODE_DEPLOY service, as ECS takes it; None for others."""
        found = self._service_of(call)
        if found is None:
            return None
        key, _ = found
        for name, what in _REFUSED_UPDATES.items():
            if call.params.get(name) is not None:
                return json_error(
                    "InvalidParameterException",
                    f"Unable to update {what} on services with a CODE_DEPLOY deployment "
                    "controller. Use AWS CodeDeploy to trigger a new deployment.",
                )
        reply = forward(None)
        if reply.status != 200:
            return reply
        kept = self.sim.unsimulated.setdefault(key, {})
        for name in _UPDATABLE:
            if name not in call.params:
                continue
            if name == "deploymentConfiguration":
                kept[name] = dict(kept.get(name) or {}) | dict(call.params[name] or {})
            else:
                kept[name] = call.params[name]
        data = reply.json()
        data["service"] = self.describe(*key, dict(data.get("service") or {}) | kept)
        return json_reply(data)

    def describe(self, region: str, cluster: str, name: str, svc: dict[str, Any]) -> dict[str, Any]:
        """DescribeServices' entry of a CODE_DEPLOY service: its task sets, no deployments,
        the task definition of the PRIMARY task set; others unchanged."""
        state = self.state.services.get((region, cluster, name))
        if state is None:
            return svc
        self.sync()
        desired = int(svc.get("desiredCount") or 0)
        out = dict(svc)
        out["deployments"] = []
        sets = [self._task_set_api(state, ts, desired) for ts in state.task_sets]
        out["taskSets"] = sets
        if state.primary is not None:
            out["taskDefinition"] = state.primary.task_definition
        out["runningCount"] = sum(s["runningCount"] for s in sets)
        out["pendingCount"] = sum(s["pendingCount"] for s in sets)
        return out

    def _task_set_api(self, svc: CodeDeployService, ts: TaskSet, desired: int) -> dict[str, Any]:
        now = self.sim.now
        running = desired if now >= ts.running_at and ts.healthy_at is not None else 0
        if ts.healthy_at is None and now >= ts.running_at:
            running = 0  # its tasks keep stopping and being replaced
        pending = desired - running
        out: dict[str, Any] = {
            "id": ts.id,
            "taskSetArn": ts.arn,
            "serviceArn": svc.arn,
            "clusterArn": svc.cluster_arn,
            "status": ts.status,
            "taskDefinition": ts.task_definition,
            "computedDesiredCount": desired,
            "pendingCount": pending,
            "runningCount": running,
            "createdAt": self.ts(ts.created_at),
            "updatedAt": self.ts(max(ts.updated_at, min(now, ts.running_at))),
            "launchType": ts.launch_type,
            "loadBalancers": [
                {
                    "targetGroupArn": ts.target_group,
                    "containerName": ts.container_name,
                    "containerPort": ts.container_port,
                }
            ],
            "serviceRegistries": [],
            "scale": {"value": 100.0, "unit": "PERCENT"},
            "stabilityStatus": "STEADY_STATE" if pending == 0 else "STABILIZING",
            "stabilityStatusAt": self.ts(now),
        }
        if ts.external_id:
            out["startedBy"] = "CODE_DEPLOY"
            out["externalId"] = ts.external_id
        if ts.launch_type == "FARGATE":
            out["platformVersion"] = ts.platform_version or "LATEST"
            out["platformFamily"] = "Linux"
        if ts.network_configuration:
            out["networkConfiguration"] = ts.network_configuration
        return out


# -- helpers -------------------------------------------------------------------------------


def _tg_name(reference: str) -> str:
    """`NAME` of `arn:...:targetgroup/NAME/0123abcd`; a name is itself."""
    if ":targetgroup/" in reference:
        return reference.split(":targetgroup/", 1)[1].split("/")[0]
    return reference


def _page(items: list[str], token: Any, key: str, size: int = 100) -> dict[str, Any]:
    start = int(token or 0)
    out: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        out["nextToken"] = str(start + size)
    return out


@dataclass(frozen=True)
class Shift:
    """How a predefined ECS deployment configuration moves production traffic."""

    percent: float  # moved at the first step
    every: float  # seconds between steps (linear); 0: the rest at the end (canary)
    total: float  # seconds from the first step to all of it


def _shift(config_name: str) -> Shift:
    if config_name == DEFAULT_CONFIG:
        return Shift(100.0, 0.0, 0.0)
    linear = _LINEAR.match(config_name)
    if linear:
        percent, minutes = float(linear.group(1)), float(linear.group(2))
        steps = math.ceil(100 / percent)
        return Shift(percent, minutes * 60, (steps - 1) * minutes * 60)
    canary = _CANARY.match(config_name)
    if canary:
        return Shift(float(canary.group(1)), 0.0, float(canary.group(2)) * 60)
    raise CodeDeployError(
        "DeploymentConfigDoesNotExistException",
        f"No deployment configuration found for name: {config_name}",
    )


def _appspec_content(revision: Any) -> tuple[str, str]:
    """The AppSpec text of a CreateDeployment revision, and its SHA-256."""
    if not isinstance(revision, dict):
        raise CodeDeployError("RevisionRequiredException", "The revision ID was not specified.")
    kind = revision.get("revisionType")
    if kind == "AppSpecContent":
        content = str((revision.get("appSpecContent") or {}).get("content") or "")
    elif kind == "String":
        content = str((revision.get("string") or {}).get("content") or "")
    else:
        raise CodeDeployError(
            "InvalidRevisionException",
            "The sandbox takes an ECS revision as AppSpecContent (or String) only.",
        )
    if not content:
        raise CodeDeployError("InvalidRevisionException", "The AppSpec content is empty.")
    digest = hashlib.sha256(content.encode()).hexdigest()
    given = (revision.get("appSpecContent") or {}).get("sha256")
    if given and given != digest:
        raise CodeDeployError(
            "InvalidRevisionException", "The sha256 does not match the AppSpec content."
        )
    return content, digest


def _parse_appspec(content: str) -> dict[str, Any]:
    """The TargetService's Properties of an ECS AppSpec (JSON or YAML)."""
    try:
        data: Any = json.loads(content)
    except ValueError:
        from ruamel.yaml import YAML

        try:
            data = YAML(typ="safe").load(content)
        except Exception:
            data = None
    resources = (data or {}).get("Resources") if isinstance(data, dict) else None
    for resource in resources or []:
        target = resource.get("TargetService") if isinstance(resource, dict) else None
        if isinstance(target, dict) and target.get("Type") == "AWS::ECS::Service":
            props = target.get("Properties") or {}
            if not props.get("TaskDefinition"):
                break
            return dict(props)
    raise CodeDeployError(
        "InvalidRevisionException",
        "The AppSpec has no TargetService of Type AWS::ECS::Service with a TaskDefinition.",
    )


def _network_api(appspec_network: dict[str, Any]) -> dict[str, Any]:
    """An AppSpec NetworkConfiguration in ECS's API shape."""
    vpc = (
        appspec_network.get("AwsvpcConfiguration")
        or appspec_network.get("awsvpcConfiguration")
        or {}
    )
    return {
        "awsvpcConfiguration": {
            "subnets": list(vpc.get("Subnets") or []),
            "securityGroups": list(vpc.get("SecurityGroups") or []),
            "assignPublicIp": str(vpc.get("AssignPublicIp") or "DISABLED"),
        }
    }
