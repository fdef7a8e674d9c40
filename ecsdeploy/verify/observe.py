"""Observing the facts the verify rules judge: target groups, instances, roles, log groups,
secrets, and what blue_green, linear and canary need (listener rules, the roles ECS
assumes, the hooks' Lambda functions).

Read-only and concurrent (a thread pool, as `plan/observe.py`): each target
group, cluster, role, log group and secret is looked up once however many
services name it. What the plan already observed (services, images) comes from
its `LiveState`; image lookups that failed outright (a repository that does not
exist) are recorded here so verify can report them as findings.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecsdeploy.adapters.aws import AwsClients, error_code
from ecsdeploy.adapters.elb import ElbAdapter, forward_weights
from ecsdeploy.adapters.iam_lambda import IamLambdaAdapter
from ecsdeploy.adapters.images import ImageStore
from ecsdeploy.adapters.instances import InstancesAdapter
from ecsdeploy.adapters.resources import ResourcesAdapter
from ecsdeploy.adapters.service_links import ServiceLinksAdapter
from ecsdeploy.config.model import Config, Service
from ecsdeploy.errors import EcsDeployError
from ecsdeploy.plan.observe import LiveState, LocalImages
from ecsdeploy.render import ImageRef, RenderedService
from ecsdeploy.threads import each

from . import rules, strategy
from .rules import (
    ImageFacts,
    InstanceFacts,
    ListenerRuleFacts,
    LogGroupRef,
    SecretRef,
    ServiceFacts,
    TargetGroupFacts,
)

WORKERS = 16


class ImageErrors:
    """Image lookups that failed (not "no such tag": an error), by repository:tag or local name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: dict[str, str] = {}

    def add(self, key: str, message: str) -> None:
        with self._lock:
            self._errors.setdefault(key, message)

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._errors.get(key)


class RecordingStore:
    """An ImageStore that answers "not there" for a failed lookup and records why.

    So one missing repository is one finding, not the end of the whole check.
    """

    def __init__(self, store: ImageStore, errors: ImageErrors) -> None:
        self._store = store
        self._errors = errors

    def digest(self, repository: str, tag: str) -> str | None:
        try:
            return self._store.digest(repository, tag)
        except EcsDeployError as exc:
            # An AWS error as such (access denied, throttled past the retries) is an
            # error of verify itself (exit 1), not a fact about the image.
            if error_code(exc) is not None:
                raise
            self._errors.add(f"{repository}:{tag}", exc.message)
            return None

    def retag(self, repository: str, source_tag: str, tag: str) -> str:
        return self._store.retag(repository, source_tag, tag)

    def tags(self, repository: str, limit: int) -> list[str]:
        return self._store.tags(repository, limit)


class RecordingLocal:
    """The local Docker engine, with failures recorded the same way."""

    def __init__(self, local: LocalImages, errors: ImageErrors) -> None:
        self._local = local
        self._errors = errors

    def digest_in(self, local: str, repository_uri: str) -> str | None:
        try:
            return self._local.digest_in(local, repository_uri)
        except EcsDeployError as exc:
            self._errors.add(local, exc.message)
            return None


@dataclass(frozen=True)
class _Job:
    kind: str
    key: Any


