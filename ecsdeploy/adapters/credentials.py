"""Registry credentials: from named environment variables or the Docker config, never files of ours.

Values live only in memory; `Credentials` never shows the password in its repr.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ecsdeploy.config.model import Config, Registry
from ecsdeploy.errors import InputError, OperationError, Problem


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    email: str | None = None

    @property
    def basic(self) -> str:
        """base64 of `user:password`, as HTTP Basic and the dockercfg format want it."""
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def missing_variables(config: Config, env: Mapping[str, str]) -> list[Problem]:
    """Every `*_env` name deploy.yaml uses that is not set: an input error before any call."""
    problems: list[Problem] = []
    for key, registry in config.registries.items():
        auth = registry.auth
        if auth is None:
            continue
        for field_name, var in (
            ("username_env", auth.username_env),
            ("password_env", auth.password_env),
        ):
            if var is not None and not env.get(var):
                where = (
                    config.positions.locate(("registries", key, "auth", field_name))
                    if config.positions is not None
                    else None
                )
                problems.append(
                    Problem(
                        f"environment variable {var} is not set (registry `{key}` needs it)",
                        where if where is not None else Problem("").location,
                        f"export {var}=… before running, or set it as a CI secret",
                    )
                )
    return problems


def check_variables(config: Config, env: Mapping[str, str]) -> None:
    problems = missing_variables(config, env)
    if problems:
        raise InputError(problems)


def from_docker_config(registry_url: str) -> Credentials | None:
    """Credentials the Docker CLI would use: config.json `auths`, credsStore, credHelpers."""
    try:
        from docker import auth as docker_auth
    except ImportError:  # pragma: no cover - docker is a dependency
        return None
    try:
        cfg = docker_auth.load_config()
        found = docker_auth.resolve_authconfig(cfg, registry_url)
    except Exception as exc:  # a broken credential helper must say so, not crash
        raise OperationError(
            f"cannot read Docker credentials for {registry_url}: {exc}",
            hint="check ~/.docker/config.json and its credential helpers",
        ) from None
    if not found:
        return None
    username = found.get("username") or found.get("Username")
    password = found.get("password") or found.get("Password") or found.get("IdentityToken")
    if not username or not password:
        return None
    return Credentials(str(username), str(password), found.get("email"))


def resolve(registry: Registry, env: Mapping[str, str]) -> Credentials | None:
    """The credentials for a docker-type registry, or None for anonymous access."""
    auth = registry.auth
    if auth is not None and auth.from_env:
        assert auth.username_env is not None and auth.password_env is not None
        username = env.get(auth.username_env)
        password = env.get(auth.password_env)
        if not username or not password:
            missing = auth.username_env if not username else auth.password_env
            raise InputError(
                Problem(
                    f"environment variable {missing} is not set "
                    f"(registry `{registry.key}` needs it)",
                    hint=f"export {missing}=… before running",
                )
            )
        return Credentials(username, password, auth.email)
    creds = from_docker_config(registry.url)
    if creds is not None and auth is not None and auth.email and not creds.email:
        return Credentials(creds.username, creds.password, auth.email)
    return creds


def remember_passwords(registries: Iterable[Registry], env: Mapping[str, str]) -> None:
    """Tell the redactor every registry password the environment holds, before any output."""
    from ecsdeploy.secrets import redact

    for registry in registries:
        auth = registry.auth
        if auth is not None and auth.password_env:
            redact.add(env.get(auth.password_env), username=env.get(auth.username_env or ""))


def resolve_for_ecs(registry: Registry, env: Mapping[str, str], *, hint: str) -> Credentials:
    """The credentials ECS needs for `registry` (an ecs.config or a registry secret), each
    form of the password known to the redactor; InputError when there are none."""
    import json

    from ecsdeploy.secrets import redact

    found = resolve(registry, env)
    if found is None:
        auth = registry.auth
        where = (
            f"{auth.username_env} and {auth.password_env}"
            if auth is not None and auth.from_env
            else "the Docker config"
        )
        raise InputError(
            Problem(
                f"registry `{registry.key}` needs credentials for ECS and none were found "
                f"in {where}",
                hint=hint,
            )
        )
    redact.add(found.password, username=found.username)
    escaped = json.dumps(found.password)[1:-1]  # as it sits inside JSON
    if escaped != found.password:
        redact.add(escaped)
    return found
