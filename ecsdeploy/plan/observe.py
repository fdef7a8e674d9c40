"""Observing the live state a plan is computed against: services, task definitions, images,
and for private registries the container instances' ecs.config attribute and the secrets.

Read-only and concurrent: DescribeServices in batches of 10 per cluster, each
task definition described once, families and images looked up in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ecsdeploy.adapters.ecs import DESCRIBE_BATCH, EcsAdapter
from ecsdeploy.adapters.ecs_state import Deployment, EcsService
from ecsdeploy.adapters.images import ImageStore
from ecsdeploy.adapters.secrets_store import SecretState
from ecsdeploy.scaling import ScalingState

if TYPE_CHECKING:
    from ecsdeploy.adapters.codedeploy import CodeDeployAdapter
    from ecsdeploy.adapters.elb import ElbAdapter
    from ecsdeploy.adapters.instances import InstancesAdapter
    from ecsdeploy.adapters.scaling import ScalingAdapter
    from ecsdeploy.adapters.secrets_store import SecretsStore
from ecsdeploy.config.model import Config
from ecsdeploy.errors import EcsDeployError, InputError, Location, OperationError, Problem
from ecsdeploy.render import ImageRef, RenderedService
from ecsdeploy.threads import each

T = TypeVar("T")
WORKERS = 32  # threads per pool; the clients keep more connections (adapters.aws.MAX_POOL)


@dataclass(frozen=True)
class ServiceState:
    key: str
    cluster: str
    name: str
    service: Mapping[str, Any] | None  # DescribeServices' entry; None when it does not exist

    @property
    def exists(self) -> bool:
        return self.service is not None

    @property
    def arn(self) -> str | None:
        return None if self.service is None else self.service.get("serviceArn")

    @property
    def task_definition_arn(self) -> str | None:
        return None if self.service is None else self.service.get("taskDefinition")

    @cached_property
    def live(self) -> EcsService | None:
        """The service as typed values; None when it does not exist."""
        return None if self.service is None else EcsService.from_api(self.service)

    @property
    def primary_deployment(self) -> Deployment | None:
        live = self.live
        return None if live is None else live.primary


@dataclass(frozen=True)
class ImageState:
    key: str
    target_digest: str | None  # the revision tag in the registry, if it exists
    source_digest: str | None  # what promote/local would tag, if it exists


@dataclass(frozen=True)
class InstanceState:
    """A container instance as the ecs.config roll-out sees it."""

    arn: str
    ec2_instance_id: str
    status: str  # ACTIVE, DRAINING, ...
    agent_connected: bool
    ecs_config: str | None  # the `ecsdeploy.ecs-config` attribute: the digest it has
    draining_by_us: bool = False  # DRAINING set by an interrupted roll-out of ecsdeploy


@dataclass(frozen=True)
class LiveState:
    services: dict[str, ServiceState]
    task_definitions: dict[str, dict[str, Any]]  # by ARN, describe shape
    families: dict[str, tuple[str, ...]]  # ACTIVE revisions, newest first
    images: dict[str, ImageState]
    # Task definition ARN -> ARNs of the services (any, in the config's clusters) using it.
    users: dict[str, frozenset[str]] = field(default_factory=dict)
    clusters: dict[str, str] = field(default_factory=dict)  # cluster name -> ARN
    # Clusters whose ecs.config is managed: cluster name -> its container instances.
    container_instances: dict[str, tuple[InstanceState, ...]] = field(default_factory=dict)
    # repository_credentials registries: registry key -> its secret (never the value).
    secrets: dict[str, SecretState] = field(default_factory=dict)
    # Services with `autoscaling:`: key -> their live scaling (Application Auto Scaling),
    # and the ALBRequestCountPerTarget resource label of their target group (None: none).
    scaling: dict[str, ScalingState] = field(default_factory=dict)
    resource_labels: dict[str, str | None] = field(default_factory=dict)
    # False when `families` holds each family's newest revision only (apply --no-wait,
    # which deregisters nothing, does not list them all).
    revisions_listed: bool = True
    # CODE_DEPLOY services: key -> their CodeDeploy deployment group (plan.codedeploy's
    # CodeDeployGroup), or why none was found (plan reports it when it needs the group).
    codedeploy: dict[str, Any] = field(default_factory=dict)


def _parallel(fn: Callable[[Any], T], items: Iterable[Any]) -> list[T]:
    return each(fn, items, workers=WORKERS)


def _batches(names: list[str]) -> list[list[str]]:
    return [names[i : i + DESCRIBE_BATCH] for i in range(0, len(names), DESCRIBE_BATCH)]


class LocalImages(Protocol):
    """What the planner needs from the local Docker engine (for `local:` images)."""

    def digest_in(self, local: str, repository_uri: str) -> str | None: ...


def clusters_hint(ecs: EcsAdapter, name: str, region_hint: str) -> str:
    """What to check when cluster `name` does not exist: the clusters there are in the
    region (ListClusters), the closest name, and the region (a wrong one looks alike)."""
    import difflib

    try:
        arns = ecs.cluster_arns()
    except EcsDeployError:  # the list is help, not the error
        arns = []
    names = sorted({arn.rsplit("/", 1)[-1] for arn in arns})
    accounts = sorted({arn.split(":")[4] for arn in arns if arn.count(":") >= 5})
    where = f"region {ecs.region}" + (f", account {accounts[0]}" if len(accounts) == 1 else "")
    if not names:
        return f"there is no cluster in {where}; {region_hint}"
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    hint = f"clusters in {where}: {', '.join(names[:10])}{more}"
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        hint += f"; did you mean {close[0]}?"
    return f"{hint}; {region_hint}"


def missing_clusters(config: Config, missing: Iterable[str], ecs: EcsAdapter) -> InputError:
    """deploy.yaml names clusters that do not exist: each problem at the cluster's
    `name:` in deploy.yaml, with `clusters_hint`."""
    problems: list[Problem] = []
    for name in missing:
        hint = clusters_hint(
            ecs, name, "wrong region? see --region, AWS_REGION or `region:` in deploy.yaml"
        )
        keys: list[str | None] = [k for k, c in config.clusters.items() if c.name == name]
        for key in keys or [None]:
            location = Location(config.positions.file) if config.positions else Location()
            if key is not None and config.positions is not None:
                location = config.positions.locate(("clusters", key, "name"))
            problems.append(
                Problem(f"cluster {name} does not exist in {ecs.region}", location, hint)
            )
    return InputError(problems)


def observe(
    config: Config,
    rendered: Mapping[str, RenderedService],
    images: Mapping[str, ImageRef],
    ecs: EcsAdapter,
    stores: Mapping[str, ImageStore],
    local: LocalImages | None = None,
    *,
    list_revisions: bool = True,
) -> LiveState:
    """Read everything the planner compares against; raises OperationError on AWS errors.

    Chains of calls, all at once: the clusters; each cluster's service list then
    its services (in batches of 10); each family's revisions then its newest
    task definition (or, without `list_revisions`, the newest alone, one call);
    each image's digests. The wall time is two round trips,
    plus one when a service runs a revision other than its family's newest.
    """
    services = {key: config.services[key] for key in rendered}
    cluster_names = sorted({config.clusters[s.cluster].name for s in services.values()})
    families = sorted({r.family for r in rendered.values()})
    used_images = sorted({k for r in rendered.values() for k in r.images})

    def family(name: str) -> list[str]:
        if not list_revisions:  # the newest one is enough when nothing is deregistered
            latest = ecs.latest_revision(name)
            return [latest] if latest else []
        revisions = ecs.active_revisions(name)
        if revisions:
            ecs.describe_task_definition(revisions[0])  # kept in the adapter's cache
        return revisions

    def cluster_services(cluster: str) -> list[dict[str, Any]]:
        # Every service in the cluster, so no revision in use anywhere is deregistered.
        names = sorted({arn.rsplit("/", 1)[-1] for arn in ecs.list_service_arns(cluster)})
        batches = _batches(names)
        if len(batches) <= 1:
            return [svc for b in batches for svc in ecs.describe_services_batch(cluster, b)]
        found = [batch_pool.submit(ecs.describe_services_batch, cluster, b) for b in batches]
        return [svc for job in found for svc in job.result()]

    with (
        ThreadPoolExecutor(max_workers=WORKERS) as pool,
        ThreadPoolExecutor(max_workers=WORKERS) as batch_pool,  # never waits on `pool`
    ):
        clusters_job = pool.submit(ecs.existing_clusters, cluster_names)
        listing = {c: pool.submit(cluster_services, c) for c in cluster_names}
        revision_jobs = {f: pool.submit(family, f) for f in families}
        digest_jobs = {
            (key, which): pool.submit(_digest, images[key], which, stores, local)
            for key in used_images
            for which in ("target", "source")
        }
        existing = clusters_job.result()
        missing = [c for c in cluster_names if c not in existing]
        if missing:
            raise missing_clusters(config, missing, ecs)
        described: dict[tuple[str, str], dict[str, Any]] = {}
        for cluster, job in listing.items():
            for svc in job.result():
                described[(cluster, svc["serviceName"])] = svc
        revisions = {f: job.result() for f, job in revision_jobs.items()}
        image_states = {
            key: ImageState(
                key=key,
                target_digest=digest_jobs[(key, "target")].result(),
                source_digest=digest_jobs[(key, "source")].result(),
            )
            for key in used_images
        }

    users: dict[str, set[str]] = {}
    for svc in described.values():
        for arn in EcsService.from_api(svc).task_definitions_in_use:
            users.setdefault(arn, set()).add(svc["serviceArn"])

    states = {
        key: ServiceState(
            key=key,
            cluster=config.clusters[s.cluster].name,
            name=s.name,
            service=described.get((config.clusters[s.cluster].name, s.name)),
        )
        for key, s in services.items()
    }

    wanted: set[str] = set()
    for key, state in states.items():
        if state.task_definition_arn:
            wanted.add(state.task_definition_arn)
        latest = revisions.get(rendered[key].family) or []
        if latest:
            wanted.add(latest[0])
    # The newest revisions are described already; what is left is usually nothing.
    _parallel(ecs.describe_task_definition, [a for a in sorted(wanted) if not ecs.described(a)])
    described_tds = {arn: ecs.describe_task_definition(arn) for arn in sorted(wanted)}

    return LiveState(
        services=states,
        task_definitions=described_tds,
        families={f: tuple(a) for f, a in revisions.items()},
        revisions_listed=list_revisions,
        images=image_states,
        users={arn: frozenset(s) for arn, s in users.items()},
        clusters={name: str(existing[name]["clusterArn"]) for name in cluster_names},
    )


def _digest(
    ref: ImageRef, which: str, stores: Mapping[str, ImageStore], local: LocalImages | None
) -> str | None:
    """The digest of an image's revision tag (`target`), or of what makes it (`source`)."""
    store = stores[ref.registry_key]
    try:
        if which == "target" or (ref.promote is None and ref.local is None):
            return store.digest(ref.repository, ref.tag)
        if ref.promote is not None:
            return store.digest(ref.repository, ref.promote)
        if local is None:
            raise OperationError("local images need the Docker engine")
        assert ref.local is not None
        return local.digest_in(ref.local, f"{ref.registry}/{ref.repository}")
    except EcsDeployError as exc:
        raise OperationError(
            f"image `{ref.key}` ({ref.uri}): {exc.message}", hint=exc.hint
        ) from None


