"""The HTTP checks' responder: a host routed to a service answers as its healthy tasks."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from ecsdeploy.sandbox.control import SandboxClient
from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack, step_until

HOST = "shop.example.com"


def _get(handle: SandboxHandle, host: str = HOST, method: str = "GET") -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.request(
        method, f"{handle.endpoint_url}/healthz", headers={"Host": host}, timeout=10
    )


def _serving(stack: Stack, service: str) -> bool:
    return stack.steady(service) and stack.target_states() == ["healthy"]


def test_healthy_task_answers_200(paused: SandboxHandle, stack: Stack) -> None:
    SandboxClient(paused.endpoint_url).http_route(HOST, "shop", "shop-web")
    stack.add_target_group()
    td = stack.task_definition()
    stack.create_service("shop-web", td, desired=1)
    # RUNNING but its target still `initial`: not in service behind the load balancer.
    step_until(paused, lambda: bool(stack.tasks("shop-web")) and stack.target_states() != [])
    assert stack.tasks("shop-web")[0]["lastStatus"] == "RUNNING"
    waiting = _get(paused)
    assert waiting.status_code == 503
    assert "503 Service Temporarily Unavailable" in waiting.text

    step_until(paused, lambda: _serving(stack, "shop-web"))
    answer = _get(paused)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {"status": "ok", "service": "shop-web", "taskDefinition": "shop-web:1"}
    # Any port and any case of the host name; HEAD has the headers only.
    assert _get(paused, "Shop.Example.com:443").status_code == 200
    head = _get(paused, method="HEAD")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(answer.content))


def test_sandbox_http_status_sets_the_answer(paused: SandboxHandle, stack: Stack) -> None:
    paused.control.http_route(HOST, "shop", "shop-web")
    stack.add_target_group()
    stack.create_service("shop-web", stack.task_definition(), desired=1)
    step_until(paused, lambda: _serving(stack, "shop-web"))
    assert _get(paused).status_code == 200
    broken = stack.task_definition(env={"SANDBOX_HTTP_STATUS": "500"})
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=broken)
    # The new task answers once it is healthy and the old one is out of the target group.
    step_until(
        paused,
        lambda: (
            _serving(stack, "shop-web") and stack.service("shop-web")["taskDefinition"] == broken
        ),
    )
    answer = _get(paused)
    assert answer.status_code == 500
    assert answer.json() == {
        "status": "error",
        "service": "shop-web",
        "taskDefinition": "shop-web:2",
    }


def test_no_healthy_task_is_503(paused: SandboxHandle, stack: Stack) -> None:
    paused.control.http_route(HOST, "shop", "shop-web")
    assert _get(paused).status_code == 503  # no such service yet
    stack.add_target_group()
    td = stack.task_definition(env={"SANDBOX_UNHEALTHY": "1"})
    stack.create_service("shop-web", td, desired=1, grace=600)
    step_until(paused, lambda: stack.target_states() == ["unhealthy"])
    assert stack.tasks("shop-web")[0]["lastStatus"] == "RUNNING"
    answer = _get(paused)
    assert answer.status_code == 503
    assert answer.headers["Content-Type"] == "text/html"


def test_without_a_load_balancer_running_is_enough(paused: SandboxHandle, stack: Stack) -> None:
    paused.control.http_route("worker.example.com", "shop", "shop-worker")
    stack.create_service(
        "shop-worker", stack.task_definition("shop-worker"), desired=1, load_balancer=False
    )
    step_until(paused, lambda: stack.steady("shop-worker"))
    answer = _get(paused, "worker.example.com")
    assert answer.status_code == 200 and answer.json()["taskDefinition"] == "shop-worker:1"


def test_unrouted_hosts_fall_through(sandbox: SandboxHandle) -> None:
    sandbox.control.http_route(HOST, "shop", "shop-web")
    other = _get(sandbox, "other.example.com")
    assert other.status_code != 503 and "taskDefinition" not in other.text
    # AWS calls (Host 127.0.0.1:port) are untouched.
    assert sandbox.client("ecs").list_clusters()["clusterArns"] == []
    # After a reset the route is forgotten.
    sandbox.control.reset()
    assert "taskDefinition" not in _get(sandbox).text and _get(sandbox).status_code != 503


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", ""])
def test_the_sandbox_itself_cannot_be_routed(sandbox: SandboxHandle, host: str) -> None:
    session = requests.Session()
    session.trust_env = False
    body: dict[str, Any] = {"host": host, "cluster": "shop", "service": "shop-web"}
    answer = session.post(f"{sandbox.endpoint_url}/_sandbox/http", json=body, timeout=10)
    assert answer.status_code == 400
    assert "cannot route host" in answer.json()["error"]
    missing = session.post(f"{sandbox.endpoint_url}/_sandbox/http", json={"host": HOST}, timeout=10)
    assert missing.status_code == 400 and "cluster" in missing.json()["error"]
