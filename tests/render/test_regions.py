"""A region name that is not one (a typo, another tool's placeholder left as text) is
bad input, said with the template, the container and the option, before any AWS call;
and no AWS SDK class name reaches the user as an internal error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ecsdeploy.cli import cli
from ecsdeploy.render.regions import is_region, region_problems
from tests.apps import App, copy_sample, seed_app

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = "{{ must_env `AWS_REGION` }}"
LINE = (
    "taskdefs/worker.yaml.j2:24: services.worker: container 'worker': "
    f"logConfiguration.options.awslogs-region '{PLACEHOLDER}' is not a valid AWS region name "
    "(it looks like another tool's placeholder, left as text: ecsdeploy's templates are "
    "Jinja, with `{{ region }}` for the deploy's region and `vars:` for the rest)"
)


@pytest.fixture
def app(sandbox: Any, tmp_path: Path) -> App:
    return seed_app(sandbox, copy_sample("quickstart", tmp_path))


def _with_placeholder(folder: Path) -> None:
    """ecspresso's placeholder reaches the task definition through a variable."""
    deploy = folder / "deploy.yaml"
    deploy.write_text(
        deploy.read_text().replace(
            "  log_level: info\n", f'  log_level: info\n  log_region: "{PLACEHOLDER}"\n', 1
        )
    )
    worker = folder / "taskdefs" / "worker.yaml.j2"
    worker.write_text(
        worker.read_text().replace(
            "awslogs-region: {{ region | tojson }}",
            "awslogs-region: {{ vars.log_region | tojson }}",
        )
    )


def test_validate_names_the_template_line_container_and_option(tmp_path: Path) -> None:
    folder = copy_sample("quickstart", tmp_path)
    _with_placeholder(folder)
    result = CliRunner().invoke(
        cli, ["-f", str(folder / "deploy.yaml"), "--revision", "a" * 40, "validate"]
    )
    assert result.exit_code == 3, result.output
    line = result.output.splitlines()[0]
    assert line.startswith("error: ") and line.endswith(LINE), line


def test_verify_and_apply_stop_before_any_aws_call(app: App, sandbox: Any) -> None:
    _with_placeholder(app.dir)
    sandbox.control.reset_calls()
    for command in (("verify",), ("plan",), ("apply", "--yes")):
        result = app.run(*command)
        assert result.exit_code == 3, result.output
        assert "internal error" not in result.output
        assert result.output.splitlines()[-1].endswith(LINE), result.output
    assert sandbox.control.calls() == {}


def test_the_placeholder_written_in_a_template_is_a_syntax_error_with_a_hint(
    tmp_path: Path,
) -> None:
    folder = copy_sample("quickstart", tmp_path)
    worker = folder / "taskdefs" / "worker.yaml.j2"
    worker.write_text(worker.read_text().replace("{{ region | tojson }}", f'"{PLACEHOLDER}"'))
    result = CliRunner().invoke(
        cli, ["-f", str(folder / "deploy.yaml"), "--revision", "a" * 40, "validate"]
    )
    assert result.exit_code == 3, result.output
    assert "taskdefs/worker.yaml.j2:24: template syntax error: unexpected char '`'" in (
        result.output
    )
    assert "backquoted arguments are another tool's template syntax" in result.output


def test_a_region_option_that_is_not_a_region(app: App, sandbox: Any) -> None:
    sandbox.control.reset_calls()
    result = app.run("--region", "us east 1", "plan")
    assert result.exit_code == 3, result.output
    assert result.output.splitlines()[-1] == (
        "error: --region 'us east 1' is not a valid AWS region name (e.g. us-east-1)"
    )
    assert sandbox.control.calls() == {}


def test_init_with_a_region_botocore_refuses(sandbox: Any, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["init", "--region", "us east", "--cluster", "c", "--service", "s", "--dir", str(tmp_path)],
    )
    assert result.exit_code == 3, result.output
    assert result.output.splitlines()[0] == (
        "error: 'us east' is not a valid AWS region name "
        "(check --region, AWS_REGION and `region:` in deploy.yaml)"
    )


def test_an_sdk_error_escaping_is_not_an_internal_error(tmp_path: Path) -> None:
    """Whatever botocore raises outside an AWS call is said without its class name."""
    code = (
        "import sys, types, click, botocore.exceptions\n"
        "from ecsdeploy import cli\n"
        "module = types.ModuleType('ecsdeploy.cli.boom')\n"
        "@click.command('boom')\n"
        "def command():\n"
        "    raise botocore.exceptions.PartialCredentialsError(provider='env', cred_var='X')\n"
        "module.command = command\n"
        "sys.modules['ecsdeploy.cli.boom'] = module\n"
        "cli.COMMANDS['boom'] = 'boom'\n"
        "cli.main(['boom'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        "error: AWS SDK: Partial credentials found in env, missing: X",
        "  run again with -v for a traceback",
    ]


def test_region_names() -> None:
    for name in ("us-east-1", "eu-central-2", "us-gov-west-1", "cn-northwest-1", "us-isob-east-1"):
        assert is_region(name), name
    for name in ("us-east1", "US-EAST-1", "us east 1", "", PLACEHOLDER, "${AWS_REGION}"):
        assert not is_region(name), name


def test_regions_in_secret_arns_are_checked() -> None:
    td = {
        "containerDefinitions": [
            {
                "name": "web",
                "secrets": [
                    {"name": "A", "valueFrom": "arn:aws:ssm:eu-west-1:1:parameter/a"},
                    {"name": "B", "valueFrom": "arn:aws:secretsmanager:${REGION}:1:secret:b"},
                ],
            }
        ]
    }
    (problem,) = region_problems(td)
    assert problem.message == (
        "container 'web': secrets[1].valueFrom (the ARN's region) '${REGION}' is not a valid "
        "AWS region name"
    )