DRAINING_ATTRIBUTE = "ecsdeploy.draining"  # set while the roll-out drains an instance


def instance_state(described: Mapping[str, Any]) -> InstanceState:
    """From a DescribeContainerInstances entry."""
    from ecsdeploy.ecsconfig import ATTRIBUTE

    attributes = {a.get("name"): a.get("value") for a in described.get("attributes") or []}
    return InstanceState(
        arn=str(described["containerInstanceArn"]),
        ec2_instance_id=str(described.get("ec2InstanceId") or ""),
        status=str(described.get("status") or ""),
        agent_connected=bool(described.get("agentConnected", True)),
        ecs_config=attributes.get(ATTRIBUTE),
        draining_by_us=DRAINING_ATTRIBUTE in attributes,
    )


def observe_container_instances(
    instances: InstancesAdapter, cluster_names: Iterable[str]
) -> dict[str, tuple[InstanceState, ...]]:
    """The container instances of the clusters whose ecs.config is managed (read-only)."""
    names = sorted(set(cluster_names))
    found = _parallel(instances.container_instances, names)
    return {
        name: tuple(
            instance_state(ci)
            for ci in sorted(described, key=lambda c: str(c.get("ec2InstanceId")))
            if ci.get("status") in ("ACTIVE", "DRAINING")
        )
        for name, described in zip(names, found, strict=True)
    }