def _resource(resources: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next((r for r in resources if r.get("name") == name), {})


def instance_facts(ci: Mapping[str, Any]) -> InstanceFacts:
    """One DescribeContainerInstances entry as the rules see it."""
    registered = list(ci.get("registeredResources") or [])
    remaining = list(ci.get("remainingResources") or registered)

    def ports(resources: list[dict[str, Any]], name: str) -> frozenset[int]:
        return frozenset(
            int(p)
            for p in _resource(resources, name).get("stringSetValue") or []
            if str(p).isdigit()
        )

    return InstanceFacts(
        arn=str(ci.get("containerInstanceArn")),
        status=str(ci.get("status") or "ACTIVE"),
        registered_cpu=int(_resource(registered, "CPU").get("integerValue") or 0),
        registered_memory=int(_resource(registered, "MEMORY").get("integerValue") or 0),
        remaining_cpu=int(_resource(remaining, "CPU").get("integerValue") or 0),
        remaining_memory=int(_resource(remaining, "MEMORY").get("integerValue") or 0),
        ports_tcp=ports(remaining, "PORTS"),
        ports_udp=ports(remaining, "PORTS_UDP"),
        ec2_instance_id=ci.get("ec2InstanceId"),
        agent_connected=bool(ci.get("agentConnected", True)),
    )


def target_group_facts(
    group: Mapping[str, Any], attributes: Mapping[str, str], listeners: tuple[str, ...]
) -> TargetGroupFacts:
    """A DescribeTargetGroups entry, its attributes and forwarding listeners, for the rules."""
    return TargetGroupFacts(
        arn=str(group["TargetGroupArn"]),
        name=str(group.get("TargetGroupName")),
        protocol=group.get("Protocol"),
        port=group.get("Port"),
        target_type=str(group.get("TargetType") or "instance"),
        health_check_enabled=bool(group.get("HealthCheckEnabled", True)),
        health_check_path=group.get("HealthCheckPath"),
        interval=int(group.get("HealthCheckIntervalSeconds") or 30),
        timeout=int(group.get("HealthCheckTimeoutSeconds") or 5),
        healthy_threshold=int(group.get("HealthyThresholdCount") or 5),
        unhealthy_threshold=int(group.get("UnhealthyThresholdCount") or 2),
        deregistration_delay=int(attributes.get("deregistration_delay.timeout_seconds") or 300),
        load_balancers=tuple(group.get("LoadBalancerArns") or ()),
        listeners=listeners,
        vpc_id=group.get("VpcId"),
    )


def listener_rule_facts(arn: str, actions: list[dict[str, Any]]) -> ListenerRuleFacts:
    """A listener rule's actions (a listener's default actions) as the rules see them.

    Its forward actions' target groups and weights (`forward_weights`), and the other
    actions' types.
    """
    parsed = strategy.parse_elb_arn(arn)
    others = [str(a.get("Type")) for a in actions if a.get("Type") != "forward"]
    return ListenerRuleFacts(
        arn=arn,
        listener=parsed.listener,
        load_balancer=parsed.load_balancer,
        forwards=forward_weights(actions),
        other_actions=tuple(dict.fromkeys(others)),
    )


def _image_facts(ref: ImageRef, live: LiveState, errors: ImageErrors | None) -> ImageFacts:
    state = live.images.get(ref.key)
    makes = ref.promote is not None or ref.local is not None
    if state is None:
        return ImageFacts(ref.key, ref.uri, False, "it was not looked up")
    # With `promote` or `local`, the source must exist even when the revision tag does:
    # the plan refuses a missing source (a typo such as `lastest`), and so does verify.
    target_error = errors.get(f"{ref.repository}:{ref.tag}") if errors is not None else None
    found = (state.source_digest is not None) if makes else (state.target_digest is not None)
    # A source found locally is not enough when the registry apply pushes to did not answer.
    if found and not (makes and state.target_digest is None and target_error):
        return ImageFacts(ref.key, ref.uri, True)
    recorded = None
    if errors is not None:
        recorded = target_error
        if ref.promote is not None:
            recorded = recorded or errors.get(f"{ref.repository}:{ref.promote}")
        if ref.local is not None:
            recorded = recorded or errors.get(ref.local)
    if recorded:
        return ImageFacts(
            ref.key,
            ref.uri,
            False,
            recorded,
            unchecked=True,
            source="promote" if ref.promote is not None else "local" if ref.local else None,
            registry=(ref.registry_key, ref.registry),
        )
    if makes:
        detail = f"its source {ref.source} does not exist"
    else:
        detail = "the tag is not there and deploy.yaml gives neither `promote` nor `local`"
    return ImageFacts(ref.key, ref.uri, False, detail)


Fetched = Mapping[_Job, Any]  # what each job found


def _jobs(
    config: Config,
    rendered: Mapping[str, RenderedService],
    keys: list[str],
    launch: Mapping[str, str],
) -> list[_Job]:
    """The lookups the services' checks need."""
    jobs: dict[_Job, None] = {}
    for key in keys:
        service = config.services[key]
        td = rendered[key].task_definition
        for lb in service.load_balancers:
            jobs[_Job("target_group", lb.target_group)] = None
            if lb.alternate_target_group and service.deployment.traffic_shifting:
                jobs[_Job("target_group", lb.alternate_target_group)] = None
        for arn in strategy.listener_rule_arns(service):
            jobs[_Job("listener_rule", arn)] = None
        for name in strategy.shift_roles(service):
            jobs[_Job("shift_role", name)] = None
        for function in strategy.hook_functions(service):
            jobs[_Job("function", function)] = None
        if launch[key] == "EC2" and service.desired_count != 0:
            jobs[_Job("cluster", config.clusters[service.cluster].name)] = None
        if service.launch_type is None:
            jobs[_Job("capacity", config.clusters[service.cluster].name)] = None
        for name in rules.roles(td):
            jobs[_Job("role", name)] = None
        for group in rules.log_groups(td):
            jobs[_Job("log_group", group)] = None
        for secret in rules.secrets(td):
            jobs[_Job("secret", (secret.kind, secret.id, secret.region))] = None
        for name in rules.deployment_alarms(service):
            jobs[_Job("alarm", name)] = None
        namespace = rules.connect_namespace(service)
        if namespace is not None:
            jobs[_Job("namespace", namespace)] = None
    return list(jobs)


def _fetch(clients: AwsClients, jobs: list[_Job], *, capture: bool = False) -> dict[_Job, Any]:
    """What each job finds; with `capture`, a job's error is its answer (raised if used)."""
    elb = ElbAdapter(clients)
    instances = InstancesAdapter(clients)
    resources = ResourcesAdapter(clients)
    links = ServiceLinksAdapter(clients)
    iam_lambda = IamLambdaAdapter(clients)

    def run(job: _Job) -> Any:
        if job.kind == "alarm":
            return links.alarm_exists(job.key)
        if job.kind == "namespace":
            return links.namespace_exists(job.key)
        if job.kind == "target_group":
            group = elb.target_group(job.key)
            if group is None:
                return None
            return target_group_facts(
                group, elb.attributes(group["TargetGroupArn"]), elb.forwarding_listeners(group)
            )
        if job.kind == "listener_rule":
            parsed = strategy.parse_elb_arn(job.key)
            if parsed.kind == "listener-rule":
                rule = elb.rule(job.key)
                return None if rule is None else listener_rule_facts(job.key, rule["Actions"])
            if parsed.kind == "listener":
                found = elb.listener(job.key)
                if found is None:
                    return None
                return listener_rule_facts(job.key, found.get("DefaultActions") or [])
            return None  # not an ARN ECS takes: said by the rules without a lookup
        if job.kind == "shift_role":
            return iam_lambda.role_trust(job.key)
        if job.kind == "function":
            return iam_lambda.function_exists(job.key)
        if job.kind == "cluster":
            return tuple(instance_facts(ci) for ci in instances.container_instances(job.key))
        if job.kind == "capacity":
            associated, default, scaling = instances.capacity_providers(job.key)
            return rules.CapacityFacts(frozenset(associated), tuple(default), scaling)
        if job.kind == "role":
            return resources.role_exists(job.key)
        if job.kind == "log_group":
            ref: LogGroupRef = job.key
            return resources.log_group_exists(ref.name, ref.region)
        kind, secret_id, region = job.key
        if kind == "secretsmanager":
            return resources.secret_exists(secret_id, region)
        return resources.parameter_exists(secret_id, region)

    def attempt(job: _Job) -> Any:
        try:
            return run(job)
        except EcsDeployError as exc:
            if not capture:
                raise
            return exc

    return dict(zip(jobs, each(attempt, jobs, workers=WORKERS), strict=True))


def prefetch(
    config: Config, rendered: Mapping[str, RenderedService], clients: AwsClients, keys: list[str]
) -> Fetched:
    """The lookups that do not need the live services, ahead of `observe`.

    apply runs this while it observes the live state. The launch type is guessed
    without the live service; `observe` looks up what a wrong guess left out.
    """
    launch = {
        k: rules.resolve_launch_type(config.services[k], rendered[k].task_definition, None)
        for k in keys
    }
    # A lookup the guess got wrong must not fail apply: errors wait until one is used.
    return _fetch(clients, _jobs(config, rendered, keys, launch), capture=True)


def observe(
    config: Config,
    rendered: Mapping[str, RenderedService],
    images: Mapping[str, ImageRef],
    live: LiveState,
    clients: AwsClients,
    keys: list[str],
    image_errors: ImageErrors | None = None,
    fetched: Fetched | None = None,
) -> dict[str, ServiceFacts]:
    """The facts for each service of `keys`; raises OperationError on an AWS error.

    `fetched` (from `prefetch`) saves the lookups already made.
    """
    launch: dict[str, str] = {}
    for key in keys:
        state = live.services.get(key)
        launch[key] = rules.resolve_launch_type(
            config.services[key],
            rendered[key].task_definition,
            state.service if state is not None else None,
        )
    jobs = _jobs(config, rendered, keys, launch)
    known = fetched or {}
    results = _fetch(clients, [j for j in jobs if j not in known])
    for job in jobs:
        if job in known:
            if isinstance(known[job], EcsDeployError):
                raise known[job]
            results[job] = known[job]

    facts: dict[str, ServiceFacts] = {}
    for key in keys:
        service = config.services[key]
        td = rendered[key].task_definition
        state = live.services.get(key)
        live_service = state.service if state is not None else None
        cluster_job = _Job("cluster", config.clusters[service.cluster].name)
        secret_refs: list[SecretRef] = rules.secrets(td)
        capacity = results.get(_Job("capacity", config.clusters[service.cluster].name))
        facts[key] = ServiceFacts(
            providers=_providers_in_effect(service, live_service, capacity),
            capacity=capacity,
            launch_type=launch[key],
            exists=state is not None and state.exists,
            target_groups={
                ref: tg
                for lb in service.load_balancers
                for ref in (lb.target_group, lb.alternate_target_group)
                if ref and (tg := results.get(_Job("target_group", ref))) is not None
            },
            instances=results.get(cluster_job) if cluster_job in results else None,
            grace_period=(live_service or {}).get("healthCheckGracePeriodSeconds"),
            live_desired=(live_service or {}).get("desiredCount"),
            images=tuple(_image_facts(images[k], live, image_errors) for k in rendered[key].images),
            roles={name: bool(results[_Job("role", name)]) for name in rules.roles(td)},
            log_groups={g: bool(results[_Job("log_group", g)]) for g in rules.log_groups(td)},
            secrets={
                s: bool(results[_Job("secret", (s.kind, s.id, s.region))]) for s in secret_refs
            },
            alarms={n: bool(results[_Job("alarm", n)]) for n in rules.deployment_alarms(service)},
            namespaces={
                n: bool(results[_Job("namespace", n)])
                for n in filter(None, [rules.connect_namespace(service)])
            },
            listener_rules={
                arn: rule
                for arn in strategy.listener_rule_arns(service)
                if (rule := results.get(_Job("listener_rule", arn))) is not None
            },
            shift_roles={n: results[_Job("shift_role", n)] for n in strategy.shift_roles(service)},
            hook_functions={
                f: bool(results[_Job("function", f)]) for f in strategy.hook_functions(service)
            },
        )
    return facts


def _providers_in_effect(
    service: Service, live_service: Mapping[str, Any] | None, capacity: Any
) -> tuple[str, ...]:
    """The capacity providers the service's tasks go to: deploy.yaml's strategy, else
    the live service's, else (a service to create without a launch type) the
    cluster's default strategy."""
    if service.launch_type is not None:
        return ()
    if service.capacity_provider_strategy is not None:
        return tuple(p.capacity_provider for p in service.capacity_provider_strategy)
    if live_service is not None:
        return tuple(
            str(i.get("capacityProvider"))
            for i in live_service.get("capacityProviderStrategy") or []
        )
    if isinstance(capacity, rules.CapacityFacts):
        return capacity.default_strategy
    return ()
