"""ECS agent auth for private registries: the `/etc/ecs/ecs.config` lines a cluster needs.

For every registry with `ecs_config: true` (and auth mode `ecs_config`), each cluster
that runs one of its images gets:

    ECS_ENGINE_AUTH_TYPE=dockercfg
    ECS_ENGINE_AUTH_DATA={"tutum.co":{"auth":"<base64 of user:password>","email":"ops@example.com"}}

or, with `auth_type: docker`, `{"tutum.co":{"username":…,"password":…,"email":…}}`.
Several registries share one JSON object on one line; the cluster's extra agent
settings follow; every other line of an instance's file is kept. Pure: the
credentials are handed in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ecsdeploy.adapters.credentials import Credentials
from ecsdeploy.config.model import Config, Registry
from ecsdeploy.errors import InputError, Problem
from ecsdeploy.secrets import MASK

AUTH_TYPE = "ECS_ENGINE_AUTH_TYPE"
AUTH_DATA = "ECS_ENGINE_AUTH_DATA"
ATTRIBUTE = "ecsdeploy.ecs-config"  # container-instance attribute: hash of what it has


@dataclass(frozen=True)
class EcsConfig:
    """The managed settings of one cluster, in file order."""

    cluster_key: str
    cluster: str  # ECS name
    settings: tuple[tuple[str, str], ...]
    secret_keys: frozenset[str]  # settings whose value holds a credential
    registries: tuple[str, ...]  # keys of the registries it carries

    @property
    def digest(self) -> str:
        """What an instance records once it has these settings (no secret inside)."""
        text = "\n".join(f"{k}={v}" for k, v in self.settings)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def lines(self, *, show_secrets: bool = False) -> list[str]:
        return [
            f"{k}={v if show_secrets or k not in self.secret_keys else _masked(k, v)}"
            for k, v in self.settings
        ]


def _masked(key: str, value: str) -> str:
    if key != AUTH_DATA:
        return MASK
    data = json.loads(value)
    for entry in data.values():
        for field in ("auth", "password"):
            if field in entry:
                entry[field] = MASK
    return json.dumps(data, separators=(",", ":"))


def registries_by_cluster(
    config: Config, images_by_service: Mapping[str, tuple[str, ...]]
) -> dict[str, list[str]]:
    """Cluster key -> keys of the ecs_config registries whose images its services run."""
    found: dict[str, list[str]] = {}
    for key, service in config.services.items():
        for image in images_by_service.get(key, ()):
            registry = config.registries[config.images[image].registry]
            auth_mode = registry.auth.mode if registry.auth else "ecs_config"
            if registry.ecs_config and auth_mode == "ecs_config":
                keys = found.setdefault(service.cluster, [])
                if registry.key not in keys:
                    keys.append(registry.key)
    return found


def _auth_type(registry: Registry) -> str:
    return registry.auth.auth_type if registry.auth is not None else "dockercfg"


def build(
    config: Config,
    cluster_key: str,
    registry_keys: list[str],
    credentials: Mapping[str, Credentials],
) -> EcsConfig:
    cluster = config.clusters[cluster_key]
    return build_from(
        cluster_key,
        cluster.name,
        [config.registries[k] for k in registry_keys],
        credentials,
        sorted(cluster.ecs_config.settings.items()),
    )


def build_from(
    cluster_key: str,
    cluster_name: str,
    registries: Sequence[Registry],
    credentials: Mapping[str, Credentials],
    extra_settings: Sequence[tuple[str, str]] = (),
) -> EcsConfig:
    """The managed ecs.config of a cluster: its registries' auth, then its other settings."""
    settings: list[tuple[str, str]] = []
    secret: set[str] = set()
    if registries:
        types = {r.key: _auth_type(r) for r in registries}
        if len(set(types.values())) > 1:
            listed = ", ".join(f"{k} ({t})" for k, t in sorted(types.items()))
            raise InputError(
                Problem(
                    f"cluster `{cluster_key}` needs registries of two auth types: {listed}",
                    hint="ecs.config holds one ECS_ENGINE_AUTH_TYPE: give them the same auth_type",
                )
            )
        auth_type = next(iter(types.values()))
        data: dict[str, dict[str, str]] = {}
        for registry in sorted(registries, key=lambda r: r.url):
            creds = credentials[registry.key]
            email = creds.email or (registry.auth.email if registry.auth else None)
            if auth_type == "docker":
                entry = {"username": creds.username, "password": creds.password}
            else:
                entry = {"auth": creds.basic}
            if email:
                entry["email"] = email
            data[registry.url] = entry
        settings += [(AUTH_TYPE, auth_type), (AUTH_DATA, json.dumps(data, separators=(",", ":")))]
        secret.add(AUTH_DATA)
    settings += list(extra_settings)
    return EcsConfig(
        cluster_key=cluster_key,
        cluster=cluster_name,
        settings=tuple(settings),
        secret_keys=frozenset(secret),
        registries=tuple(r.key for r in registries),
    )


def merge(existing: str, managed: EcsConfig) -> str:
    """An instance's ecs.config with the managed settings replaced or added, the rest kept."""
    keys = {k for k, _ in managed.settings} | {AUTH_TYPE, AUTH_DATA}
    kept = [
        line
        for line in existing.splitlines()
        if line.split("=", 1)[0].strip() not in keys or line.lstrip().startswith("#")
    ]
    return "\n".join([*kept, *(f"{k}={v}" for k, v in managed.settings)]) + "\n"
