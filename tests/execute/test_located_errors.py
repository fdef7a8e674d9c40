"""Errors a new user makes in deploy.yaml that only AWS can reveal: each is bad input
(exit 3), at its line in deploy.yaml, with what does exist."""

from __future__ import annotations

from typing import Any

import pytest

from tests.apps import App, lock_tags, write_calls

CLUSTER_HINT = (
    "(clusters in region us-east-1, account 123456789012: quickstart; did you mean "
    "quickstart?; wrong region? see --region, AWS_REGION or `region:` in deploy.yaml)"
)


@pytest.mark.parametrize(
    "command",
    [("plan",), ("verify",), ("apply", "--yes"), ("rollback", "web"), ("history", "web")],
    ids=lambda c: c[0],
)
def test_a_wrong_cluster_name_is_located_with_the_clusters_there_are(
    app: App, sandbox: Any, command: tuple[str, ...]
) -> None:
    app.edit("deploy.yaml", "    name: quickstart\n", "    name: quickstart-prd\n")
    sandbox.control.reset_calls()
    result = app.run(*command)
    assert result.exit_code == 3, result.output
    assert result.output.splitlines()[-1] == (
        f"error: {app.deploy_yaml}:31:11: clusters.main.name: cluster quickstart-prd does not "
        f"exist in us-east-1 {CLUSTER_HINT}"
    ), result.output
    assert write_calls(sandbox.control.calls()) == []
    assert lock_tags(app.endpoint_url, "quickstart") == {}


def test_a_wrong_cluster_name_in_an_environment_is_located_there(app: App) -> None:
    app.edit(
        "deploy.yaml",
        "services:\n",
        "environments:\n  production:\n    clusters:\n      main: {name: prod}\n\nservices:\n",
    )
    result = app.run("-e", "production", "plan")
    assert result.exit_code == 3, result.output
    line = result.output.splitlines()[-1]
    assert line.startswith(f"error: {app.deploy_yaml}:")
    assert ": clusters.main.name: cluster prod does not exist in us-east-1" in line
    number = int(line.split(":")[2])
    assert app.deploy_yaml.read_text().splitlines()[number - 1].strip() == "main: {name: prod}"


def test_in_an_empty_region_the_hint_is_the_region(app: App) -> None:
    result = app.run("--region", "eu-west-3", "plan")
    assert result.exit_code == 3, result.output
    assert "cluster quickstart does not exist in eu-west-3 (there is no cluster in region " in (
        result.output
    )
    assert "wrong region? see --region, AWS_REGION or `region:` in deploy.yaml" in result.output
