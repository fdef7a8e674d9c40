"""ECSDEPLOY_RESOLVE: send the network calls ecsdeploy makes to a host somewhere else.

`ECSDEPLOY_RESOLVE=registry.example.com=http://127.0.0.1:4566,shop.example.com=http://127.0.0.1:4566`
makes the registry client, image pushes through the Docker engine and the HTTP
checks talk to the URL instead of the host (scheme, host and port replaced; path and
query kept), as `curl --resolve` does. What is deployed does not change: image URIs
in task definitions, plans and ecs.config keep the names deploy.yaml gives. It is
runtime environment only, never written to a plan file.

A HOST with a port (`registry.example.com:5000`) matches that port only; one without
matches the host on any port.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from ecsdeploy.errors import InputError, Problem

VARIABLE = "ECSDEPLOY_RESOLVE"

_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$")
_EXAMPLE = "registry.example.com=http://127.0.0.1:4566,shop.example.com=http://127.0.0.1:4566"


@dataclass(frozen=True)
class Target:
    scheme: str  # http or https
    netloc: str  # host[:port]

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}"


@dataclass(frozen=True)
class Resolver:
    """HOST (lower case, with or without a port) -> where calls to it go instead."""

    routes: Mapping[str, Target] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Resolver:
        """The mapping in `env[ECSDEPLOY_RESOLVE]`; InputError (exit 3) naming a bad pair."""
        return cls.parse(env.get(VARIABLE, ""))

    @classmethod
    def parse(cls, text: str) -> Resolver:
        routes: dict[str, Target] = {}
        problems: list[Problem] = []
        for raw in text.split(","):
            pair = raw.strip()
            if not pair:
                continue
            why = None
            host, sep, url = pair.partition("=")
            host, url = host.strip().lower(), url.strip()
            shown = _shown(url)
            parts = urlsplit(url) if sep else None
            if not sep:
                why = "it is not HOST=URL"
            elif not _HOST.match(host):
                why = f"`{host}` is not a host name (a port is allowed, no scheme or path)"
            elif parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
                why = f"`{shown}` is not an http:// or https:// URL"
            elif parts.path not in ("", "/") or parts.query or parts.fragment:
                why = f"`{shown}` has a path or query: give scheme, host and port only"
            elif parts.username is not None or parts.password is not None:
                why = f"`{shown}` holds credentials: the registry's auth settings give them"
            elif host in routes:
                why = f"`{host}` is mapped twice"
            if why is not None or parts is None:
                problems.append(
                    Problem(
                        f"{VARIABLE}: bad pair `{_shown(pair)}`: {why}",
                        hint=f"comma-separated HOST=URL pairs, e.g. {VARIABLE}={_EXAMPLE}",
                    )
                )
                continue
            try:
                parts.port  # noqa: B018 (raises on a port out of range)
            except ValueError:
                problems.append(
                    Problem(f"{VARIABLE}: bad pair `{_shown(pair)}`: `{shown}` has a bad port")
                )
                continue
            routes[host] = Target(parts.scheme, parts.netloc.lower())
        if problems:
            raise InputError(problems)
        return cls(routes)

    def __bool__(self) -> bool:
        return bool(self.routes)

    def target(self, netloc: str) -> Target | None:
        """Where calls to `netloc` (host[:port]) go, or None when it is not mapped."""
        netloc = netloc.lower()
        found = self.routes.get(netloc)
        if found is None:
            host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
            if host != netloc:
                found = self.routes.get(host)
        return found

    def url(self, url: str) -> tuple[str, str | None]:
        """`url` as sent, and the Host header to send with it (None: the URL's own)."""
        parts = urlsplit(url)
        target = self.target(parts.netloc)
        if target is None:
            return url, None
        mapped = urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))
        return mapped, parts.netloc

    def registry_base(self, host: str) -> str | None:
        """The base URL (`http://127.0.0.1:4566`) of a registry `host`, if it is mapped."""
        target = self.target(host)
        return None if target is None else target.url

    def push_host(self, host: str) -> str | None:
        """The registry address (`127.0.0.1:4566`) the Docker engine pushes to for `host`."""
        target = self.target(host)
        return None if target is None else target.netloc

    def notes(self, registries: Iterable[str] = (), checks: Iterable[str] = ()) -> list[str]:
        """One line per mapped host these registries and check URLs use, for the output."""
        lines: list[str] = []
        for host in sorted(set(registries)):
            target = self.target(host)
            if target is not None:
                lines.append(f"registry {host} goes to {target.url} ({VARIABLE})")
        for host in sorted({urlsplit(u).netloc for u in checks}):
            target = self.target(host)
            if target is not None:
                lines.append(f"checks for {host} go to {target.url} ({VARIABLE})")
        return lines


def _shown(pair: str) -> str:
    """A pair as quoted in an error: never a URL's password."""
    return re.sub(r"//[^/@]*@", "//…@", pair)