def observe_secrets(store: SecretsStore, names: Mapping[str, str]) -> dict[str, SecretState]:
    """registry key -> its secret's state (DescribeSecret only)."""
    keys = sorted(names)
    return dict(zip(keys, _parallel(lambda k: store.describe(names[k]), keys), strict=True))


def observe_services(ecs: EcsAdapter, wanted: Mapping[str, tuple[str, str]]) -> LiveState:
    """The services a saved plan names (key -> (cluster, name)), and nothing else.

    What applying a plan file reads before it acts: enough to refuse a plan whose
    services moved on. DescribeServices in batches of 10 per cluster.
    """
    by_cluster: dict[str, list[str]] = {}
    for cluster, name in wanted.values():
        by_cluster.setdefault(cluster, [])
        if name not in by_cluster[cluster]:
            by_cluster[cluster].append(name)
    existing = ecs.existing_clusters(by_cluster)
    missing = sorted(c for c in by_cluster if c not in existing)
    if missing:
        raise OperationError(
            f"cluster {', '.join(missing)} does not exist",
            hint="the plan was made against clusters that are gone, or --region differs",
        )
    jobs = [(c, batch) for c, names in sorted(by_cluster.items()) for batch in _batches(names)]
    found = _parallel(lambda job: ecs.describe_services_batch(*job), jobs)
    described = {
        (c, svc["serviceName"]): svc
        for (c, _), svcs in zip(jobs, found, strict=True)
        for svc in svcs
    }
    return LiveState(
        services={
            key: ServiceState(key=key, cluster=c, name=n, service=described.get((c, n)))
            for key, (c, n) in wanted.items()
        },
        task_definitions={},
        families={},
        images={},
        clusters={name: str(existing[name]["clusterArn"]) for name in by_cluster},
        revisions_listed=False,
    )


