"""What apply says while it works: ECS's words are not errors, a dependent waits and
says so, finished services stop their clocks, an interruption is not a failure, and
counts agree with their nouns."""

from __future__ import annotations

import io
import re
import signal
from typing import Any

from rich.console import Console

from ecsdeploy.execute.executor import ServiceResult
from ecsdeploy.execute.report import LiveReporter
from ecsdeploy.words import plural
from tests.apps import App, read_until, spawn
from tests.execute.conftest import break_web

# A line the log reporter prints as an error and that holds a service-deployment status.
_STATUS_AS_ERROR = re.compile(r"error: .*service deployment")


def test_a_dependent_says_it_waits_for_its_dependency(app: App) -> None:
    result = app.run("apply", "--yes", "--allow-downtime")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    waiting = next(
        i for i, line in enumerate(lines) if "web: waiting for worker (depends_on)" in line
    )
    worker_done = next(
        i for i, line in enumerate(lines) if "worker: deployed quickstart-worker" in line
    )
    assert waiting < worker_done  # said while the worker deploys, not after
    assert "Apply complete: 2 of 2 services ok." in result.output


def test_ecs_rollback_statuses_are_ecs_words_not_errors(app: App) -> None:
    break_web(app, "SANDBOX_CRASH")
    result = app.run("apply", "--yes", "--allow-downtime")
    assert result.exit_code == 1, result.output
    out = result.output
    assert "error: release quickstart-web:2 failed" in out  # the failure is an error
    assert "ecs: service deployment ROLLBACK_SUCCESSFUL: ECS deployment circuit breaker" in out
    assert not _STATUS_AS_ERROR.search(out), out
    assert "Apply failed: 1 of 2 services ok." in out


def test_sigterm_leaves_the_dependent_not_started_not_skipped(app: App, sandbox: Any) -> None:
    # The worker's new tasks take 3000 simulated seconds (~5 s real) to start.
    app.edit(
        "taskdefs/worker.yaml.j2",
        "      - name: QUEUE\n",
        '      - name: SANDBOX_START_SECONDS\n        value: "3000"\n      - name: QUEUE\n',
    )
    proc = spawn(app, "apply", "--yes", "--allow-downtime")
    try:
        seen = read_until(proc, "waiting for the rollout of quickstart-worker:2")
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    out = seen + rest
    assert proc.returncode == 130, out
    assert "web: interrupted: not started: the apply was interrupted" in out
    assert "skipped" not in out
    assert "depends on" not in out.replace("(depends_on)", "")


def test_a_failed_dependency_names_itself(app: App) -> None:
    app.edit(
        "taskdefs/worker.yaml.j2",
        "      - name: QUEUE\n",
        '      - name: SANDBOX_CRASH\n        value: "1"\n      - name: QUEUE\n',
    )
    result = app.run("apply", "--yes", "--allow-downtime")
    assert result.exit_code == 1, result.output
    assert "web: warning: skipped: it depends on worker, which was rolled back" in result.output
    assert "web: skipped: not started: it depends on worker, which was rolled back" in result.output


# -- the live table (on a terminal) ------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _live(services: list[str], clock: _Clock) -> LiveReporter:
    console = Console(file=io.StringIO(), force_terminal=False, width=200)
    return LiveReporter(services, color=False, console=console, clock=clock)


def test_live_table_waiting_dependent_and_frozen_clock() -> None:
    clock = _Clock()
    live = _live(["worker", "web"], clock)
    try:
        live.step("worker", "re-tag worker:latest -> worker:bbbbbbb")
        live.done("web", "web:bbbbbbb (sha256:0123)")  # web's image, pushed first
        live.progress("web", "waiting for worker (depends_on)", waiting_for=["worker"])
        clock.now += 5
        live.done("worker", "deployed quickstart-worker:2: rollout completed, checks passed")
        live.finished(ServiceResult("worker", "ok", "on quickstart-worker:2"))
        rows = live.rows()
        assert rows["web"][:2] == ("waiting", "waiting for worker (depends_on)")
        assert rows["worker"][:2] == ("deployed", "on quickstart-worker:2")
        assert rows["worker"][2] == "0m05s"
        live.step("web", "registering quickstart-web")
        clock.now += 70
        rows = live.rows()
        assert rows["worker"][2] == "0m05s"  # finished: its clock stopped
        assert rows["web"][0] == "working"
        assert rows["web"][2] == "1m15s"  # counted from its first step
        live.error("web", "release quickstart-web:2 failed: timed out")
        assert live.rows()["web"][0] == "failing"
        live.finished(ServiceResult("web", "rolled_back", "timed out; runs :1 again"))
        clock.now += 30
        assert live.rows()["web"] == ("rolled back", "timed out; runs :1 again", "1m15s")
    finally:
        live.close()


def test_plural() -> None:
    assert plural(1, "cluster") == "1 cluster"
    assert plural(0, "cluster") == "0 clusters"
    assert plural(2, "service task") == "2 service tasks"
    assert plural(3, "family", "families") == "3 families"
