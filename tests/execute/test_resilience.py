"""apply under stress: throttling and 5xx, a SIGKILL mid-way, Ctrl-C, two applies at once."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from tests.apps import App, read_until, spawn
from tests.execute.conftest import break_web

ROOT = Path(__file__).resolve().parents[2]


def _active(sandbox: Any, family: str) -> list[str]:
    arns = sandbox.client("ecs").list_task_definitions(
        familyPrefix=family, status="ACTIVE", sort="ASC"
    )["taskDefinitionArns"]
    return [a.rsplit("/", 1)[-1] for a in arns]


def _task_definition(sandbox: Any, service: str) -> str:
    svc = sandbox.client("ecs").describe_services(cluster="quickstart", services=[service])
    return str(svc["services"][0]["taskDefinition"]).rsplit("/", 1)[-1]


def test_converges_through_throttling_and_server_errors(app: App, sandbox: Any) -> None:
    sandbox.control.set_faults(throttle=0.3, error=0.05, seed=7)
    result = app.run("apply", "--yes", "--allow-downtime")
    faults = sandbox.control.calls()
    sandbox.control.clear_faults()
    assert result.exit_code == 0, result.output
    assert _active(sandbox, "quickstart-web") == ["quickstart-web:1", "quickstart-web:2"]
    assert _active(sandbox, "quickstart-worker") == ["quickstart-worker:1", "quickstart-worker:2"]
    assert _task_definition(sandbox, "web") == "quickstart-web:2"
    assert sum(faults.values()) > 0


def test_sigkill_between_register_and_update_then_rerun(app: App, sandbox: Any) -> None:
    # UpdateService keeps failing (and botocore keeps retrying) while we kill the process.
    sandbox.control.set_faults(error=1.0, operations=("ecs:UpdateService",))
    proc = spawn(app, "apply", "--yes", "--allow-downtime", "--service", "web")
    try:
        read_until(proc, "registered quickstart-web:2")
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    sandbox.control.clear_faults()
    assert _task_definition(sandbox, "web") == "quickstart-web:1"
    # The dead process's lock does not block the re-run on this machine.
    result = app.run("apply", "--yes", "--allow-downtime", "--service", "web")
    assert result.exit_code == 0, result.output
    assert "reusing quickstart-web:2, already registered" in result.output
    assert _active(sandbox, "quickstart-web") == ["quickstart-web:1", "quickstart-web:2"]
    assert _task_definition(sandbox, "web") == "quickstart-web:2"


def test_second_apply_at_the_same_time_is_refused(app: App, sandbox: Any) -> None:
    # A slow start keeps the first apply waiting (3000 simulated seconds, ~5 s real).
    break_web(app, "SANDBOX_START_SECONDS", "3000")
    first = spawn(app, "apply", "--yes", "--allow-downtime", "--service", "web")
    try:
        read_until(first, "waiting for the rollout of quickstart-web:2")
        second = app.run("apply", "--yes", "--allow-downtime", "--service", "web")
        assert second.exit_code == 4, second.output
        assert "service web is locked by another apply:" in second.output
        assert f"pid {first.pid}" in second.output
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=60)


def test_ctrl_c_stops_cleanly_and_a_rerun_converges(app: App, sandbox: Any) -> None:
    break_web(app, "SANDBOX_START_SECONDS", "1200")  # ~2 s real
    proc = spawn(app, "apply", "--yes", "--allow-downtime", "--service", "web")
    read_until(proc, "waiting for the rollout of quickstart-web:2")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "web: interrupted: service updated to quickstart-web:2; ECS is rolling it out" in out
    assert "Run `ecsdeploy apply` again to converge." in out
    # The re-run changes nothing, waits for the rollout ECS went on with, and checks it.
    sandbox.control.reset_calls()
    result = app.run("apply", "--yes", "--allow-downtime", "--service", "web")
    assert result.exit_code == 0, result.output
    calls = sandbox.control.calls()
    assert "ecs:RegisterTaskDefinition" not in calls
    assert "ecs:UpdateService" not in calls
    assert _active(sandbox, "quickstart-web") == ["quickstart-web:1", "quickstart-web:2"]
    assert "deployed quickstart-web:2" in result.output


def test_an_apply_holds_only_the_services_it_changes(app: App, sandbox: Any) -> None:
    assert app.run("apply", "--yes", "--allow-downtime", "--service", "worker").exit_code == 0
    break_web(app, "SANDBOX_START_SECONDS", "3000")  # keeps the next rollout going
    first = spawn(app, "apply", "--yes", "--allow-downtime")  # worker: no changes
    try:
        read_until(first, "waiting for the rollout of quickstart-web:2")
        # It locked both while it planned, then kept web only: worker is free.
        other = app.run("apply", "--yes", "--allow-downtime", "--service", "worker")
        assert other.exit_code == 0, other.output
        assert "No changes." in other.output or "no changes" in other.output
        web = app.run("apply", "--yes", "--allow-downtime", "--service", "web")
        assert web.exit_code == 4, web.output
        assert "service web is locked by another apply:" in web.output
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=60)
