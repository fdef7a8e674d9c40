"""Template checks end to end on the sandbox: task-level cpu/memory written as numbers
reach ECS as strings, and secrets written as literals are warned about, never shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ecsdeploy.cli import cli
from ecsdeploy.render.checks import secret_like, secret_literals
from tests.apps import App, copy_sample, seed_app
from tests.execute.conftest import fast

SECRET_VALUE = "pa55-Very-Secret-9f3a"


@pytest.fixture
def app(sandbox: Any, tmp_path: Path) -> App:
    folder = copy_sample("quickstart", tmp_path)
    fast(folder)
    return seed_app(sandbox, folder)


def test_task_cpu_and_memory_as_numbers_are_planned_and_registered_as_strings(
    app: App, sandbox: Any
) -> None:
    app.edit(
        "taskdefs/web.json.j2",
        '"requiresCompatibilities": ["EC2"],',
        '"requiresCompatibilities": ["EC2"],\n  "cpu": 256,\n  "memory": 512,',
    )
    result = app.run("plan", "--format", "json", "--service", "web")
    assert result.exit_code == 0, result.output
    web = next(s for s in json.loads(result.output)["services"] if s["key"] == "web")
    assert web["task_definition"]["cpu"] == "256"
    assert web["task_definition"]["memory"] == "512"

    result = app.run("apply", "--yes", "--service", "web")
    assert result.exit_code == 0, result.output
    ecs = sandbox.client("ecs")
    arn = ecs.describe_services(cluster="quickstart", services=["web"])["services"][0][
        "taskDefinition"
    ]
    registered = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    assert (registered["cpu"], registered["memory"]) == ("256", "512")

    # The next plan sees the live strings and the template's numbers as the same thing.
    result = app.run("plan", "--detailed-exitcode", "--service", "web")
    assert result.exit_code == 0, result.output


def _with_literal_secret(app: App) -> None:
    app.edit(
        "taskdefs/web.json.j2",
        '{"name": "PORT", "value": "8080"},',
        f'{{"name": "PORT", "value": "8080"}}, {{"name": "DB_PASSWORD", "value": "{SECRET_VALUE}"}},',
    )


WARNING = (
    "taskdefs/web.json.j2: containerDefinitions[web].environment[DB_PASSWORD]: DB_PASSWORD "
    "looks like a secret but holds a literal value"
)


def test_validate_warns_about_a_literal_secret_without_printing_it(
    app: App, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_literal_secret(app)
    with app.deploy_yaml.open("a") as f:
        f.write("environments:\n  staging:\n    vars: {log_level: debug}\n")
    sandbox.control.reset_calls()  # seeding's calls
    monkeypatch.chdir(app.dir)
    result = CliRunner().invoke(cli, ["--revision", "a" * 40, "validate"])
    assert "ok: environment staging" in result.stdout
    assert result.exit_code == 0, result.output
    assert f"warning: {WARNING}" in result.stderr
    assert "`secrets` with `valueFrom`" in result.stderr
    assert result.stderr.count("DB_PASSWORD looks like") == 1  # once, not per environment
    assert result.stdout.rstrip().endswith("deploy.yaml is valid (1 warning).")
    assert SECRET_VALUE not in result.output
    assert sandbox.control.calls() == {}


def test_verify_and_plan_warn_about_a_literal_secret_without_printing_it(
    app: App, sandbox: Any
) -> None:
    _with_literal_secret(app)
    result = app.run("verify", "--format", "json")
    assert result.exit_code == 0, result.output
    findings = [f for f in json.loads(result.output)["findings"] if f["rule"] == "secret-literal"]
    assert len(findings) == 1
    finding = findings[0]
    assert finding["severity"] == "warning"
    assert finding["service"] == "web"
    assert finding["message"].startswith(
        "containerDefinitions[web].environment[DB_PASSWORD]: DB_PASSWORD looks like a secret"
    )
    assert "valueFrom" in finding["fix"]
    assert SECRET_VALUE not in result.output

    result = app.run("verify")
    assert result.exit_code == 0, result.output
    assert "warning: containerDefinitions[web].environment[DB_PASSWORD]" in result.output
    assert SECRET_VALUE not in result.output

    result = app.run("plan")
    assert result.exit_code == 0, result.output
    assert "DB_PASSWORD looks like a secret" in result.output
    assert SECRET_VALUE not in result.output


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD",
        "PASSWORD",
        "db_pass",
        "MYSQL_PWD",
        "JWT_SECRET",
        "SECRET_KEY_BASE",
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "githubToken",
        "apiKey",
        "API_KEY",
        "STRIPE_API_KEY",
        "PRIVATE_KEY",
        "SSH_PRIVATE_KEY",
        "GOOGLE_CREDENTIALS",
        "REGISTRY_CREDENTIAL",
        "passphrase",
    ],
)
def test_names_that_look_like_secrets(name: str) -> None:
    assert secret_like(name)


@pytest.mark.parametrize(
    "name",
    [
        "PWD",
        "PORT",
        "LOG_LEVEL",
        "TOKENIZER_MODEL",
        "BYPASS_CACHE",
        "PASSTHROUGH",
        "SECRETARY_EMAIL",
        "AWS_ACCESS_KEY_ID",
        "DB_PASSWORD_FILE",
        "SECRET_ARN",
        "TOKEN_URL",
        "PASSWORD_MIN_LENGTH",
        "TOKEN_TTL",
        "KEYBOARD",
        "",
    ],
)
def test_names_that_do_not(name: str) -> None:
    assert not secret_like(name)


def test_only_literal_values_are_reported() -> None:
    env = [
        {"name": "A_TOKEN", "value": "abc123xyz"},
        {"name": "B_TOKEN", "value": ""},
        {"name": "C_TOKEN", "value": "   "},
        {"name": "D_TOKEN"},
        {"name": "E_TOKEN", "value": "arn:aws:secretsmanager:us-east-1:1:secret:x"},
        {"name": "F_TOKEN", "value": "/run/secrets/token"},
        {"name": "G_TOKEN", "value": "true"},
        {"name": "H_TOKEN", "value": "3600"},
        {"name": "LOG_LEVEL", "value": "debug"},
        "not an object",
    ]
    td = {"containerDefinitions": [{"name": "app", "environment": env}, {"environment": env[:1]}]}
    found = secret_literals(td)
    assert [p.path for p in found] == [
        "containerDefinitions[app].environment[A_TOKEN]",
        "containerDefinitions[1].environment[A_TOKEN]",
    ]
    assert all("abc123xyz" not in p.message + str(p.hint) for p in found)
