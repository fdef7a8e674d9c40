"""Controlling a running sandbox over HTTP (`/_sandbox/*`), for tests and tools in other processes.

The same methods as `Sandbox`'s control side, so a test can drive an in-process
sandbox and an `ecsdeploy sandbox` subprocess alike. Needs no moto.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit


class SandboxControl(Protocol):
    """What both `Sandbox` and `SandboxClient` offer."""

    @property
    def speed(self) -> float: ...

    @speed.setter
    def speed(self, value: float) -> None: ...

    def advance(self, seconds: float) -> None: ...

    def settle(self, max_seconds: float = 3600.0) -> bool: ...

    def calls(self) -> dict[str, int]: ...

    def reset_calls(self) -> dict[str, int]: ...

    def access_keys(self) -> dict[str, dict[str, int]]: ...

    def clear_faults(self) -> None: ...

    def reset(self) -> None: ...

    def registry_users(self, users: Mapping[str, str]) -> None:
        """Replace the registry's users (none: open; any: HTTP Basic auth required)."""

    def put_image(self, repository: str, tag: str) -> str:
        """Store a made-up image as `repository:tag` in the registry; its manifest digest."""
        ...

    def http_route(self, host: str, cluster: str, service: str) -> None:
        """Answer requests whose Host is `host` as that service's healthy tasks would."""

    def http_route_rule(self, host: str, rule_arn: str) -> None:
        """Answer requests whose Host is `host` as that listener rule forwards them now."""

    def hook_verdict(self, function: str, verdict: str) -> None:
        """What a Lambda lifecycle hook's function answers: SUCCEEDED, FAILED, IN_PROGRESS."""

    def rule_history(self, rule_arn: str) -> list[dict[str, Any]]:
        """Every change ECS made to a listener rule's weights, oldest first."""
        ...


class SandboxClient:
    """The control endpoints of a sandbox at `endpoint_url` (127.0.0.1 only)."""

    def __init__(self, endpoint_url: str, timeout: float = 30.0) -> None:
        host = urlsplit(endpoint_url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the sandbox listens on 127.0.0.1, not {host}")
        self.endpoint_url = endpoint_url.rstrip("/")
        self.timeout = timeout

    def _request(self, method: str, name: str, data: dict[str, Any] | None = None) -> Any:
        body = None if data is None else json.dumps(data).encode()
        request = urllib.request.Request(  # noqa: S310 (loopback URL, checked above)
            f"{self.endpoint_url}/_sandbox/{name}".rstrip("/"),
            data=body if method != "GET" else None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return json.loads(response.read() or b"{}")

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "")
        return result

    def state(self) -> dict[str, Any]:
        """Services, deployments and live tasks of the simulation (for debugging)."""
        result: dict[str, Any] = self._request("GET", "state")
        return result

    def ping(self) -> bool:
        try:
            self.status()
        except OSError:
            return False
        return True

    @property
    def speed(self) -> float:
        return float(self._request("GET", "clock")["speed"])

    @speed.setter
    def speed(self, value: float) -> None:
        self._request("POST", "clock", {"speed": value})

    def advance(self, seconds: float) -> None:
        self._request("POST", "clock", {"advance": seconds})

    def settle(self, max_seconds: float = 3600.0) -> bool:
        return bool(self._request("POST", "settle", {"max_seconds": max_seconds})["settled"])

    def calls(self) -> dict[str, int]:
        return dict(self._request("GET", "calls")["calls"])

    def reset_calls(self) -> dict[str, int]:
        return dict(self._request("POST", "calls")["calls"])

    def access_keys(self) -> dict[str, dict[str, int]]:
        answer: dict[str, dict[str, int]] = self._request("GET", "access-keys")["access_keys"]
        return answer

    def set_faults(
        self,
        throttle: float = 0.0,
        error: float = 0.0,
        seed: int = 0,
        operations: tuple[str, ...] | list[str] = (),
        limit: int | None = None,
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST",
            "faults",
            {
                "throttle": throttle,
                "error": error,
                "seed": seed,
                "operations": list(operations),
                "limit": limit,
            },
        )
        return result

    def clear_faults(self) -> None:
        self.set_faults()

    def reset(self) -> None:
        self._request("POST", "reset", {})

    def break_service(self, name: str) -> None:
        """The next release of service `name` crashes as it starts (see Sandbox)."""
        self._request("POST", "break", {"service": name})

    def shutdown(self) -> None:
        """Ask the `ecsdeploy sandbox` process to stop."""
        self._request("POST", "shutdown", {})

    def registry_users(self, users: Mapping[str, str]) -> None:
        self._request("POST", "registry/users", {"users": dict(users)})

    def put_image(self, repository: str, tag: str) -> str:
        answer = self._request("POST", "registry/images", {"repository": repository, "tag": tag})
        return str(answer["digest"])

    def registry(self) -> dict[str, Any]:
        """The registry's repositories and tags (for debugging)."""
        result: dict[str, Any] = self._request("GET", "registry")
        return result

    def http_route(self, host: str, cluster: str, service: str) -> None:
        self._request("POST", "http", {"host": host, "cluster": cluster, "service": service})

    def http_route_rule(self, host: str, rule_arn: str) -> None:
        self._request("POST", "http", {"host": host, "rule": rule_arn})

    def hook_verdict(self, function: str, verdict: str) -> None:
        self._request("POST", "hooks", {"function": function, "verdict": verdict})

    def rule_history(self, rule_arn: str) -> list[dict[str, Any]]:
        answer = self._request("POST", "rules", {"rule": rule_arn})
        return list(answer["history"])
