"""HTTP checks against the sandbox: a host routed to a service answers as its tasks would.

`route("shop.example.com", "shop-prod", "shop-web")`; then any request whose Host
header is `shop.example.com` (any path, any port unless a route names the port) is
answered like a load balancer in front of the service: by one of its tasks that is
RUNNING and healthy in its target groups (round-robin), with 200 and
`{"status": "ok", "service": ..., "taskDefinition": "family:revision"}` — or, when
the task's task definition sets SANDBOX_HTTP_STATUS on its first essential
container, that status and `{"status": "error", ...}`. No such task: 503, as an
ALB with no healthy targets answers.

`route_rule("test.shop.example.com", rule_arn)` routes a host to an ALB listener
rule instead (or an NLB listener, by its ARN): a request goes to one of the target
groups the rule forwards to, chosen by the rule's weights as they are now (a smooth
weighted round-robin: deterministic, in proportion to the weights), and is answered
by a task RUNNING and healthy in that target group (round-robin). This is how test
traffic reaches the new revision once a blue/green, linear or canary deployment
moved the test rule, and how production traffic splits while it moves. A service
route follows the service's production listener rule the same way when the service
has one (loadBalancers[].advancedConfiguration). A host routed with a port
(`test.shop.example.com:8443`) answers on that port only; it wins over the same host
routed without one.
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
    cluster: str = ""
    service: str = ""
    rule: str = ""  # a listener rule's (or NLB listener's) ARN, instead of a service


def host_of(header: str) -> str:
    """A Host header's host, lower case, without the port (`[::1]:80` -> `[::1]`)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _route_key(header: str) -> str:
    """How a route is kept: the host, with its port when one was given."""
    header = header.strip().lower()
    host = host_of(header)
    port = header[len(host) :].lstrip(":")
    return f"{host}:{port}" if port.isdigit() else host


class Responder:
    def __init__(self, simulation: Simulation) -> None:
        self._simulation = simulation
        self._lock = threading.Lock()
        self._routes: dict[str, Route] = {}
        self._turn: dict[str, int] = {}  # host (or host + target group) -> requests answered
        # host -> (the weights it was computed for, each target group's credit): the
        # smooth weighted round-robin over a rule's target groups.
        self._credit: dict[str, tuple[tuple[tuple[str, int], ...], dict[str, int]]] = {}

    @staticmethod
    def _checked(host: str) -> str:
        key = _route_key(host)
        name = host_of(host)
        if name in NOT_ROUTABLE or "/" in name:
            raise ValueError(f"cannot route host {host!r}: it must be a name like shop.example.com")
        return key

    def route(self, host: str, cluster: str, service: str) -> None:
        key = self._checked(host)
        if not cluster or not service:
            raise ValueError("a route needs a cluster and a service")
        with self._lock:
            self._routes[key] = Route(cluster=cluster, service=service)

    def route_rule(self, host: str, rule_arn: str) -> None:
        """Answer requests for `host` as the listener rule `rule_arn` forwards them now."""
        key = self._checked(host)
        if not rule_arn.startswith("arn:") or rule_arn.count(":") < 5:
            raise ValueError(f"a rule route needs a listener rule ARN, not {rule_arn!r}")
        with self._lock:
            self._routes[key] = Route(rule=rule_arn)

    def routes(self) -> dict[str, dict[str, str]]:
        with self._lock:
            return {
                host: {"rule": r.rule} if r.rule else {"cluster": r.cluster, "service": r.service}
                for host, r in self._routes.items()
            }

    def reset(self) -> None:
        with self._lock:
            self._routes.clear()
            self._turn.clear()
            self._credit.clear()

    def _key(self, host_header: str) -> str | None:
        exact = _route_key(host_header)
        if exact in self._routes:
            return exact
        host = host_of(host_header)
        return host if host in self._routes else None

    def find(self, host_header: str) -> Route | None:
        with self._lock:
            if not self._routes:
                return None
            key = self._key(host_header)
            return None if key is None else self._routes[key]

    def _next_turn(self, key: str) -> int:
        with self._lock:
            turn = self._turn.get(key, 0)
            self._turn[key] = turn + 1
            return turn

    def _pick(self, key: str, forward: tuple[tuple[str, int], ...]) -> str | None:
        """The target group the next request goes to, in proportion to the weights."""
        weighted = tuple((tg, w) for tg, w in forward if w > 0)
        if not weighted:
            return None
        total = sum(w for _, w in weighted)
        with self._lock:
            seen, credit = self._credit.get(key, ((), {}))
            if seen != weighted:
                credit = {tg: 0 for tg, _ in weighted}
            for tg, w in weighted:
                credit[tg] += w
            chosen = max(weighted, key=lambda item: credit[item[0]])[0]
            credit[chosen] -= total
            self._credit[key] = (weighted, credit)
        return chosen

    def answer(self, host_header: str, method: str) -> Reply:
        with self._lock:
            key = self._key(host_header)
            route = self._routes[key] if key is not None else None
        if route is None or key is None:
            return _reply(503, method, _NO_TARGETS, "text/html")
        with self._simulation.synced() as sim:
            rule = route.rule or sim.production_rule(route.cluster, route.service)
            if rule:
                parts = rule.split(":")
                found = sim.backends.forwarding_rule(parts[4], parts[3], rule)
                group = None if found is None else self._pick(key, found.forward)
                tasks = [] if group is None else sim.tasks_in_target_group(group)
                turn = self._next_turn(f"{key} {group}")
            else:
                tasks = sim.serving_tasks(route.cluster, route.service)
                turn = self._next_turn(key)
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
