"""deploy.yaml's deployment strategies, offline: what validate refuses (exit 3, at the
key, before any AWS call) and what the planner would send for each strategy."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecsdeploy.config import load_config
from ecsdeploy.plan.planner import deployment_configuration, load_balancers_request, stages
from ecsdeploy.plan.strategy import (
    ArnBase,
    comparable_hooks,
    desired_hooks,
    own_pause_hook,
    pause_minutes,
)
from tests.apps import App, copy_sample

RULE = (
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/quickstart/"
    "50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
)
TEST_RULE = RULE.replace("f2f7dc8efc522ab2/9683b2d02a6cabee", "0467ef3c8400ae65/1aa3b2d02a6cabee")
BLUE_GREEN = f"""    deployment:
      strategy: blue_green
      bake_time: 10m
      timeout: 5m
    load_balancer:
      target_group: quickstart-web
      alternate_target_group: quickstart-web-green
      production_listener_rule: {RULE}
      test_listener_rule: {TEST_RULE}
      role: ecs-infrastructure
      container: web
      port: 8080
      checks:
        test_http: {{url: "http://test.quickstart.example.com/health", attempts: 3}}
        http: {{url: "http://quickstart.example.com/health"}}
"""


def _folder(tmp_path: Path, web: str = BLUE_GREEN) -> App:
    folder = copy_sample("quickstart", tmp_path)
    deploy = folder / "deploy.yaml"
    text = deploy.read_text()
    start = text.index("    deployment:", text.index("  web:"))
    end = text.index("    keep_revisions: 3", start)
    deploy.write_text(text[:start] + web + text[end:])
    return App(folder, "http://127.0.0.1:9")  # no AWS call is made: nothing listens there


def test_a_blue_green_service_validates(tmp_path: Path) -> None:
    app = _folder(tmp_path)
    result = app.run("validate")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "      role: ecs-infrastructure\n",
            "",
            "`strategy: blue_green` needs `role` in every load balancer entry",
        ),
        (
            "      alternate_target_group: quickstart-web-green\n",
            "      alternate_target_group: quickstart-web\n",
            "`alternate_target_group` is the entry's `target_group`",
        ),
        (
            f"      test_listener_rule: {TEST_RULE}\n",
            f"      test_listener_rule: {RULE}\n",
            "`test_listener_rule` is the `production_listener_rule`",
        ),
        (
            f"      test_listener_rule: {TEST_RULE}\n",
            "",
            "`checks.test_http` needs `test_listener_rule`",
        ),
        ("bake_time: 10m", "bake_time: 90s", "`bake_time: 90s` is not a whole number of minutes"),
        (
            "bake_time: 10m",
            "bake_time: 25h",
            "`bake_time: 25h` is out of range: ECS takes 0 to 1440 minutes (24h)",
        ),
        (
            "      bake_time: 10m\n",
            "      bake_time: 10m\n      linear: {step_percent: 20}\n",
            "`deployment.linear` with `strategy: blue_green`",
        ),
        (
            "strategy: blue_green",
            "strategy: canary\n      canary: {percent: 2.55}",
            "`percent: 2.55`: ECS takes a multiple of 0.1 from 0.1 to 100",
        ),
        (
            "strategy: blue_green",
            "strategy: linear\n      linear: {step_bake_time: 30s}",
            "`step_bake_time: 30s` is not a whole number of minutes",
        ),
        (
            "      bake_time: 10m\n",
            "      bake_time: 10m\n      hooks: [{stage: post_scale_up, lambda: smoke, "
            "role: hooks, timeout: 2d}]\n",
            "not a duration",
        ),
        (
            "      bake_time: 10m\n",
            "      bake_time: 10m\n      hooks: [{stage: post_scale_up, lambda: smoke, "
            "role: hooks, timeout: 25h}]\n",
            "`timeout: 25h` is out of range: ECS takes 1 to 1440 minutes (24h)",
        ),
        (
            "      bake_time: 10m\n",
            "      bake_time: 10m\n      hooks: [{stage: bake_time, lambda: smoke, role: hooks}]\n",
            "hooks[0].stage",
        ),
        (
            "strategy: blue_green",
            "strategy: rolling",
            "`deployment.bake_time` with a rolling deployment",
        ),
    ],
)
def test_what_ecs_would_refuse_is_refused_offline(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    app = _folder(tmp_path)
    app.edit("deploy.yaml", old, new)
    result = app.run("validate")
    assert result.exit_code == 3, result.output
    assert "deploy.yaml:" in result.output
    assert message in " ".join(result.output.split()), result.output


def test_rolling_refuses_the_blue_green_keys(tmp_path: Path) -> None:
    app = _folder(tmp_path)
    app.edit("deploy.yaml", "      strategy: blue_green\n      bake_time: 10m\n", "")
    result = app.run("validate")
    assert result.exit_code == 3, result.output
    flat = " ".join(result.output.split())
    assert (
        "`alternate_target_group`, `production_listener_rule`, `role`, `test_listener_rule` "
        "with a rolling deployment" in flat
    )
    assert "`checks.test_http` with a rolling deployment" in flat


def test_a_strategy_needs_a_load_balancer(tmp_path: Path) -> None:
    app = _folder(tmp_path, "    deployment: {strategy: canary}\n")
    result = app.run("validate")
    assert result.exit_code == 3, result.output
    assert "`strategy: canary` needs a load balancer" in result.output


def test_a_daemon_cannot_shift_traffic(tmp_path: Path) -> None:
    app = _folder(tmp_path)
    app.edit("deploy.yaml", "    desired_count: 2\n", "    scheduling_strategy: DAEMON\n")
    result = app.run("validate")
    assert result.exit_code == 3, result.output
    assert "`strategy: blue_green` with `scheduling_strategy: DAEMON`" in " ".join(
        result.output.split()
    )


# --- what the planner sends (pure) ---------------------------------------------------


def _service(tmp_path: Path, web: str = BLUE_GREEN):  # type: ignore[no-untyped-def]
    app = _folder(tmp_path, web)
    return load_config(app.deploy_yaml).services["web"]


def test_the_request_carries_the_strategy_the_pause_and_advanced_configuration(
    tmp_path: Path,
) -> None:
    service = _service(tmp_path)
    base = ArnBase("arn:aws:ecs:us-east-1:123456789012:cluster/quickstart")
    hooks = desired_hooks(service, None, base)
    config = deployment_configuration(service, hooks, with_strategy=True)
    assert config["strategy"] == "BLUE_GREEN"
    assert config["bakeTimeInMinutes"] == 10
    # 3 attempts of (5s interval + 5s timeout) = 30s -> 1 minute, plus the margin.
    assert pause_minutes([service.load_balancers[0].checks.test_http]) == 16  # type: ignore[list-item]
    assert config["lifecycleHooks"] == [
        {
            "targetType": "PAUSE",
            "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
            "timeoutConfiguration": {"timeoutInMinutes": 16, "action": "ROLLBACK"},
        }
    ]
    lbs = load_balancers_request(
        service, {"quickstart-web": "arn:tg/blue", "quickstart-web-green": "arn:tg/green"}, base
    )
    assert lbs == [
        {
            "targetGroupArn": "arn:tg/blue",
            "containerName": "web",
            "containerPort": 8080,
            "advancedConfiguration": {
                "alternateTargetGroupArn": "arn:tg/green",
                "productionListenerRule": RULE,
                "testListenerRule": TEST_RULE,
                "roleArn": "arn:aws:iam::123456789012:role/ecs-infrastructure",
            },
        }
    ]
    assert stages(service)[2].startswith("pause: GET http://test.quickstart.example.com/health")


def test_lambda_hooks_are_sent_by_arn_and_foreign_hooks_kept(tmp_path: Path) -> None:
    web = BLUE_GREEN.replace(
        "      timeout: 5m\n",
        "      timeout: 5m\n      hooks:\n        - {stage: [post_scale_up, pre_scale_up], "
        "lambda: smoke, role: hooks, timeout: 10m}\n",
    )
    service = _service(tmp_path, web)
    base = ArnBase("arn:aws:ecs:us-east-1:123456789012:service/quickstart/web")
    hooks = desired_hooks(service, None, base)
    assert hooks is not None
    assert hooks[0] == {
        "targetType": "AWS_LAMBDA",
        "hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:smoke",
        "roleArn": "arn:aws:iam::123456789012:role/hooks",
        "lifecycleStages": ["POST_SCALE_UP", "PRE_SCALE_UP"],
        "timeoutConfiguration": {"timeoutInMinutes": 10, "action": "ROLLBACK"},
    }
    # Without `hooks:` the live Lambda hooks stay; ecsdeploy's pause follows test_http.
    plain = _service(tmp_path / "b")
    live = {
        "deploymentConfiguration": {
            "lifecycleHooks": [
                hooks[0],
                {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]},
            ]
        }
    }
    kept = desired_hooks(plain, live, base)
    assert kept == [hooks[0], own_pause_hook(plain)]
    # ECS's defaults are filled in when comparing: the same hooks compare equal.
    described = [dict(hooks[0]) | {"timeoutConfiguration": {"timeoutInMinutes": 10}}]
    assert comparable_hooks(described) == comparable_hooks([hooks[0]])
