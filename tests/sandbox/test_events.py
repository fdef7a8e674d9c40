"""Service events: ECS's wording, newest first, with ids and dates."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.helpers import Stack, build_stack, step_until

TASK = r"\(task [0-9a-f]{32}\)"


def test_a_rolling_update_tells_its_story(paused: SandboxHandle, stack: Stack) -> None:
    tg = stack.add_target_group()
    v1 = stack.task_definition()
    first = stack.create_service("shop-web", v1, desired=2, minimum=50, maximum=100)
    first_id = first["deployments"][0]["id"]
    assert re.fullmatch(r"ecs-svc/\d{19}", first_id)
    paused.control.settle()
    v2 = stack.task_definition(image="shop/web:2")
    second_id = stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)[
        "service"
    ]["deployments"][0]["id"]
    step_until(paused, lambda: stack.steady("shop-web"))

    events = stack.service("shop-web")["events"]
    stamps = [e["createdAt"] for e in events]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    assert len({e["id"] for e in events}) == len(events)
    story = [e["message"] for e in reversed(events)]
    patterns = [
        rf"\(service shop-web\) has started 2 tasks: {TASK} {TASK}\.",
        rf"\(service shop-web\) registered 2 targets in \(target-group {re.escape(tg)}\)",
        rf"\(service shop-web\) \(deployment {first_id}\) deployment completed\.",
        r"\(service shop-web\) has reached a steady state\.",
        # 50% of 2: one old task may stop at once, and a new one starts in its place.
        r"\(service shop-web\) has begun draining connections on 1 tasks\.",
        rf"\(service shop-web\) has started 1 tasks: {TASK}\.",
        rf"\(service shop-web\) registered 1 targets in \(target-group {re.escape(tg)}\)",
        rf"\(service shop-web\) deregistered 1 targets in \(target-group {re.escape(tg)}\)",
        rf"\(service shop-web\) has stopped 1 running tasks: {TASK}\.",
    ]
    for pattern, message in zip(patterns, story, strict=False):
        assert re.fullmatch(pattern, message), (pattern, message)
    assert story[-2:] == [
        f"(service shop-web) (deployment {second_id}) deployment completed.",
        "(service shop-web) has reached a steady state.",
    ]
    assert story.count("(service shop-web) has begun draining connections on 1 tasks.") == 2


def test_started_events_name_the_tasks_that_run(paused: SandboxHandle, stack: Stack) -> None:
    stack.create_service("shop-web", stack.task_definition(), desired=3, load_balancer=False)
    paused.control.settle()
    ids = sorted(t["taskArn"].split("/")[-1] for t in stack.tasks("shop-web"))
    [started] = [m for m in stack.messages("shop-web") if "has started" in m]
    assert sorted(re.findall(r"\(task ([0-9a-f]{32})\)", started)) == ids


def test_timestamps_follow_the_wall_clock(sandbox: SandboxHandle) -> None:
    """Clients compare dates with their own clock: never in the future, never before the call."""
    stack = build_stack(sandbox)
    stack.create_service("shop-web", stack.task_definition(), desired=1, load_balancer=False)
    sandbox.control.settle()  # a fast-forward: simulated minutes in a wall-clock instant
    time.sleep(0.05)
    before = datetime.now(UTC)
    v2 = stack.task_definition(image="shop/web:2")
    stack.ecs.update_service(cluster="shop", service="shop-web", taskDefinition=v2)
    step_until(sandbox, lambda: stack.steady("shop-web"))
    after = datetime.now(UTC)
    svc = stack.service("shop-web")
    newest = svc["deployments"][0]
    assert before <= newest["createdAt"] <= after
    assert all(e["createdAt"] <= after for e in svc["events"])
    listed = stack.ecs.list_service_deployments(
        cluster="shop", service="shop-web", createdAt={"after": before}
    )["serviceDeployments"]
    assert [d["status"] for d in listed] == ["SUCCESSFUL"]  # only the one made since
