"""The working context of an operation: the config, its renders, the AWS clients and
adapters, registry credentials; and the observation of live state against it.

`prepare` renders and checks every input before any AWS call (exit 3 first).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ecsdeploy.adapters.aws import AwsClients, AwsSettings
from ecsdeploy.adapters.credentials import Credentials, check_variables, remember_passwords
from ecsdeploy.adapters.ecs import EcsAdapter
from ecsdeploy.adapters.images import ImageStore, store_for
from ecsdeploy.config.model import Config
from ecsdeploy.ecsconfig import EcsConfig
from ecsdeploy.errors import InputError, Location
from ecsdeploy.plan.observe import LiveState, LocalImages, observe
from ecsdeploy.render import ImageRef, RenderedService, Renderer
from ecsdeploy.resolve import Resolver


@dataclass
class Context:
    """Everything a command needs to plan or apply, made once."""

    config: Config
    renderer: Renderer
    rendered: dict[str, RenderedService]
    images: dict[str, ImageRef]
    clients: AwsClients
    ecs: EcsAdapter
    stores: dict[str, ImageStore]
    local: LocalImages | None
    # Registry key -> credentials, for registries whose auth ECS needs (ecs.config or
    # repository_credentials); resolved once, every value known to `redact`.
    credentials: dict[str, Credentials] = field(default_factory=dict)
    ecs_configs: dict[str, EcsConfig] = field(default_factory=dict)  # by cluster key
    secret_names: dict[str, str] = field(default_factory=dict)  # registry key -> secret
    # ECSDEPLOY_RESOLVE: other addresses for registry and check hosts (never in a plan).
    resolver: Resolver = field(default_factory=Resolver)


def prepare(
    config: Config,
    *,
    services: list[str] | None = None,
    revision: str | None = None,
    settings: AwsSettings,
    env: Mapping[str, str] | None = None,
) -> Context:
    """Render and check inputs first (exit 3 before any AWS call), then make the adapters."""

    env = os.environ if env is None else env
    renderer = Renderer(config, revision=revision, region=settings.region)
    rendered = renderer.render_all(services)
    images = renderer.images()
    check_variables(config, env)
    resolver = Resolver.from_env(env)
    remember_passwords(config.registries.values(), env)
    region = settings.region or config.region
    clients = AwsClients(AwsSettings(region, settings.profile, settings.endpoint_url))
    used = {images[k].registry_key for r in rendered.values() for k in r.images}
    stores = {
        key: store_for(config.registries[key], clients, env, resolver) for key in sorted(used)
    }
    local: LocalImages | None = None
    if any(images[k].local for r in rendered.values() for k in r.images):
        from ecsdeploy.adapters.docker_engine import DockerEngine

        local = DockerEngine(resolver)
    credentials, ecs_configs, secret_names = _registry_auth(config, renderer, rendered, env)
    return Context(
        config=config,
        renderer=renderer,
        rendered=rendered,
        images=images,
        clients=clients,
        ecs=EcsAdapter(clients),
        stores=stores,
        local=local,
        credentials=credentials,
        ecs_configs=ecs_configs,
        secret_names=secret_names,
        resolver=resolver,
    )


def _registry_auth(
    config: Config,
    renderer: Renderer,
    rendered: Mapping[str, RenderedService],
    env: Mapping[str, str],
) -> tuple[dict[str, Credentials], dict[str, EcsConfig], dict[str, str]]:
    """Credentials ECS needs, the managed ecs.config of the planned services' clusters,
    and the secrets of repository_credentials registries; input errors before any call."""
    from ecsdeploy import ecsconfig
    from ecsdeploy.adapters.credentials import resolve_for_ecs
    from ecsdeploy.adapters.secrets_store import secret_name

    clusters = {config.services[k].cluster for k in rendered}
    # Every service of those clusters counts, selected or not: `--service web` must not
    # roll out an ecs.config without the registry another service of the cluster needs.
    everything = dict(rendered)
    others = [k for k, s in config.services.items() if s.cluster in clusters and k not in rendered]
    if others:
        everything.update(renderer.render_all(others))
    by_cluster = ecsconfig.registries_by_cluster(
        config, {k: r.images for k, r in everything.items()}
    )
    repo_creds = sorted(
        {
            key
            for r in rendered.values()
            for key, registry in config.registries.items()
            if registry.auth is not None
            and registry.auth.mode == "repository_credentials"
            and any(
                str(c.get("image") or "").startswith(registry.url + "/")
                for c in r.task_definition.get("containerDefinitions") or []
            )
        }
    )
    needed = sorted({k for keys in by_cluster.values() for k in keys} | set(repo_creds))
    credentials = {
        key: resolve_for_ecs(
            config.registries[key],
            env,
            hint="set auth.username_env/password_env, or `docker login` to it",
        )
        for key in needed
    }
    ecs_configs: dict[str, EcsConfig] = {}
    for key in sorted(clusters):
        registries = by_cluster.get(key, [])
        if not registries and not config.clusters[key].ecs_config.settings:
            continue
        ecs_configs[key] = ecsconfig.build(config, key, registries, credentials)
    return (
        credentials,
        ecs_configs,
        {k: secret_name(config.registries[k]) for k in repo_creds},
    )


def observe_live(ctx: Context, *, list_revisions: bool = True) -> LiveState:
    """What the plan is made against; `list_revisions=False` when nothing will be
    deregistered (the family's newest revision is then all that is read)."""
    live = observe(
        ctx.config,
        ctx.rendered,
        ctx.images,
        ctx.ecs,
        ctx.stores,
        ctx.local,
        list_revisions=list_revisions,
    )
    if any(ctx.config.services[k].autoscaling is not None for k in ctx.rendered):
        from ecsdeploy.adapters.elb import ElbAdapter
        from ecsdeploy.adapters.scaling import ScalingAdapter
        from ecsdeploy.plan.observe import observe_scaling

        scaling, labels = observe_scaling(
            ctx.config, live.services, ScalingAdapter(ctx.clients), ElbAdapter(ctx.clients)
        )
        live = replace(live, scaling=scaling, resource_labels=labels)
    live = _with_codedeploy(ctx, live)
    if not ctx.ecs_configs and not ctx.secret_names:
        return live
    from ecsdeploy.adapters.instances import InstancesAdapter
    from ecsdeploy.adapters.secrets_store import SecretsStore
    from ecsdeploy.plan.observe import observe_container_instances, observe_secrets

    return replace(
        live,
        container_instances=observe_container_instances(
            InstancesAdapter(ctx.clients), [m.cluster for m in ctx.ecs_configs.values()]
        ),
        secrets=observe_secrets(SecretsStore(ctx.clients), ctx.secret_names),
    )


def _with_codedeploy(ctx: Context, live: LiveState) -> LiveState:
    """The deployment groups of the CODE_DEPLOY services (none: nothing is read)."""
    from ecsdeploy.plan.codedeploy import code_deploy_controlled

    if not any(
        st.exists and code_deploy_controlled(ctx.config.services[k], st.service)
        for k, st in live.services.items()
    ):
        return live
    from ecsdeploy.adapters.codedeploy import CodeDeployAdapter
    from ecsdeploy.plan.observe import observe_codedeploy

    found = observe_codedeploy(ctx.config, live.services, CodeDeployAdapter(ctx.clients))
    return replace(live, codedeploy=found)


NEWEST_TAGS = 5  # tags named when a promote source is missing


def missing_image_sources(
    ctx: Context,
    live: LiveState,
    keys: Iterable[str],
    lookup_failed: Callable[[ImageRef], bool] | None = None,
) -> InputError | None:
    """The `promote:` or `local:` sources of the services' images that do not exist:
    deploy.yaml names something that is not there (a typo such as `lastest`), located
    at that line, with the newest tags the repository has. `lookup_failed` tells an
    image whose look-up failed (an unreachable registry: not this error)."""
    from ecsdeploy.errors import EcsDeployError, Problem

    problems: list[Problem] = []
    used = sorted({k for s in keys for k in ctx.rendered[s].images})
    for key in used:
        ref = ctx.images[key]
        state = live.images.get(key)
        if state is None or state.source_digest is not None or ref.source is None:
            continue
        if lookup_failed is not None and lookup_failed(ref):
            continue
        field_name = "promote" if ref.promote is not None else "local"
        where = (
            ctx.config.positions.locate(("images", key, field_name))
            if ctx.config.positions is not None
            else Location(str(ctx.config.path), path=f"images.{key}.{field_name}")
        )
        if ref.promote is not None:
            repository = f"{ref.registry}/{ref.repository}"
            try:
                tags = ctx.stores[ref.registry_key].tags(ref.repository, NEWEST_TAGS + 1)
            except EcsDeployError:
                tags = []  # the list is help, not the error
            tags = [t for t in tags if t != ref.tag][:NEWEST_TAGS]
            hint = (
                f"tags in {repository}: {', '.join(tags)}"
                if tags
                else f"{repository} has no other tag"
            )
            problems.append(Problem(f"the promote source {ref.source} does not exist", where, hint))
        else:
            problems.append(
                Problem(
                    f"local image {ref.local} is not in the Docker engine",
                    where,
                    f"build it first (docker build -t {ref.local} .), or fix `local:`",
                )
            )
    return InputError(problems) if problems else None


def live_service(ctx: Context, key: str) -> dict[str, Any] | None:
    """DescribeServices' entry of a service of deploy.yaml, None when it does not exist;
    a cluster that does not exist is deploy.yaml's error, located (InputError)."""
    from ecsdeploy.adapters.aws import error_code
    from ecsdeploy.errors import OperationError
    from ecsdeploy.plan.observe import missing_clusters

    service = ctx.config.services[key]
    cluster = ctx.config.clusters[service.cluster].name
    try:
        found = ctx.ecs.describe_services_batch(cluster, [service.name])
    except OperationError as exc:
        if error_code(exc) == "ClusterNotFoundException":
            raise missing_clusters(ctx.config, [cluster], ctx.ecs) from None
        raise
    return found[0] if found else None


def git_dirty(ctx: Context) -> bool:
    """Whether the Git tree the config lives in has uncommitted changes (GitSource
    caches the answer; no repository, or --revision given: False)."""
    try:
        return bool(ctx.renderer.git.get("dirty"))
    except Exception:  # no repository: nothing to be dirty
        return False


def secrets_current(ctx: Context, live: LiveState) -> dict[str, bool]:
    """Registry key -> whether its secret already holds these credentials (by the hash tag)."""
    from ecsdeploy.adapters.secrets_store import hash_matches

    return {
        key: state.arn is not None and hash_matches(state.hash_tag, ctx.credentials[key])
        for key, state in live.secrets.items()
    }
