"""`ecsdeploy plan` against the sandbox: exact, complete, read-only, and free of secrets."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.apps import REV_A, REV_B, App, copy_sample, seed_app, write_calls


@pytest.fixture
def app(sandbox: Any, tmp_path: Path) -> App:
    return seed_app(sandbox, copy_sample("quickstart", tmp_path))


def test_unchanged_is_no_changes_with_exit_0(app: App) -> None:
    result = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("No changes.")
    assert "service web (web in cluster quickstart): no changes" in result.output


def test_new_revision_plans_image_register_update(app: App) -> None:
    result = app.run("plan", "--detailed-exitcode", "--service", "web")
    assert result.exit_code == 2, result.output
    out = result.output
    assert out.count("+ image web:") == 1
    assert out.count("+ register task definition quickstart-web") == 1
    assert out.count("~ update service") == 1
    assert "worker" not in out.split("Plan:")[0].replace("quickstart/worker", "")
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/quickstart/web"
    assert f'~       image: "{uri}:aaaaaaa" -> "{uri}:bbbbbbb"' in out
    assert f"{uri}:latest -> {uri}:bbbbbbb (re-tag in the registry)" in out
    assert "taskDefinition: quickstart-web:1 -> quickstart-web:(new)" in out
    assert out.rstrip().endswith(
        "Plan: 1 image to push, 1 task definition to register, 1 service to update, "
        "0 revisions to deregister."
    )


def test_one_env_var_change_is_one_diff_line(app: App) -> None:
    result = app.run("plan", "--format", "json", "--var", "log_level=debug", revision=REV_A)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    web = next(s for s in plan["services"] if s["key"] == "web")
    register = next(s for s in web["steps"] if s["kind"] == "register")
    changes = register["diff"]["changes"]
    assert changes == [
        {
            "path": "containerDefinitions[web].environment[LOG_LEVEL]",
            "action": "update",
            "before": "info",
            "after": "debug",
        }
    ]
    changed_lines = [line for line in register["diff"]["text"].splitlines() if line[:1] in "+-~"]
    assert changed_lines == ['~     LOG_LEVEL: "info" -> "debug"']
    # No image step: the revision, hence the tag, did not change.
    assert [s["kind"] for s in web["steps"]] == ["register", "update_service", "wait"]


def test_json_is_stable_and_documented(app: App) -> None:
    plan = json.loads(app.run("plan", "--format", "json").output)
    assert plan["format_version"] == 4
    assert plan["changed"] is True
    assert plan["revision"] == REV_B
    assert plan["counts"] == {"images": 2, "register": 2, "create": 0, "update": 2, "deregister": 0}
    assert [s["key"] for s in plan["services"]] == ["worker", "web"]  # web depends_on worker
    web = plan["services"][1]
    assert web["fingerprint"]["task_definition"].endswith("task-definition/quickstart-web:1")
    assert web["fingerprint"]["deployment"].startswith("ecs-svc/")


def test_markdown_for_a_pull_request(app: App) -> None:
    out = app.run("plan", "--format", "markdown").output
    assert out.startswith("### ecsdeploy plan: revision bbbbbbb00000")
    assert "**Plan: 2 images to push, 2 task definitions to register" in out
    assert "| `web` | `quickstart` |" in out
    assert out.count("<details>") == out.count("</details>") == 2
    assert out.count("```diff") == 2


def test_plan_only_reads(app: App, sandbox: Any) -> None:
    sandbox.control.reset_calls()
    assert app.run("plan").exit_code == 0
    calls = sandbox.control.calls()
    assert calls, "the plan made no call at all"
    assert write_calls(calls) == []
    assert calls["ecs:DescribeServices"] == 1
    assert calls["ecs:DescribeTaskDefinition"] == 2  # each revision in use, once


def test_revision_already_registered_is_reused(app: App, sandbox: Any) -> None:
    # An apply interrupted after its register: the latest revision already equals the render.
    from ecsdeploy.config import load_config
    from ecsdeploy.render import Renderer

    config = load_config(app.deploy_yaml)
    td = Renderer(config, revision=REV_B).render_service("web").task_definition
    sandbox.client("ecs").register_task_definition(**td)
    result = app.run("plan", "--service", "web")
    assert "task definition quickstart-web:2 (already registered, reused)" in result.output
    assert "taskDefinition: quickstart-web:1 -> quickstart-web:2" in result.output
    assert "0 task definitions to register" in result.output


def test_old_revisions_beyond_keep_are_deregistered(app: App, sandbox: Any) -> None:
    from ecsdeploy.config import load_config
    from ecsdeploy.render import Renderer

    config = load_config(app.deploy_yaml)
    ecs = sandbox.client("ecs")
    for i in range(4):  # revisions 2..5 of quickstart-web, not used by any service
        td = Renderer(config, revision=f"{i}" * 7).render_service("web").task_definition
        ecs.register_task_definition(**td)
    # keep_revisions is 3: the new one plus the 2 newest (5, 4). Revision 1 goes too:
    # once the service runs the new one, nothing uses it.
    result = app.run("plan", "--service", "web")
    assert "- deregister quickstart-web:3, quickstart-web:2, quickstart-web:1" in result.output
    assert "3 revisions to deregister." in result.output


def test_revision_used_by_another_service_is_kept(app: App, sandbox: Any) -> None:
    from ecsdeploy.config import load_config
    from ecsdeploy.render import Renderer

    config = load_config(app.deploy_yaml)
    ecs = sandbox.client("ecs")
    for i in range(3):
        td = Renderer(config, revision=f"{i}" * 7).render_service("web").task_definition
        ecs.register_task_definition(**td)
    # Another service, not in deploy.yaml, runs revision 2.
    ecs.create_service(
        cluster="quickstart",
        serviceName="shadow",
        taskDefinition="quickstart-web:2",
        desiredCount=0,
        launchType="EC2",
    )
    result = app.run("plan", "--service", "web")
    assert "- deregister quickstart-web:1" in result.output
    assert "quickstart-web:2," not in result.output.split("- deregister")[1]


def test_saved_plan_file(app: App, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = app.run("plan", "--out", str(out))
    assert result.exit_code == 0
    assert f"Saved the plan to {out}" in result.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    data = json.loads(out.read_text())
    assert data["format_version"] == 4
    web = next(s for s in data["services"] if s["key"] == "web")
    assert web["task_definition"]["family"] == "quickstart-web"
    assert web["task_definition"]["containerDefinitions"][0]["image"].endswith(":bbbbbbb")


def test_missing_cluster_is_bad_input(app: App) -> None:
    app.edit("deploy.yaml", "name: quickstart", "name: nowhere")
    result = app.run("plan")
    assert result.exit_code == 3, result.output
    assert "clusters.main.name: cluster nowhere does not exist in us-east-1" in result.output


def test_missing_source_image_is_bad_input(app: App) -> None:
    app.edit("deploy.yaml", "promote: latest", "promote: nosuchtag")
    result = app.run("plan")
    assert result.exit_code == 3, result.output
    assert (
        "images.web.promote: the promote source "
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/quickstart/web:nosuchtag does not exist"
    ) in result.output


def test_first_deploy_is_a_create(app: App) -> None:
    text = app.deploy_yaml.read_text()
    app.deploy_yaml.write_text(
        text.replace(
            "\n  worker:\n    cluster: main",
            "\n  api:\n    cluster: main\n    launch_type: EC2\n"
            "    task_definition: taskdefs/web.json.j2\n    desired_count: 1\n"
            "    zero_downtime: false\n  worker:\n    cluster: main",
            1,
        )
    )
    result = app.run("plan", "--service", "api")
    assert result.exit_code == 0, result.output
    assert "+ create service" in result.output
    assert "1 service to create" in result.output


def test_unreachable_endpoint_is_a_clear_error(app: App) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = app.run("--endpoint-url", f"http://127.0.0.1:{port}", "plan")
    assert result.exit_code == 1
    assert f"error: cannot connect to http://127.0.0.1:{port} (connection refused)" in (
        result.output
    )
    assert "is the sandbox running?" in result.output


def test_latest_revision_reads_the_newest_active_one(app: App, sandbox: Any) -> None:
    from ecsdeploy.adapters.aws import AwsClients, AwsSettings
    from ecsdeploy.adapters.ecs import EcsAdapter

    ecs = sandbox.client("ecs")
    td = ecs.describe_task_definition(taskDefinition="quickstart-web")["taskDefinition"]
    fields = ("family", "containerDefinitions", "networkMode", "cpu", "memory")
    second = ecs.register_task_definition(**{k: td[k] for k in fields if k in td})
    adapter = EcsAdapter(AwsClients(AwsSettings("us-east-1", None, sandbox.endpoint_url)))
    assert (
        adapter.latest_revision("quickstart-web") == second["taskDefinition"]["taskDefinitionArn"]
    )
    # The newest deregistered: the one before it (ECS's answer; moto's needs a listing).
    ecs.deregister_task_definition(taskDefinition="quickstart-web:2")
    assert adapter.latest_revision("quickstart-web") == td["taskDefinitionArn"]
    assert adapter.latest_revision("no-such-family") is None


def test_an_unknown_profile_is_an_error_that_says_so(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "aws-config"
    config.write_text("[profile known]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    result = app.run("plan", "--profile", "nosuch")
    assert result.exit_code == 1, result.output
    assert "The config profile (nosuch) could not be found" in result.output
    assert "check --profile and ~/.aws/config" in result.output


def _no_region_anywhere(app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No region in deploy.yaml, the AWS config file or the environment."""
    app.edit("deploy.yaml", "region: us-east-1\n", "")
    empty = tmp_path / "aws-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


