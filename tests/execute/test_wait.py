"""The wait itself: no hidden ten-minute limit (the ServicesStable waiter's), and the timeout."""

from __future__ import annotations

import threading
from typing import Any

from ecsdeploy.adapters.aws import AwsClients, AwsSettings
from ecsdeploy.adapters.ecs import EcsReader
from ecsdeploy.adapters.targets import Targets
from ecsdeploy.execute.report import Reporter
from ecsdeploy.execute.wait import Watch
from tests.apps import App


class Minutes:
    """A clock for the watch that moves a minute each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 60.0
        return self.now


def _watch(sandbox: Any, clock: Minutes) -> tuple[Watch, EcsReader]:
    clients = AwsClients(AwsSettings("us-east-1", None, sandbox.endpoint_url))
    reader = EcsReader(clients)
    watch = Watch(
        reader, Targets(clients), Reporter(), "quickstart", "web", "web", threading.Event(), clock
    )
    return watch, reader


def _release(app: App, sandbox: Any, start_seconds: int) -> str:
    ecs = sandbox.client("ecs")
    td = ecs.describe_task_definition(taskDefinition="quickstart-web:1")["taskDefinition"]
    container = td["containerDefinitions"][0]
    container["environment"] = [
        *container.get("environment", []),
        {"name": "SANDBOX_START_SECONDS", "value": str(start_seconds)},
    ]
    keep = ("family", "networkMode", "requiresCompatibilities", "containerDefinitions")
    arn: str = ecs.register_task_definition(**{k: td[k] for k in keep if k in td})[
        "taskDefinition"
    ]["taskDefinitionArn"]
    return arn


def test_a_wait_longer_than_ten_minutes_goes_on(app: App, sandbox: Any) -> None:
    clock = Minutes()
    watch, reader = _watch(sandbox, clock)
    target = _release(app, sandbox, start_seconds=1200)  # 2 s real at the fixture's speed
    watch.start(reader.describe_service("quickstart", "web"))
    sandbox.client("ecs").update_service(cluster="quickstart", service="web", taskDefinition=target)
    outcome = watch.wait(target, timeout=45 * 60, poll=0.1)
    assert outcome.ok, outcome.reason
    assert clock.now > 10 * 60  # it kept waiting past ten (simulated) minutes


def test_the_timeout_is_the_one_asked_for(app: App, sandbox: Any) -> None:
    clock = Minutes()
    watch, reader = _watch(sandbox, clock)
    target = _release(app, sandbox, start_seconds=10**6)
    watch.start(reader.describe_service("quickstart", "web"))
    sandbox.client("ecs").update_service(cluster="quickstart", service="web", taskDefinition=target)
    outcome = watch.wait(target, timeout=20 * 60, poll=0.05)
    assert not outcome.ok
    assert outcome.reason.startswith("timed out after 20m: deployment IN_PROGRESS")
    assert 20 * 60 < clock.now <= 23 * 60