def observe_scaling(
    config: Config,
    states: Mapping[str, ServiceState],
    scaling: ScalingAdapter,
    elb: ElbAdapter,
) -> tuple[dict[str, ScalingState], dict[str, str | None]]:
    """The live scaling of the services with `autoscaling:` (services without it are
    not looked at: their scaling is left alone), and for those tracking alb_requests
    their target group's resource label. DescribeScalableTargets once for all; the
    policies and scheduled actions of those that have a target, in parallel."""
    from ecsdeploy.scaling import NO_SCALING, resource_id, resource_label

    keys = sorted(k for k in states if config.services[k].autoscaling is not None)
    if not keys:
        return {}, {}
    ids = {k: resource_id(states[k].cluster, states[k].name) for k in keys if states[k].exists}
    targets = scaling.targets(list(ids.values())) if ids else {}
    with_target = [k for k in keys if ids.get(k) in targets]
    found = _parallel(lambda k: scaling.state(ids[k], targets[ids[k]]), with_target)
    live = dict.fromkeys(keys, NO_SCALING) | dict(zip(with_target, found, strict=True))

    def label(key: str) -> str | None:
        # ALBRequestCountPerTarget counts the first load balancer entry's target group.
        lbs = config.services[key].load_balancers
        lb = lbs[0] if lbs else None
        policies = config.services[key].autoscaling
        if lb is None or policies is None:
            return None
        if not any(p.metric == "alb_requests" for p in policies.target_tracking):
            return None
        group = elb.target_group(lb.target_group)
        balancers = (group or {}).get("LoadBalancerArns") or []
        if group is None or not balancers:
            return None
        return resource_label(str(balancers[0]), str(group["TargetGroupArn"]))

    labels = dict(zip(keys, _parallel(label, keys), strict=True))
    return live, labels


