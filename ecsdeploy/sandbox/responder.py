"""HTTP checks against the sandbox: a host routed to a service answers as its tasks would.

`route("shop.example.com", "shop-prod", "shop-web")`; then any request whose Host
header is `shop.example.com` (any port, any path) is answered like a load balancer
in front of the service: by one of its tasks that is RUNNING and healthy in its
target groups (round-robin), with 200 and
`{"status": "ok", "service": ..., "taskDefinition": "family:revision"}` — or, when
the task's task definition sets SANDBOX_HTTP_STATUS on its first essential
container, that status and `{"status": "error", ...}`. No such task: 503, as an
ALB with no healthy targets answers.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from ecsdeploy.sandbox.api import Reply
from ecsdeploy.sandbox.simulation import Simulation

HTTP_STATUS_VAR = "SANDBOX_HTTP_STATUS"
NOT_ROUTABLE = frozenset({"127.0.0.1", "localhost", "::1", "[::1]", ""})

_NO_TARGETS = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
    b"<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class Route:
    cluster: str
    service: str


def host_of(header: str) -> str:
    """A Host header's host, lower case, without the port (`[::1]:80` -> `[::1]`)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Responder:
    def __init__(self, simulation: Simulation) -> None:
        self._simulation = simulation
        self._lock = threading.Lock()
        self._routes: dict[str, Route] = {}
        self._turn: dict[str, int] = {}  # host -> requests answered, for round-robin

    def route(self, host: str, cluster: str, service: str) -> None:
        name = host_of(host)
        if name in NOT_ROUTABLE or "/" in name:
            raise ValueError(f"cannot route host {host!r}: it must be a name like shop.example.com")
        if not cluster or not service:
            raise ValueError("a route needs a cluster and a service")
        with self._lock:
            self._routes[name] = Route(cluster, service)

    def routes(self) -> dict[str, dict[str, str]]:
        with self._lock:
            return {
                host: {"cluster": r.cluster, "service": r.service}
                for host, r in self._routes.items()
            }

    def reset(self) -> None:
        with self._lock:
            self._routes.clear()
            self._turn.clear()

    def find(self, host_header: str) -> Route | None:
        with self._lock:
            return self._routes.get(host_of(host_header)) if self._routes else None

    def answer(self, host_header: str, method: str) -> Reply:
        host = host_of(host_header)
        with self._lock:
            route = self._routes[host]
            turn = self._turn.get(host, 0)
            self._turn[host] = turn + 1
        with self._simulation.synced() as sim:
            tasks = sim.serving_tasks(route.cluster, route.service)
            if not tasks:
                return _reply(503, method, _NO_TARGETS, "text/html")
            task = tasks[turn % len(tasks)]
            service = task.service_name
            revision = task.spec.arn.rsplit("/", 1)[-1]
            _, _, _, region, account, _ = task.arn.split(":", 5)
            env = sim.backends.container_environment(account, region, task.spec.arn)
        status = _status(env.get(HTTP_STATUS_VAR))
        word = "ok" if status is None else "error"
        body = json.dumps({"status": word, "service": service, "taskDefinition": revision})
        return _reply(status or 200, method, body.encode(), "application/json")


def _status(value: str | None) -> int | None:
    """SANDBOX_HTTP_STATUS as a status code; None when unset or not one (100-599)."""
    if value is None or not value.strip().isdigit():
        return None
    code = int(value.strip())
    return code if 100 <= code <= 599 else None


def _reply(status: int, method: str, body: bytes, content_type: str) -> Reply:
    headers = (("Content-Type", content_type), ("Content-Length", str(len(body))))
    return Reply(status, headers, b"" if method == "HEAD" else body)
