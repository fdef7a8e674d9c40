"""Making a plan: render, check credentials, observe live state, compute the steps."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ecsdeploy.adapters.aws import AwsClients, AwsSettings
from ecsdeploy.adapters.credentials import check_variables
from ecsdeploy.adapters.ecs import EcsAdapter
from ecsdeploy.adapters.images import ImageStore, store_for
from ecsdeploy.config.model import Config
from ecsdeploy.errors import EcsDeployError
from ecsdeploy.render import ImageRef, RenderedService, Renderer

from .model import Plan
from .observe import LiveState, LocalImages, observe
from .planner import make_plan


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


def prepare(
    config: Config,
    *,
    services: list[str] | None = None,
    revision: str | None = None,
    settings: AwsSettings,
    env: Mapping[str, str] | None = None,
) -> Context:
    """Render and check inputs first (exit 3 before any AWS call), then make the adapters."""
    from ecsdeploy.secrets import redact

    env = os.environ if env is None else env
    renderer = Renderer(config, revision=revision, region=settings.region)
    rendered = renderer.render_all(services)
    images = renderer.images()
    check_variables(config, env)
    for registry in config.registries.values():
        auth = registry.auth
        if auth is not None and auth.password_env:
            redact.add(env.get(auth.password_env), username=env.get(auth.username_env or ""))
    region = settings.region or config.region
    clients = AwsClients(AwsSettings(region, settings.profile, settings.endpoint_url))
    used = {images[k].registry_key for r in rendered.values() for k in r.images}
    stores = {key: store_for(config.registries[key], clients, env) for key in sorted(used)}
    local: LocalImages | None = None
    if any(images[k].local for r in rendered.values() for k in r.images):
        from ecsdeploy.adapters.docker_engine import DockerEngine

        local = DockerEngine()
    return Context(
        config=config,
        renderer=renderer,
        rendered=rendered,
        images=images,
        clients=clients,
        ecs=EcsAdapter(clients),
        stores=stores,
        local=local,
    )


def observe_live(ctx: Context) -> LiveState:
    return observe(ctx.config, ctx.rendered, ctx.images, ctx.ecs, ctx.stores, ctx.local)


def build_plan(ctx: Context, live: LiveState | None = None) -> Plan:
    live = live if live is not None else observe_live(ctx)
    try:
        revision: str | None = ctx.renderer.git.revision()
    except EcsDeployError:  # a config that never uses git has no revision to record
        revision = None
    return make_plan(
        ctx.config,
        ctx.rendered,
        ctx.images,
        live,
        revision=revision,
        region=ctx.clients.settings.region,
    )