def observe_codedeploy(
    config: Config, states: Mapping[str, ServiceState], codedeploy: CodeDeployAdapter
) -> dict[str, Any]:
    """Each CODE_DEPLOY service's deployment group (key -> CodeDeployGroup), or why it
    has none (key -> the reason, a string): the group deploy.yaml names in
    `deployment.codedeploy`, else the one whose ECS services name the service, among the
    groups of the named application or of every ECS application (ListApplications,
    BatchGetApplications, ListDeploymentGroups, BatchGetDeploymentGroups; each
    application read once). With the group, the deployment still going in it, if any."""
    from ecsdeploy.plan.codedeploy import CodeDeployGroup, code_deploy_controlled

    keys = [
        k
        for k, st in states.items()
        if st.exists and code_deploy_controlled(config.services[k], st.service)
    ]
    found: dict[str, Any] = {}
    if not keys:
        return found
    groups_of: dict[str, list[dict[str, Any]] | None] = {}  # application -> its groups
    every: list[str] | None = None

    def groups(application: str, only: str | None) -> list[dict[str, Any]] | None:
        if only is not None:
            return codedeploy.groups(application, [only])
        if application not in groups_of:
            names = codedeploy.group_names(application)
            groups_of[application] = (
                None if names is None else codedeploy.groups(application, names)
            )
        return groups_of[application]

    for key in keys:
        service, state = config.services[key], states[key]
        ref = service.deployment.codedeploy
        wanted = (state.cluster, state.name)
        where = f"ECS service {state.cluster}:{state.name}"
        try:
            if ref is not None:
                applications = [ref.application]
            else:
                if every is None:
                    every = codedeploy.ecs_applications(codedeploy.application_names())
                applications = every
            matches: list[dict[str, Any]] = []
            missing = None
            for application in applications:
                listed = groups(application, ref.deployment_group if ref else None)
                if listed is None:
                    missing = f"CodeDeploy application {application} does not exist"
                    continue
                if ref is not None and ref.deployment_group and not listed:
                    missing = (
                        f"deployment group {ref.deployment_group} of CodeDeploy application "
                        f"{application} does not exist"
                    )
                    continue
                for info in listed:
                    group = CodeDeployGroup.from_api(info)
                    if wanted in group.ecs_services:
                        matches.append(info)
                    elif ref is not None and ref.deployment_group:
                        named = ", ".join(f"{c}:{s}" for c, s in group.ecs_services) or "none"
                        missing = (
                            f"deployment group {group.label} deploys ECS service {named}, "
                            f"not {state.cluster}:{state.name}"
                        )
            if missing and not matches:
                found[key] = missing
            elif not matches:
                looked = (
                    f"application {applications[0]}"
                    if ref is not None
                    else f"the ECS applications ({', '.join(applications) or 'there are none'})"
                )
                found[key] = f"no CodeDeploy deployment group deploys {where} (looked in {looked})"
            elif len(matches) > 1:
                labels = ", ".join(CodeDeployGroup.from_api(m).label for m in matches)
                found[key] = f"{len(matches)} CodeDeploy deployment groups deploy {where}: {labels}"
            else:
                group = CodeDeployGroup.from_api(matches[0])
                active = codedeploy.active_deployments(group.application, group.name)
                found[key] = CodeDeployGroup.from_api(matches[0], active[0] if active else None)
        except EcsDeployError as exc:
            found[key] = f"cannot read CodeDeploy's deployment groups: {exc.message}"
    return found
