"""One verdict: a plan marks a pre-flight finding as blocking in every format exactly
when apply refuses (exit 4), and `plan --allow-downtime` carries the override."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.apps import App, copy_sample, seed_app, write_calls
from tests.execute.conftest import fast
from tests.verify.apps import REGISTRY_ENV, private_registry, remove_idle_instance


def _quickstart(sandbox: Any, tmp_path: Path, edit: Callable[[App], None]) -> App:
    folder = copy_sample("quickstart", tmp_path)
    fast(folder)
    app = seed_app(sandbox, folder)
    edit(app)
    return app


def _deployment(desired: int, minimum: int, maximum: int) -> Callable[[App], None]:
    def edit(app: App) -> None:
        app.edit("deploy.yaml", "    desired_count: 2\n", f"    desired_count: {desired}\n")
        app.edit(
            "deploy.yaml",
            "      minimum_healthy_percent: 50\n      maximum_percent: 200\n",
            f"      minimum_healthy_percent: {minimum}\n      maximum_percent: {maximum}\n",
        )

    return edit


def _no_load_balancer(app: App) -> None:
    text = app.deploy_yaml.read_text()
    start = text.index("    load_balancer:\n")
    end = text.index("    keep_revisions: 3\n", start)
    app.deploy_yaml.write_text(text[:start] + text[end:])


def _nothing(app: App) -> None:
    return None


CASES = {
    # case: (how to make it, the rule that blocks or None, a downtime finding)
    "no load balancer": (_no_load_balancer, "load-balancer", True),
    "desired 1, minimum 0": (_deployment(1, 0, 200), "minimum-healthy", True),
    "minimum 100, maximum 100": (_deployment(2, 100, 100), "progress", False),
    "as the sample is": (_nothing, None, False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_plan_blocks_exactly_when_apply_refuses(
    case: str, sandbox: Any, tmp_path: Path
) -> None:
    edit, rule, downtime = CASES[case]
    app = _quickstart(sandbox, tmp_path, edit)
    applied, fresh = _check_verdict(app, sandbox, tmp_path, rule)
    # How to accept downtime depends on where the verdict was made.
    saved_hint = "plan again with --allow-downtime, where reviewers see it"
    assert (saved_hint in applied.output) is downtime, applied.output
    assert ("accept downtime: --allow-downtime" in fresh.output) is downtime, fresh.output


def test_no_idle_instance_for_a_static_host_port(sandbox: Any, tmp_path: Path) -> None:
    folder = private_registry(tmp_path, minimum_healthy_percent=100)
    app = seed_app(sandbox, folder)
    remove_idle_instance(sandbox, "shop-prod")
    _check_verdict(app, sandbox, tmp_path, "capacity", env=dict(REGISTRY_ENV))


def _check_verdict(
    app: App, sandbox: Any, tmp_path: Path, rule: str | None, env: dict[str, str] | None = None
) -> tuple[Any, Any]:
    blocking = rule is not None
    text = app.run("plan", env=env)
    markdown = app.run("plan", "--format", "markdown", env=env)
    as_json = app.run("plan", "--format", "json", env=env)
    plan_file = tmp_path / "plan.json"
    saved = app.run("plan", "--out", str(plan_file), env=env)
    for result in (text, markdown, as_json, saved):
        assert result.exit_code == (4 if blocking else 0), result.output

    data = json.loads(as_json.stdout)
    marked = [f for s in data["services"] for f in s["findings"] if f["blocking"]]
    assert data["verdict"]["apply_refuses"] is blocking
    assert [f["rule"] for f in marked] == ([rule] if blocking else [])
    if blocking:
        assert "x blocking: " in text.output
        assert "Apply will refuse this plan: 1 blocking finding." in text.output
        assert "error: apply would refuse this plan" in text.output
        assert "**1 blocking**" in markdown.stdout
        assert "- **blocking:** " in markdown.stdout
    else:
        assert "blocking" not in text.output
        assert "blocking**" not in markdown.stdout

    sandbox.control.reset_calls()
    applied = app.run("apply", str(plan_file), env=env)
    assert applied.exit_code == (4 if blocking else 0), applied.output
    fresh = app.run("apply", "--yes", env=env)
    assert fresh.exit_code == (4 if blocking else 0), fresh.output
    if blocking:
        assert "zero-downtime pre-flight failed: 1 blocking finding" in applied.output
        assert write_calls(sandbox.control.calls(), lock_aside=True) == []
    return applied, fresh


def test_plan_allow_downtime_is_recorded_and_honoured(sandbox: Any, tmp_path: Path) -> None:
    app = _quickstart(sandbox, tmp_path, _no_load_balancer)
    plan_file = tmp_path / "plan.json"
    made = app.run("plan", "--allow-downtime", "--out", str(plan_file))
    assert made.exit_code == 0, made.output
    assert "error, accepted (--allow-downtime): the service has no load balancer" in made.output
    data = json.loads(plan_file.read_text())
    assert data["verdict"] == {"apply_refuses": False, "allow_downtime": True, "blocking": 0}
    applied = app.run("apply", str(plan_file))
    assert applied.exit_code == 0, applied.output
    assert "web: deployed" in applied.output


def test_allow_downtime_never_lets_a_failure_finding_through(sandbox: Any, tmp_path: Path) -> None:
    app = _quickstart(sandbox, tmp_path, _deployment(2, 100, 100))
    made = app.run("plan", "--allow-downtime")
    assert made.exit_code == 4, made.output
    assert "x blocking: minimum_healthy_percent 100 and maximum_percent 100" in made.output
