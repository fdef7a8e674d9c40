"""A saved plan is what runs: `apply plan.json` sends the plan's requests, never a later
edit of deploy.yaml or a template, and needs neither of them."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ecsdeploy.cli import cli
from ecsdeploy.plan.normalize import normalize_task_definition
from tests.apps import App, copy_sample, seed_app
from tests.execute.conftest import fast
from tests.fixtures.gitrepo import git


def _service(sandbox: Any, name: str) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.client("ecs").describe_services(
        cluster="quickstart", services=[name]
    )["services"][0]
    return found


def _registered(sandbox: Any, arn: str) -> dict[str, Any]:
    td: dict[str, Any] = sandbox.client("ecs").describe_task_definition(taskDefinition=arn)[
        "taskDefinition"
    ]
    return td


def _planned(plan: dict[str, Any], key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plan's RegisterTaskDefinition input and service request for a service."""
    service = next(s for s in plan["services"] if s["key"] == key)
    request = next(
        st["request"]
        for st in service["steps"]
        if st["kind"] in ("update_service", "create_service")
    )
    return service["task_definition"], request


def _committed_app(sandbox: Any, tmp_path: Path, make_git_repo: Callable[..., Path]) -> App:
    folder = copy_sample("quickstart", tmp_path)
    fast(folder)
    make_git_repo(folder)
    app = seed_app(sandbox, folder, revision=git(folder, "rev-parse", "HEAD"))
    # The change under review: a new environment value for web.
    app.edit("taskdefs/web.json.j2", '"value": "8080"', '"value": "8081"')
    git(folder, "commit", "-qam", "web listens on 8081")
    return app


