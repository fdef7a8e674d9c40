"""`apply --format json` on the sandbox: every stdout line is JSON and valid against
schemas/apply-output.schema.json, whatever the outcome (ok, rolled back, interrupted,
refused, invalid input, nothing to do)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.apps import REV_B, App, lock_tags, read_until, spawn, write_calls
from tests.execute.conftest import break_web

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "schemas" / "apply-output.schema.json"
REV_C = "ccccccc0000000000000000000000000000000c3"
TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/"

Line = dict[str, Any]


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _lines(validator: Draft202012Validator, stdout: str) -> list[Line]:
    """Every stdout line, parsed and validated; the order is events, services, result."""
    assert stdout.endswith("\n"), f"no complete last line:\n{stdout}"
    lines: list[Line] = []
    for n, text in enumerate(stdout.splitlines(), 1):
        try:
            line = json.loads(text)
        except ValueError:
            raise AssertionError(f"stdout line {n} is not JSON: {text!r}") from None
        errors = [e.message for e in validator.iter_errors(line)]
        assert not errors, f"stdout line {n} does not match the schema: {errors}\n{text}"
        lines.append(line)
    types = [line["type"] for line in lines]
    assert types.count("result") == 1 and types[-1] == "result", types
    first_service = types.index("service") if "service" in types else len(types) - 1
    assert set(types[:first_service]) <= {"event"}, types
    assert set(types[first_service:-1]) <= {"service"}, types
    return lines


def _services(lines: list[Line]) -> dict[str, Line]:
    found = {line["service"]: line for line in lines if line["type"] == "service"}
    assert len(found) == sum(1 for line in lines if line["type"] == "service")  # no repeats
    return found


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _live_service(sandbox: Any, name: str) -> dict[str, Any]:
    svc: dict[str, Any] = sandbox.client("ecs").describe_services(
        cluster="quickstart", services=[name]
    )["services"][0]
    return svc


def test_the_schema_matches_the_code() -> None:
    from ecsdeploy.execute.executor import STATUSES
    from ecsdeploy.execute.report import OUTPUT_VERSION

    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    defs = schema["$defs"]
    assert defs["version"]["const"] == OUTPUT_VERSION
    assert defs["serviceStatus"]["enum"] == list(STATUSES)
    assert set(defs["event"]["properties"]["kind"]["enum"]) == {
        "step",
        "done",
        "ecs_event",
        "progress",
        "warning",
        "error",
        "summary",
    }


def test_the_schema_rejects_what_is_not_a_line(validator: Draft202012Validator) -> None:
    from ecsdeploy.execute.executor import ServiceResult
    from ecsdeploy.execute.report import result_record, service_record

    good_service = service_record(ServiceResult("web", "ok", "on quickstart-web:2"))
    good_result = result_record([ServiceResult("web", "ok")], "ok", 0)
    event = {
        "version": 1,
        "type": "event",
        "time": "2026-12-02T04:45:43.110+00:00",
        "kind": "step",
        "service": None,
        "message": "registering quickstart-web",
    }
    for good in (good_service, good_result, event):
        assert validator.is_valid(json.loads(json.dumps(good))), good
    bad = [
        {**event, "type": "progress"},  # no such line type
        {**event, "version": 2},
        {**event, "kind": "debug"},
        {**event, "time": "yesterday"},
        {**event, "extra": 1},
        {k: v for k, v in event.items() if k != "message"},
        {**good_service, "status": "deployed"},  # a label, not a status
        {**good_service, "waited": "yes"},
        {k: v for k, v in good_service.items() if k != "deployment_id"},
        {**good_service, "type": "event"},  # a service line is not an event
        {**good_result, "status": "rolled_back"},  # a service status, not the apply's
        {**good_result, "status": "refused", "exit_code": 1},
        {**good_result, "status": "interrupted", "exit_code": 1},
        {**good_result, "services": {"deployed": 1}},
        {k: v for k, v in good_result.items() if k != "exit_code"},
    ]
    for line in bad:
        assert not validator.is_valid(line), line


# --- outcomes on the sandbox ----------------------------------------------------------------


def test_successful_apply(app: App, sandbox: Any, validator: Draft202012Validator) -> None:
    result = app.run("apply", "--yes", "--allow-downtime", "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = _lines(validator, result.stdout)
    events = [line for line in lines if line["type"] == "event"]
    assert any(e["kind"] == "ecs_event" and e["service"] == "web" for e in events)
    assert any(
        e["kind"] == "done" and e["message"].startswith("deployed quickstart-web:2") for e in events
    )
    services = _services(lines)
    assert set(services) == {"web", "worker"}
    for key in ("web", "worker"):
        line = services[key]
        assert line["status"] == "ok", line
        assert line["waited"] is True
        assert line["old_revision"] == f"{TD}quickstart-{key}:1"
        assert line["new_revision"] == line["revision"] == f"{TD}quickstart-{key}:2"
        # The deployment the apply started is the one ECS completed.
        live = _live_service(sandbox, key)
        assert live["taskDefinition"] == line["revision"]
        assert [d["id"] for d in live["deployments"]] == [line["deployment_id"]]
        assert _time(line["started_at"]) <= _time(line["ended_at"])
        assert line["reason"] == f"on quickstart-{key}:2"
        assert line["details"] == []
    final = lines[-1]
    assert final["status"] == "ok"
    assert final["exit_code"] == 0
    assert final["services"] == {"ok": 2}
    assert final["message"] is None
    assert _time(final["time"]) >= max(_time(s["ended_at"]) for s in services.values())


def test_rolled_back_release(app: App, sandbox: Any, validator: Draft202012Validator) -> None:
    break_web(app, "SANDBOX_CRASH")
    result = app.run("apply", "--yes", "--allow-downtime", "--format", "json")
    assert result.exit_code == 1, result.output
    lines = _lines(validator, result.stdout)
    services = _services(lines)
    web = services["web"]
    assert web["status"] == "rolled_back", web
    assert web["reason"].strip()
    assert "quickstart-web:1 again" in web["reason"]
    assert web["old_revision"] == web["revision"] == f"{TD}quickstart-web:1"
    assert web["new_revision"] == f"{TD}quickstart-web:2"
    assert web["deployment_id"] and web["deployment_id"].startswith("ecs-svc/")
    assert any("Essential container in task exited" in d for d in web["details"]), json.dumps(web)
    assert _live_service(sandbox, "web")["taskDefinition"] == f"{TD}quickstart-web:1"
    assert services["worker"]["status"] == "ok"
    errors = [e for e in lines if e["type"] == "event" and e["kind"] == "error"]
    assert any(
        e["service"] == "web" and "release quickstart-web:2 failed" in e["message"] for e in errors
    )
    final = lines[-1]
    assert final["status"] == "failed"
    assert final["exit_code"] == 1
    assert final["services"] == {"ok": 1, "rolled_back": 1}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_apply(
    app: App, sandbox: Any, validator: Draft202012Validator, signum: signal.Signals
) -> None:
    # Tasks that take 3000 simulated seconds (~5 s real) to start keep apply waiting.
    break_web(app, "SANDBOX_START_SECONDS", "3000")
    proc = spawn(
        app,
        "apply",
        "--yes",
        "--allow-downtime",
        "--service",
        "web",
        "--format",
        "json",
        merge_stderr=False,
    )
    try:
        seen = read_until(proc, "waiting for the rollout of quickstart-web:2")
        proc.send_signal(signum)
        rest, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, f"{seen}{rest}\n{stderr}"
    lines = _lines(validator, seen + rest)
    web = _services(lines)["web"]
    assert web["status"] == "interrupted", web
    assert web["reason"] == "service updated to quickstart-web:2; ECS is rolling it out"
    assert web["old_revision"] == f"{TD}quickstart-web:1"
    assert web["new_revision"] == f"{TD}quickstart-web:2"
    assert web["deployment_id"] and web["deployment_id"].startswith("ecs-svc/")
    assert web["started_at"] is not None and web["ended_at"] is not None
    # ECS goes on with the rollout the apply started.
    live = _live_service(sandbox, "web")
    assert live["taskDefinition"] == f"{TD}quickstart-web:2"
    assert web["deployment_id"] in [d["id"] for d in live["deployments"]]
    final = lines[-1]
    assert final["status"] == "interrupted"
    assert final["exit_code"] == 130
    assert final["services"] == {"interrupted": 1}


def test_stale_plan_is_refused(
    app: App, sandbox: Any, tmp_path: Path, validator: Draft202012Validator
) -> None:
    plan = tmp_path / "plan.json"
    assert app.run("plan", "--out", str(plan)).exit_code == 0
    # Someone deploys in between.
    assert app.run("apply", "--yes", "--allow-downtime", revision=REV_C).exit_code == 0
    sandbox.control.reset_calls()
    result = app.run("apply", str(plan), "--format", "json")
    assert result.exit_code == 4, result.output
    lines = _lines(validator, result.stdout)
    assert len(lines) == 1
    final = lines[0]
    assert final["status"] == "refused"
    assert final["exit_code"] == 4
    assert final["services"] == {}
    assert final["message"].startswith(
        "plan is stale: service worker now runs quickstart-worker:2, planned from "
        "quickstart-worker:1"
    )
    assert "plan is stale" in result.stderr  # people read stderr
    assert write_calls(sandbox.control.calls(), lock_aside=True) == []
    assert lock_tags(app.endpoint_url, "quickstart") == {}


def test_blocking_preflight_finding_is_refused(
    app: App, sandbox: Any, validator: Draft202012Validator
) -> None:
    sandbox.client("logs").delete_log_group(logGroupName="/ecs/quickstart/web")
    sandbox.control.reset_calls()
    proc = spawn(app, "apply", "--yes", "--allow-downtime", "--format", "json", merge_stderr=False)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 4, f"{stdout}\n{stderr}"
    lines = _lines(validator, stdout)
    assert len(lines) == 1
    final = lines[0]
    assert final["status"] == "refused"
    assert final["exit_code"] == 4
    assert final["services"] == {}
    assert final["message"].startswith("zero-downtime pre-flight failed: 1 blocking finding")
    assert "log group /ecs/quickstart/web in us-east-1 does not exist" in stderr
    assert write_calls(sandbox.control.calls(), lock_aside=True) == []
    assert _live_service(sandbox, "web")["taskDefinition"] == f"{TD}quickstart-web:1"


def test_invalid_input_is_an_error_line(
    app: App, tmp_path: Path, validator: Draft202012Validator
) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text('{"format_version": 99}')
    result = app.run("apply", str(plan), "--format", "json")
    assert result.exit_code == 3, result.output
    lines = _lines(validator, result.stdout)
    assert len(lines) == 1
    final = lines[0]
    assert final["status"] == "error"
    assert final["exit_code"] == 3
    assert final["services"] == {}
    assert final["message"]
    assert final["message"].splitlines()[0] in result.stderr


def test_nothing_to_do(app: App, sandbox: Any, validator: Draft202012Validator) -> None:
    assert app.run("apply", "--yes", "--allow-downtime").exit_code == 0
    sandbox.control.reset_calls()
    result = app.run("apply", "--yes", "--allow-downtime", "--format", "json")
    assert result.exit_code == 0, result.output
    lines = _lines(validator, result.stdout)
    assert [line["type"] for line in lines] == ["result"]
    final = lines[0]
    assert final["status"] == "unchanged"
    assert final["exit_code"] == 0
    assert final["services"] == {}
    assert final["message"] is None
    calls = sandbox.control.calls()
    assert "ecs:RegisterTaskDefinition" not in calls
    assert "ecs:UpdateService" not in calls


# --- interrupted and declined ---------------------------------------------------------


def test_interrupted_service_line_names_the_revision_the_service_is_on(
    app: App, sandbox: Any, validator: Draft202012Validator
) -> None:
    break_web(app, "SANDBOX_START_SECONDS", "3000")
    proc = spawn(
        app,
        "apply",
        "--yes",
        "--allow-downtime",
        "--service",
        "web",
        "--format",
        "json",
        merge_stderr=False,
    )
    try:
        seen = read_until(proc, "waiting for the rollout of quickstart-web:2")
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    web = _services(_lines(validator, seen + rest))["web"]
    assert web["status"] == "interrupted"
    assert _live_service(sandbox, "web")["taskDefinition"] == f"{TD}quickstart-web:2"
    assert web["revision"] == f"{TD}quickstart-web:2"


def test_declined_apply_is_a_result_line(app: App, validator: Draft202012Validator) -> None:
    """A person at a terminal answers no: stdout still ends with one `result` line, and
    the question went to stderr."""
    returncode, out, err = _answer_no(app, "apply", "--allow-downtime", "--format", "json")
    assert returncode == 0, err
    assert "Apply these changes?" in err
    lines = _lines(validator, out)
    assert [line["type"] for line in lines] == ["result"]
    assert lines[0]["status"] == "declined"
    assert lines[0]["exit_code"] == 0


def test_declined_apply_changes_nothing_and_exits_0(app: App, sandbox: Any) -> None:
    """Answering no is not an error (as with terraform): exit 0, nothing written."""
    sandbox.control.reset_calls()
    returncode, out, err = _answer_no(app, "apply", "--allow-downtime")
    assert returncode == 0, err
    assert "Apply these changes? [y/N]:" in out
    assert out.rstrip().endswith("Nothing was changed.")
    assert write_calls(sandbox.control.calls(), lock_aside=True) == []
    assert lock_tags(app.endpoint_url, "quickstart") == {}


def _answer_no(app: App, *args: str) -> tuple[int, str, str]:
    """Run ecsdeploy with a terminal on stdin, answer "n" to its question."""
    import pty

    master, slave = pty.openpty()
    argv = [sys.executable, "-m", "ecsdeploy", "-f", str(app.deploy_yaml), "--revision", REV_B]
    proc = subprocess.Popen(
        [*argv, *args],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    os.close(slave)
    try:
        os.write(master, b"n\n")
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, err
