"""What the executor needs beside the plan: AWS clients, registry stores, the local
Docker engine, and the credentials the plan names (from the environment, never
from the plan file)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ecsdeploy.adapters.aws import AwsClients, AwsSettings
from ecsdeploy.adapters.credentials import Credentials, remember_passwords
from ecsdeploy.adapters.images import ImageStore
from ecsdeploy.ecsconfig import EcsConfig
from ecsdeploy.plan.model import EcsConfigStep, ImageStep, Plan, SecretStep
from ecsdeploy.plan.observe import LocalImages
from ecsdeploy.resolve import Resolver


@dataclass
class Runtime:
    clients: AwsClients
    stores: dict[str, ImageStore] = field(default_factory=dict)  # by registry key
    local: LocalImages | None = None
    credentials: dict[str, Credentials] = field(default_factory=dict)  # by registry key
    ecs_configs: dict[str, EcsConfig] = field(default_factory=dict)  # by cluster key
    # ECSDEPLOY_RESOLVE, from apply's environment: never part of the plan.
    resolver: Resolver = field(default_factory=Resolver)


def from_plan(
    plan: Plan,
    settings: AwsSettings,
    env: Mapping[str, str] | None = None,
    clients: AwsClients | None = None,
) -> Runtime:
    """The runtime of a saved plan: everything from the plan and the environment.

    Credentials come from the variables the plan's registries name (or the Docker
    config), exactly as `plan` found them; the ecs.config is rebuilt from them, and
    the executor refuses a roll-out whose digest is not the planned one.
    """
    from ecsdeploy import ecsconfig
    from ecsdeploy.adapters.credentials import resolve_for_ecs
    from ecsdeploy.adapters.images import store_for

    env = os.environ if env is None else env
    resolver = Resolver.from_env(env)
    region = settings.region or plan.region
    clients = clients or AwsClients(AwsSettings(region, settings.profile, settings.endpoint_url))
    steps = [s for sp in plan.services for s in sp.steps]
    images = [s for s in steps if isinstance(s, ImageStep)]
    rollouts = [s for s in steps if isinstance(s, EcsConfigStep)]
    secrets = [s for s in steps if isinstance(s, SecretStep)]
    remember_passwords(plan.registries.values(), env)
    stores = {
        key: store_for(plan.registries[key], clients, env, resolver)
        for key in sorted({s.registry for s in images})
    }
    local: LocalImages | None = None
    if any(s.method == "push" for s in images):
        from ecsdeploy.adapters.docker_engine import DockerEngine

        local = DockerEngine(resolver)
    needed = sorted({k for r in rollouts for k in r.registries} | {s.registry for s in secrets})
    credentials = {
        key: resolve_for_ecs(
            plan.registries[key],
            env,
            hint="set them in apply's environment as they were when the plan was made",
        )
        for key in needed
    }
    ecs_configs = {
        r.cluster_key: ecsconfig.build_from(
            r.cluster_key,
            r.cluster,
            [plan.registries[k] for k in r.registries],
            credentials,
            r.settings,
        )
        for r in rollouts
    }
    return Runtime(
        clients=clients,
        stores=stores,
        local=local,
        credentials=credentials,
        ecs_configs=ecs_configs,
        resolver=resolver,
    )