def test_no_region_anywhere_is_an_error_that_says_so(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_region_anywhere(app, tmp_path, monkeypatch)
    result = app.run("plan")
    assert result.exit_code == 1, result.output
    assert "no AWS region is set" in result.output
    assert "set `region:` in deploy.yaml, pass --region, or set AWS_REGION" in result.output


def test_the_command_flushes_everything_before_its_quick_exit(app: App) -> None:
    # `python -m ecsdeploy` ends with os._exit after flushing: the whole JSON arrives
    # through the pipe, with the exit code the plan asked for.
    import subprocess
    import sys

    proc = subprocess.run(
        [
            *(sys.executable, "-m", "ecsdeploy", "-f", str(app.deploy_yaml)),
            *("--revision", REV_B, "plan", "--format", "json", "--detailed-exitcode"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["counts"]["register"] == 2
    missing = subprocess.run(
        [sys.executable, "-m", "ecsdeploy", "-f", "/nonexistent/deploy.yaml", "validate"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 3
    assert "error: /nonexistent/deploy.yaml not found" in missing.stderr


def test_aws_region_alone_is_enough(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_REGION, which the AWS SDKs and CLI v2 read, works without AWS_DEFAULT_REGION."""
    _no_region_anywhere(app, tmp_path, monkeypatch)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    result = app.run("plan")
    assert result.exit_code == 0, result.output
    assert "region us-east-1" in result.output
