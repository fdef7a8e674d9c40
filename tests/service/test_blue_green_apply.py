"""apply with ECS's blue/green, linear and canary deployments, end to end on the sandbox:
a load balancer with production and test listener rules, the quickstart's web behind
them. A good release passes its test check at ECS's pause and ends SUCCESSFUL on the
other target group; a broken one fails the test check and is rolled back before the
production rule ever forwards to it; a canary whose alarm fires during the bake is
rolled back with the alarm named; a linear release shows each step."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ecsdeploy.sandbox.control import SandboxClient
from tests.apps import REV_A, App, copy_sample
from tests.execute.conftest import fast
from tests.service.test_strategy_config import RULE, TEST_RULE

CLUSTER = "quickstart"
CHECKS = """      checks:
        test_http: {url: "http://test.quickstart.example.com/health", attempts: 2, interval: 100ms}
        http: {url: "http://quickstart.example.com/health", attempts: 2, interval: 100ms}
"""


def _web(strategy: str) -> str:
    return f"""    deployment:
{strategy}      timeout: 10m
      poll_interval: 100ms
      alarms: {{names: [quickstart-web-5xx]}}
    load_balancer:
      target_group: quickstart-web
      alternate_target_group: quickstart-web-green
      production_listener_rule: {RULE}
      test_listener_rule: {TEST_RULE}
      role: ecs-infrastructure
      container: web
      port: 8080
{CHECKS}"""


BLUE_GREEN = "      strategy: blue_green\n      bake_time: 5m\n"
CANARY = (
    "      strategy: canary\n      canary: {percent: 10, bake_time: 5m}\n      bake_time: 10m\n"
)
LINEAR = "      strategy: linear\n      linear: {step_percent: 25, step_bake_time: 3m}\n"


def _app(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strategy: str) -> App:
    from ecsdeploy.sandbox.seed import seed_file

    folder = copy_sample("quickstart", tmp_path)
    fast(folder)
    deploy = folder / "deploy.yaml"
    text = deploy.read_text()
    start = text.index("    deployment:", text.index("  web:"))
    end = text.index("    keep_revisions: 3", start)
    deploy.write_text(text[:start] + _web(strategy) + text[end:])
    seeded = seed_file(deploy, endpoint_url=sandbox.endpoint_url, revision=REV_A)
    for name, value in seeded.environment.items():  # the checks' hosts, to the sandbox
        monkeypatch.setenv(name, value)
    return App(folder, sandbox.endpoint_url)


def _release(app: App, extra: str = "") -> None:
    app.edit(
        "taskdefs/web.json.j2",
        '{"name": "PORT", "value": "8080"},',
        '{"name": "PORT", "value": "8080"}, {"name": "BUILD", "value": "2"},' + extra,
    )


def _service(sandbox: Any) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.client("ecs").describe_services(
        cluster=CLUSTER, services=["web"]
    )["services"][0]
    return found


def _weights(sandbox: Any, rule: str) -> dict[str, int]:
    action = next(
        a
        for a in sandbox.client("elbv2").describe_rules(RuleArns=[rule])["Rules"][0]["Actions"]
        if a["Type"] == "forward"
    )
    return {g["TargetGroupArn"]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}


def _latest(sandbox: Any) -> dict[str, Any]:
    ecs = sandbox.client("ecs")
    arn = ecs.list_service_deployments(cluster=CLUSTER, service="web")["serviceDeployments"][0][
        "serviceDeploymentArn"
    ]
    found: dict[str, Any] = ecs.describe_service_deployments(serviceDeploymentArns=[arn])[
        "serviceDeployments"
    ][0]
    return found


def _flat(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def blue_green(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    """Applied once at REV_A (itself a blue/green deployment: the alarms and ecsdeploy's
    pause are added), so deploy.yaml and the service agree."""
    app = _app(sandbox, tmp_path, monkeypatch, BLUE_GREEN)
    first = app.run("apply", "--yes", revision=REV_A)
    assert first.exit_code == 0, first.output
    plan = app.run("plan", revision=REV_A)
    assert plan.exit_code == 0, plan.output
    assert "No changes." in plan.output, plan.output
    return app


def test_a_good_release_ends_successful_with_production_on_the_other_target_group(
    blue_green: App, sandbox: Any
) -> None:
    before = _service(sandbox)
    serving = before["loadBalancers"][0]["targetGroupArn"]
    assert _weights(sandbox, RULE)[serving] > 0

    _release(blue_green)
    plan = blue_green.run("plan")
    assert "blue/green deployment by ECS, in stages:" in plan.output, plan.output
    assert "pause: GET http://test.quickstart.example.com/health" in _flat(plan.output)
    result = blue_green.run("apply", "--yes")
    assert result.exit_code == 0, result.output
    out = _flat(result.output)
    assert "test checks passed: ECS continues to production traffic" in out
    assert "deployed quickstart-web:" in out
    after = _service(sandbox)
    assert after["taskDefinition"] != before["taskDefinition"]
    assert _latest(sandbox)["status"] == "SUCCESSFUL"
    weights = _weights(sandbox, RULE)
    assert weights[serving] == 0
    assert sum(weights.values()) > 0
    # The swap of target groups is no change to deploy.yaml.
    again = blue_green.run("plan")
    assert again.exit_code == 0, again.output
    assert "No changes." in again.output, again.output


def test_a_release_failing_its_test_check_never_gets_production_traffic(
    blue_green: App, sandbox: Any
) -> None:
    serving = _service(sandbox)["loadBalancers"][0]["targetGroupArn"]
    old_td = _service(sandbox)["taskDefinition"]
    history_before = len(SandboxClient(sandbox.endpoint_url).rule_history(RULE))
    _release(blue_green, ' {"name": "SANDBOX_HTTP_STATUS", "value": "500"},')
    result = blue_green.run("apply", "--yes")
    assert result.exit_code == 1, result.output
    out = _flat(result.output)
    assert (
        "test check failed after 2 attempts: GET http://test.quickstart.example.com/health" in out
    )
    assert "status 500, expected 200" in out
    assert "production traffic never reached the new revision" in out
    assert "answering ECS's pause with ROLLBACK" in out
    assert _latest(sandbox)["status"] == "ROLLBACK_SUCCESSFUL"
    # The production rule never forwarded to the new revision's target group.
    history = SandboxClient(sandbox.endpoint_url).rule_history(RULE)[history_before:]
    assert all(h["weights"].get(serving, 0) > 0 for h in history), history
    assert _weights(sandbox, RULE)[serving] > 0
    assert _service(sandbox)["taskDefinition"] == old_td


def test_a_canary_whose_alarm_fires_in_the_bake_is_rolled_back(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(sandbox, tmp_path, monkeypatch, CANARY)
    cloudwatch = sandbox.client("cloudwatch")
    _release(app)
    stop = threading.Event()

    def fire_in_the_bake() -> None:
        while not stop.is_set():
            try:
                stage = _latest(sandbox).get("lifecycleStage")
            except Exception:  # the deployment may not be listed yet
                stage = None
            if stage == "BAKE_TIME":
                cloudwatch.set_alarm_state(
                    AlarmName="quickstart-web-5xx", StateValue="ALARM", StateReason="5xx burst"
                )
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=fire_in_the_bake, daemon=True)
    watcher.start()
    try:
        result = app.run("apply", "--yes")
    finally:
        stop.set()
        watcher.join(5)
    assert result.exit_code == 1, result.output
    out = _flat(result.output)
    assert "quickstart-web-5xx" in out
    assert "ROLLBACK_SUCCESSFUL" in out
    assert _latest(sandbox)["alarms"]["triggeredAlarmNames"] == ["quickstart-web-5xx"]


def test_a_linear_release_shows_each_step(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(sandbox, tmp_path, monkeypatch, LINEAR)
    _release(app)
    result = app.run("apply", "--yes")
    assert result.exit_code == 0, result.output
    out = _flat(result.output)
    assert "production traffic in 4 steps of 25%, 3m apart" in out
    for share in (25, 50, 75):
        assert f"production traffic {share}% new" in out, out
    assert "PRODUCTION_TRAFFIC_SHIFT" in out


# --- failures ECS reports, and apply's own stops ------------------------------------------


def test_a_lambda_hook_answering_failed_rolls_back_and_is_named(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = (
        BLUE_GREEN + "      hooks: [{stage: post_scale_up, lambda: quickstart-smoke, "
        "role: ecs-hooks}]\n"
    )
    app = _app(sandbox, tmp_path, monkeypatch, hooks)
    sandbox.control.hook_verdict("quickstart-smoke", "FAILED")
    _release(app)
    result = app.run("apply", "--yes")
    assert result.exit_code == 1, result.output
    out = _flat(result.output)
    assert "lifecycle hook quickstart-smoke (POST_SCALE_UP): FAILED" in out
    assert "ECS rolled the deployment back" in out
    assert _latest(sandbox)["status"] == "ROLLBACK_SUCCESSFUL"


def test_a_failing_production_check_stops_the_deployment_in_the_bake(
    blue_green: App, sandbox: Any
) -> None:
    old_td = _service(sandbox)["taskDefinition"]
    _release(blue_green)
    blue_green.edit(
        "deploy.yaml",
        'http: {url: "http://quickstart.example.com/health", attempts: 2, interval: 100ms}',
        'http: {url: "http://quickstart.example.com/health", attempts: 2, interval: 100ms, '
        "expect_status: 204}",
    )
    result = blue_green.run("apply", "--yes")
    assert result.exit_code == 1, result.output
    out = _flat(result.output)
    assert "test checks passed" in out
    assert "status 200, expected 204" in out
    assert (
        "the production check failed: stopped the blue/green deployment with rollback "
        "(StopServiceDeployment)" in out
    )
    assert _latest(sandbox)["status"] == "ROLLBACK_SUCCESSFUL"
    assert _service(sandbox)["taskDefinition"] == old_td


def test_the_timeout_stops_a_deployment_held_by_a_hook(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = (
        "      strategy: blue_green\n      bake_time: 0m\n"
        "      hooks: [{stage: post_scale_up, lambda: quickstart-slow, role: ecs-hooks}]\n"
    )
    app = _app(sandbox, tmp_path, monkeypatch, hooks)
    app.edit("deploy.yaml", "      timeout: 10m\n", "      timeout: 3s\n")
    sandbox.control.hook_verdict("quickstart-slow", "IN_PROGRESS")
    elbv2 = sandbox.client("elbv2")
    for group in elbv2.describe_target_groups()["TargetGroups"]:  # verify: drains within 3 s
        elbv2.modify_target_group_attributes(
            TargetGroupArn=group["TargetGroupArn"],
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}],
        )
    _release(app)
    result = app.run("apply", "--yes")
    assert result.exit_code == 1, result.output
    out = _flat(result.output)
    assert "the timeout passed: stopped the blue/green deployment with rollback" in out
    assert "timed out after 3s" in out
    assert _latest(sandbox)["status"].startswith("ROLLBACK")


def test_ctrl_c_stops_a_blue_green_deployment_with_rollback_and_says_so(
    blue_green: App, sandbox: Any
) -> None:
    import signal

    from tests.apps import read_until, spawn

    blue_green.edit("deploy.yaml", "bake_time: 5m", "bake_time: 24h")  # ~2.4 minutes real
    _release(blue_green)
    proc = spawn(blue_green, "apply", "--yes", "--service", "web")
    read_until(proc, "BAKE_TIME")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    flat = _flat(out)
    assert (
        "apply was interrupted: stopped the blue/green deployment with rollback "
        "(StopServiceDeployment); ECS moves the traffic back to the old revision" in flat
    )
    assert "its deployment was stopped with rollback, ECS moves the traffic back" in flat
    sandbox.control.settle()
    assert _latest(sandbox)["status"].startswith("ROLLBACK")


def test_init_onboards_a_blue_green_service_and_it_plans_no_changes(
    blue_green: App, sandbox: Any, tmp_path: Path
) -> None:
    from click.testing import CliRunner
    from ruamel.yaml import YAML

    from ecsdeploy.cli import cli

    out = tmp_path / "onboarded"
    result = CliRunner().invoke(
        cli,
        [
            *("--endpoint-url", sandbox.endpoint_url, "--region", "us-east-1", "init"),
            *("--cluster", CLUSTER, "--service", "web", "--dir", str(out)),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    # ecsdeploy's own pause follows test_http, which init cannot know: it says so.
    assert "ecsdeploy pauses there for `checks.test_http`" in " ".join(result.output.split())
    web = YAML(typ="safe").load((out / "deploy.yaml").read_text())["services"]["web"]
    assert web["deployment"]["strategy"] == "blue_green"
    assert web["deployment"]["bake_time"] == "5m"
    lb = web["load_balancer"]
    assert {lb["target_group"], lb["alternate_target_group"]} == {
        "quickstart-web",
        "quickstart-web-green",
    }
    assert lb["production_listener_rule"] == RULE
    assert lb["test_listener_rule"] == TEST_RULE
    assert lb["role"] == "arn:aws:iam::123456789012:role/ecs-infrastructure"
    # With the test check added back, the onboarded file plans no change.
    text = (out / "deploy.yaml").read_text()
    role_line = next(line for line in text.splitlines() if line.startswith("      role: "))
    text = text.replace(
        role_line + "\n",
        role_line + "\n      checks:\n"
        '        test_http: {url: "http://test.quickstart.example.com/health"}\n',
    )
    (out / "deploy.yaml").write_text(text)
    onboarded = App(out, sandbox.endpoint_url)
    plan = onboarded.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 0, plan.output
    assert plan.output.rstrip().endswith("No changes."), plan.output


def test_a_saved_plan_carries_the_strategy_and_its_checks_to_apply(
    blue_green: App, sandbox: Any, tmp_path: Path
) -> None:
    import json

    from jsonschema import Draft202012Validator

    from tests.apps import ROOT

    _release(blue_green)
    saved = tmp_path / "plan.json"
    plan = blue_green.run("plan", "--out", str(saved))
    assert plan.exit_code == 0, plan.output
    data = json.loads(saved.read_text())
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    Draft202012Validator(schema).validate(data)
    (web,) = [s for s in data["services"] if s["key"] == "web"]
    (wait,) = [s for s in web["steps"] if s["kind"] == "wait"]
    assert wait["strategy"] == "blue_green"
    assert wait["bake_seconds"] == 300
    (entry,) = wait["load_balancers"]
    assert entry["test_http"]["url"] == "http://test.quickstart.example.com/health"
    assert entry["production_listener_rule"] == RULE
    # deploy.yaml edited after the plan changes nothing: apply runs what was reviewed.
    blue_green.edit("deploy.yaml", "test.quickstart.example.com", "elsewhere.example.com")
    result = blue_green.run("apply", str(saved), "--yes")
    assert result.exit_code == 0, result.output
    out = _flat(result.output)
    assert "GET http://test.quickstart.example.com/health: 200" in out
    assert "test checks passed" in out
    assert _latest(sandbox)["status"] == "SUCCESSFUL"


def test_rollback_goes_back_through_a_blue_green_deployment(blue_green: App, sandbox: Any) -> None:
    before = _service(sandbox)["taskDefinition"]
    _release(blue_green)
    assert blue_green.run("apply", "--yes").exit_code == 0
    assert _service(sandbox)["taskDefinition"] != before
    result = blue_green.run("rollback", "web")
    assert result.exit_code == 0, result.output
    assert _service(sandbox)["taskDefinition"] == before
    assert _latest(sandbox)["status"] == "SUCCESSFUL"  # a blue/green deployment of the old one


def test_checks_outlasting_ecs_pause_end_as_ecs_rolled_back_not_as_passed(
    blue_green: App, sandbox: Any
) -> None:
    # 4 attempts 1 s apart: ~3 s real, 30 simulated minutes, past the pause's 16.
    blue_green.edit(
        "deploy.yaml",
        'test_http: {url: "http://test.quickstart.example.com/health", attempts: 2, '
        "interval: 100ms}",
        'test_http: {url: "http://test.quickstart.example.com/health", attempts: 4, interval: 1s}',
    )
    _release(blue_green, ' {"name": "SANDBOX_HTTP_STATUS", "value": "500"},')
    result = blue_green.run("apply", "--yes")
    assert result.exit_code == 1, result.output
    out = _flat(result.output)
    assert "ECS's pause after the test traffic shift ended before the test checks did" in out
    assert "pause hook timed out" in out
    assert "ContinueServiceDeployment" not in out.split("ended before the test checks did")[1]
    assert "test checks passed" not in out
    assert _latest(sandbox)["status"] == "ROLLBACK_SUCCESSFUL"
    history = blue_green.run("history", "web")
    assert "rolled_back" in history.output, history.output