def test_edits_after_the_plan_are_not_applied(
    sandbox: Any, tmp_path: Path, make_git_repo: Callable[..., Path]
) -> None:
    app = _committed_app(sandbox, tmp_path, make_git_repo)
    plan_file = tmp_path / "plan.json"
    made = app.run("plan", "--out", str(plan_file), "--service", "web", revision=None)
    assert made.exit_code == 0, made.output
    plan = json.loads(plan_file.read_text())
    planned_td, planned_request = _planned(plan, "web")
    assert planned_request["desiredCount"] == 2

    # After the review: a template edit and deploy.yaml edits, committed.
    app.edit("taskdefs/web.json.j2", '"value": "8081"', '"value": "9999"')
    app.edit("deploy.yaml", "desired_count: 2", "desired_count: 5")
    app.edit("deploy.yaml", "minimum_healthy_percent: 50", "minimum_healthy_percent: 100")
    git(app.dir, "commit", "-qam", "edits nobody reviewed")

    result = app.run("apply", str(plan_file), revision=None)
    assert result.exit_code == 0, result.output

    live = _service(sandbox, "web")
    assert live["desiredCount"] == 2
    assert live["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    for field in ("desiredCount", "deploymentConfiguration"):
        sent = planned_request[field]
        got = live[field]
        assert {k: got[k] for k in sent} == sent if isinstance(sent, dict) else got == sent
    registered = _registered(sandbox, live["taskDefinition"])
    assert normalize_task_definition(registered) == normalize_task_definition(planned_td)
    environment = registered["containerDefinitions"][0]["environment"]
    assert {"name": "PORT", "value": "8081"} in environment
    assert "9999" not in json.dumps(registered, default=str)

    # The edits are what the next plan shows.
    after = app.run("plan", "--service", "web", revision=None)
    assert "desiredCount: 2 -> 5" in after.output
    assert '"8081" -> "9999"' in after.output or "8081 -> 9999" in after.output


def test_a_plan_file_applies_from_an_empty_folder(
    sandbox: Any, tmp_path: Path, make_git_repo: Callable[..., Path]
) -> None:
    app = _committed_app(sandbox, tmp_path, make_git_repo)
    plan_file = tmp_path / "plan.json"
    assert app.run("plan", "--out", str(plan_file), revision=None).exit_code == 0
    planned_td, planned_request = _planned(json.loads(plan_file.read_text()), "web")

    # As a CI job would have it: the artifact alone, in a folder with nothing else.
    empty = tmp_path / "artifact"
    empty.mkdir()
    shutil.copy(plan_file, empty / "plan.json")
    shutil.rmtree(app.dir)  # no deploy.yaml, no templates, no Git repository anywhere
    cwd = os.getcwd()
    try:
        os.chdir(empty)
        result = CliRunner().invoke(cli, ["apply", "plan.json"], catch_exceptions=False)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    assert "web: deployed" in result.output
    live = _service(sandbox, "web")
    assert live["desiredCount"] == planned_request["desiredCount"]
    registered = _registered(sandbox, live["taskDefinition"])
    assert normalize_task_definition(registered) == normalize_task_definition(planned_td)


def test_apply_of_a_plan_file_refuses_allow_downtime(app: App, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    assert app.run("plan", "--out", str(plan_file)).exit_code == 0
    result = app.run("apply", str(plan_file), "--allow-downtime")
    assert result.exit_code == 3, result.output
    assert "--allow-downtime cannot change a saved plan's verdict" in result.output
    assert "ecsdeploy plan --allow-downtime --out FILE" in result.output


def test_a_service_deleted_after_its_revision_was_registered_is_created_on_it(
    app: App, sandbox: Any
) -> None:
    """A first apply killed between RegisterTaskDefinition and CreateService: the next
    apply creates the service on the revision already registered, without a new one."""
    from ecsdeploy.config import load_config
    from ecsdeploy.render import Renderer
    from tests.apps import REV_B

    config = load_config(app.deploy_yaml)
    td = Renderer(config, revision=REV_B).render_service("web").task_definition
    ecs = sandbox.client("ecs")
    ecs.register_task_definition(**td)
    ecs.update_service(cluster="quickstart", service="web", desiredCount=0)
    ecs.delete_service(cluster="quickstart", service="web", force=True)

    plan = app.run("plan", "--service", "web")
    assert plan.exit_code == 0, plan.output
    assert "task definition quickstart-web:2 (already registered, reused)" in plan.output
    assert "create service" in plan.output
    result = app.run("apply", "--yes", "--service", "web")
    assert result.exit_code == 0, result.output
    assert "creating service web on quickstart-web:2" in result.output
    assert _service(sandbox, "web")["taskDefinition"].endswith("quickstart-web:2")
    families = ecs.list_task_definitions(familyPrefix="quickstart-web")["taskDefinitionArns"]
    assert [a.rsplit(":", 1)[1] for a in families] == ["1", "2"]


def test_plan_and_apply_as_a_library(app: App, sandbox: Any) -> None:
    """The operations without the command line: typed options in, typed results out."""
    import io

    from ecsdeploy.adapters.aws import AwsSettings
    from ecsdeploy.config import load_config
    from ecsdeploy.context import prepare
    from ecsdeploy.execute.report import Reporter
    from ecsdeploy.operations.apply import ApplyOptions, apply_plan
    from ecsdeploy.operations.plan import PlanOptions, make
    from ecsdeploy.plan.model import Plan
    from ecsdeploy.plan.serialize import from_dict, to_dict
    from tests.apps import REV_B

    settings = AwsSettings(sandbox.region, None, sandbox.endpoint_url)
    ctx = prepare(load_config(app.deploy_yaml), revision=REV_B, settings=settings)
    plan, _live = make(ctx, PlanOptions(services=("web",)))
    assert not plan.blocking
    saved = from_dict(json.loads(json.dumps(to_dict(plan, for_apply=True))))
    assert saved.services[0].service_step is not None

    progress = io.StringIO()

    class Quiet:
        def show_plan(self, plan: Plan) -> None:
            raise AssertionError("a saved plan is not shown again")

        def confirm(self, plan: Plan) -> bool:
            raise AssertionError("a saved plan is not asked about")

        def reporter(self, services: list[str]) -> Reporter:
            return Reporter(progress)

    result = apply_plan(saved, settings, ApplyOptions(), Quiet())
    assert result.status == "ok", progress.getvalue()
    assert result.exit_status == 0
    (web,) = result.results
    assert (web.key, web.status) == ("web", "ok")
    assert web.old_revision is not None and web.old_revision.endswith("quickstart-web:1")
    assert web.new_revision is not None and web.new_revision.endswith("quickstart-web:2")
    assert "web: deployed: on quickstart-web:2" in progress.getvalue()


def test_a_plan_file_applied_again_after_its_register_reuses_the_revision(
    app: App, sandbox: Any, tmp_path: Path
) -> None:
    """An apply of plan.json killed between RegisterTaskDefinition and UpdateService:
    applying the same file again moves the service to that revision, registers none."""
    plan_file = tmp_path / "plan.json"
    assert app.run("plan", "--out", str(plan_file), "--service", "web").exit_code == 0
    planned_td, _ = _planned(json.loads(plan_file.read_text()), "web")
    ecs = sandbox.client("ecs")
    ecs.register_task_definition(**planned_td)  # what the killed run did

    result = app.run("apply", str(plan_file))
    assert result.exit_code == 0, result.output
    assert "reusing quickstart-web:2, registered by an earlier run" in result.output
    assert _service(sandbox, "web")["taskDefinition"].endswith("quickstart-web:2")
    families = ecs.list_task_definitions(familyPrefix="quickstart-web")["taskDefinitionArns"]
    assert [a.rsplit(":", 1)[1] for a in families] == ["1", "2"]
