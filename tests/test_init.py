"""`ecsdeploy init` on the sandbox: what it writes validates, plans as "No changes.",
refuses to overwrite, fails clearly on what does not exist, and only reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from ruamel.yaml import YAML

from ecsdeploy.cli import cli
from ecsdeploy.init import LiveService, parse_image, scaffold
from tests.apps import REV_A, App, copy_fargate_for_sandbox, copy_sample, seed_app, write_calls

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def init(*args: str) -> Result:
    return CliRunner().invoke(cli, ["init", *args], catch_exceptions=False)


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


@pytest.fixture
def quickstart(sandbox: Any, tmp_path: Path) -> App:
    return seed_app(sandbox, copy_sample("quickstart", tmp_path))


def init_quickstart(sandbox: Any, out: Path) -> App:
    result = init(
        "--cluster", "quickstart", "--service", "web", "--service", "worker", "--dir", str(out)
    )
    assert result.exit_code == 0, result.output
    return App(out, sandbox.endpoint_url)


def add_service(sandbox: Any, name: str, containers: list[dict[str, Any]]) -> str:
    """A service in the quickstart cluster running `containers` (bridge, EC2), steady."""
    ecs = sandbox.client("ecs")
    arn = ecs.register_task_definition(family=name, containerDefinitions=containers)[
        "taskDefinition"
    ]["taskDefinitionArn"]
    ecs.create_service(
        cluster="quickstart", serviceName=name, taskDefinition=arn, desiredCount=1, launchType="EC2"
    )
    sandbox.control.settle()
    return str(arn)


# --- the round trip ------------------------------------------------------------------


def test_init_validates_and_plans_no_changes(quickstart: App, sandbox: Any, tmp_path: Path) -> None:
    app = init_quickstart(sandbox, tmp_path / "onboarded")
    assert (app.dir / "taskdefs" / "web.json.j2").is_file()
    assert (app.dir / "taskdefs" / "worker.json.j2").is_file()

    validate = app.run("validate")
    assert validate.exit_code == 0, validate.output
    plan = app.run("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert plan.output.rstrip().endswith("No changes.")


def test_deploy_yaml_says_what_runs(quickstart: App, sandbox: Any, tmp_path: Path) -> None:
    app = init_quickstart(sandbox, tmp_path / "out")
    text = app.deploy_yaml.read_text()
    assert text.startswith(
        "# deploy.yaml written by `ecsdeploy init` from the live services web, worker\n"
    ), text
    data = load_yaml(app.deploy_yaml)
    assert data["version"] == 1
    assert data["region"] == "us-east-1"
    assert data["clusters"] == {"main": {"name": "quickstart"}}
    assert data["registries"] == {"ecr": {"type": "ecr", "url": ECR}}
    # The tag running now, literally and quoted, with what to do once CI tags images.
    assert data["images"]["web"] == {
        "registry": "ecr",
        "repository": "quickstart/web",
        "tag": REV_A[:7],
    }
    assert (
        f'tag: "{REV_A[:7]}"  # running now; once CI tags images: "{{{{ git.short_sha }}}}"' in text
    )
    web = data["services"]["web"]
    assert web["task_definition"] == "taskdefs/web.json.j2"
    assert web["launch_type"] == "EC2"
    assert web["desired_count"] == 2
    assert web["deployment"] == {
        "minimum_healthy_percent": 50,
        "maximum_percent": 200,
        "circuit_breaker": {"enable": True, "rollback": True},
        "timeout": "15m",
    }
    assert web["load_balancer"] == {
        "target_group": "quickstart-web",
        "container": "web",
        "port": 8080,
    }
    assert "zero_downtime" not in web
    worker = data["services"]["worker"]
    assert "load_balancer" not in worker
    assert worker["zero_downtime"] is False
    assert "zero_downtime: false  # no load balancer" in text
    # How to get the schema, and where secrets belong; no $schema pointing nowhere.
    assert "ecsdeploy schema > deploy.schema.json" in text
    assert "belongs in the\n# container's `secrets` (valueFrom" in text
    assert not text.startswith("# yaml-language-server")


def test_template_templates_only_the_images(quickstart: App, sandbox: Any, tmp_path: Path) -> None:
    app = init_quickstart(sandbox, tmp_path / "out")
    template = (app.dir / "taskdefs" / "web.json.j2").read_text()
    assert '"image": {{ images.web.uri | tojson }}' in template
    assert template.count("{{") == 1 and "{%" not in template
    assert template.startswith('{\n  "family": "quickstart-web"')
    for read_only in ("taskDefinitionArn", "revision", "status", "registeredAt", "compatibilities"):
        assert f'"{read_only}"' not in template

    rendered = json.loads(app.run("render").output)
    live = sandbox.client("ecs")
    for key in ("web", "worker"):
        td = live.describe_task_definition(taskDefinition=f"quickstart-{key}")["taskDefinition"]
        assert [c["image"] for c in rendered[key]["containerDefinitions"]] == [
            c["image"] for c in td["containerDefinitions"]
        ]
        assert (
            rendered[key]["containerDefinitions"][0]["image"]
            == f"{ECR}/quickstart/{key}:{REV_A[:7]}"
        )


def test_prints_paths_and_next_commands(quickstart: App, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = init("--cluster", "quickstart", "--service", "web", "--dir", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out / 'deploy.yaml'}" in result.stdout
    assert f"wrote {out / 'taskdefs' / 'web.json.j2'}" in result.stdout
    assert f"ecsdeploy -f {out / 'deploy.yaml'} validate" in result.stdout
    assert f"ecsdeploy -f {out / 'deploy.yaml'} plan" in result.stdout


# --- overwriting ---------------------------------------------------------------------


def test_refuses_to_overwrite_without_force(quickstart: App, sandbox: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "deploy.yaml").write_text("# mine\n")
    sandbox.control.reset_calls()
    result = init("--cluster", "quickstart", "--service", "web", "--dir", str(out))
    assert result.exit_code == 3, result.output
    assert f"would overwrite {out / 'deploy.yaml'}" in result.output
    assert "--force" in result.output
    assert (out / "deploy.yaml").read_text() == "# mine\n"
    assert not (out / "taskdefs").exists()  # nothing written, not even the templates
    assert sandbox.control.calls() == {}  # refused before any AWS call


def test_existing_template_is_refused_too(quickstart: App, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "taskdefs").mkdir(parents=True)
    (out / "taskdefs" / "web.json.j2").write_text("{}")
    result = init("--cluster", "quickstart", "--service", "web", "--dir", str(out))
    assert result.exit_code == 3, result.output
    assert "web.json.j2" in result.output
    assert not (out / "deploy.yaml").exists()


def test_force_overwrites(quickstart: App, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "deploy.yaml").write_text("# mine\n")
    result = init("--cluster", "quickstart", "--service", "web", "--dir", str(out), "--force")
    assert result.exit_code == 0, result.output
    assert load_yaml(out / "deploy.yaml")["services"]["web"]["cluster"] == "main"


# --- what does not exist -------------------------------------------------------------


def test_unknown_service_is_bad_input_listing_the_services_there_are(
    quickstart: App, tmp_path: Path
) -> None:
    result = init(
        "--cluster", "quickstart", "--service", "web", "--service", "nope", "--dir", str(tmp_path)
    )
    assert result.exit_code == 3, result.output
    assert result.output.splitlines()[0] == (
        "error: --service nope: service nope does not exist in cluster quickstart "
        "(services of cluster quickstart: web, worker (--service takes the ECS service name))"
    )
    assert not (tmp_path / "deploy.yaml").exists()


def test_unknown_cluster_is_bad_input_listing_the_clusters_there_are(
    quickstart: App, tmp_path: Path
) -> None:
    result = init("--cluster", "quickstart-prd", "--service", "web", "--dir", str(tmp_path))
    assert result.exit_code == 3, result.output
    assert result.output.splitlines()[0] == (
        "error: --cluster quickstart-prd: cluster quickstart-prd does not exist in us-east-1 "
        "(clusters in region us-east-1, account 123456789012: quickstart; did you mean "
        "quickstart?; wrong region? see --region or AWS_REGION)"
    )
    assert not (tmp_path / "deploy.yaml").exists()


def test_unknown_cluster_in_an_empty_region_says_so(quickstart: App, tmp_path: Path) -> None:
    result = init(
        "--region",
        "eu-west-3",
        "--cluster",
        "quickstart",
        "--service",
        "web",
        "--dir",
        str(tmp_path),
    )
    assert result.exit_code == 3, result.output
    assert "cluster quickstart does not exist in eu-west-3" in result.output
    assert "there is no cluster in region eu-west-3; wrong region?" in result.output


# --- read-only -----------------------------------------------------------------------


def test_init_only_reads(quickstart: App, sandbox: Any, tmp_path: Path) -> None:
    sandbox.control.reset_calls()
    init_quickstart(sandbox, tmp_path / "out")
    calls = sandbox.control.calls()
    assert calls.get("ecs:DescribeServices"), calls
    assert calls.get("ecs:DescribeTaskDefinition") == 2
    assert calls.get("elbv2:DescribeTargetGroups") == 1
    assert write_calls(calls) == []


# --- image references ----------------------------------------------------------------


def test_docker_hub_short_name_round_trips(quickstart: App, sandbox: Any, tmp_path: Path) -> None:
    secret = "s3cr3t-value-do-not-print"
    add_service(
        sandbox,
        "proxy",
        [
            {
                "name": "nginx",
                "image": "nginx:1.25",
                "memory": 128,
                "environment": [{"name": "API_KEY", "value": secret}],
            }
        ],
    )
    out = tmp_path / "out"
    result = init("--cluster", "quickstart", "--service", "proxy", "--dir", str(out))
    assert result.exit_code == 0, result.output
    assert secret not in result.output  # stdout and stderr
    assert secret in (out / "taskdefs" / "proxy.json.j2").read_text()  # copied as it is

    data = load_yaml(out / "deploy.yaml")
    assert data["registries"] == {"dockerhub": {"type": "docker", "url": "registry-1.docker.io"}}
    assert data["images"]["nginx"] == {
        "registry": "dockerhub",
        "repository": "library/nginx",
        "tag": "1.25",
    }
    app = App(out, sandbox.endpoint_url)
    assert app.run("validate").exit_code == 0
    rendered = json.loads(app.run("render").output)["proxy"]
    image = rendered["containerDefinitions"][0]["image"]
    # The same image as Docker resolves it: Docker Hub, library/nginx, tag 1.25.
    assert image == "registry-1.docker.io/library/nginx:1.25"
    assert parse_image(image) == parse_image("nginx:1.25")


def test_digest_reference_is_kept_with_a_comment(
    quickstart: App, sandbox: Any, tmp_path: Path
) -> None:
    pinned = f"{ECR}/quickstart/web@sha256:" + "ab" * 32
    add_service(sandbox, "pinned", [{"name": "app", "image": pinned, "memory": 128}])
    out = tmp_path / "out"
    result = init("--cluster", "quickstart", "--service", "pinned", "--dir", str(out))
    assert result.exit_code == 0, result.output
    template = (out / "taskdefs" / "pinned.json.j2").read_text()
    assert f'"image": "{pinned}"' in template and "{{" not in template
    text = (out / "deploy.yaml").read_text()
    assert "pinned by digest; kept as written in the template (no tag to manage)" in text
    assert "images" not in load_yaml(out / "deploy.yaml")
    app = App(out, sandbox.endpoint_url)
    plan = app.run("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output


def test_many_revisions_are_kept_by_the_first_plan(
    quickstart: App, sandbox: Any, tmp_path: Path
) -> None:
    ecs = sandbox.client("ecs")
    td = ecs.describe_task_definition(taskDefinition="quickstart-web:1")["taskDefinition"]
    for _ in range(6):  # revisions 2..7, none in use
        ecs.register_task_definition(
            family=td["family"], containerDefinitions=td["containerDefinitions"]
        )
    app = init_quickstart(sandbox, tmp_path / "out")
    assert load_yaml(app.deploy_yaml)["services"]["web"]["keep_revisions"] == 7
    plan = app.run("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "deregister" not in plan.output


def test_fargate_service(sandbox: Any, tmp_path: Path) -> None:
    folder = copy_fargate_for_sandbox(tmp_path)
    # The secrets the task definition names: without them the pre-flight blocks the plan.
    # The Secrets Manager ARN carries a random suffix, so the template takes the real one.
    sandbox.client("ssm").put_parameter(
        Name="/billing/database-url", Value="postgres://db", Type="SecureString"
    )
    arn = sandbox.client("secretsmanager").create_secret(Name="billing/stripe", SecretString="{}")[
        "ARN"
    ]
    template = folder / "taskdefs" / "api.yaml.j2"
    old_ref = (
        "arn:aws:secretsmanager:{{ region }}:{{ vars.account_id }}:secret:{{ vars.app }}"
        "/stripe-Ab12Cd"
    )
    assert old_ref in template.read_text()
    template.write_text(template.read_text().replace(old_ref, arn))
    seed_app(sandbox, folder)

    out = tmp_path / "out"
    result = init("--cluster", "billing", "--service", "billing-api", "--dir", str(out))
    assert result.exit_code == 0, result.output
    svc = load_yaml(out / "deploy.yaml")["services"]["billing-api"]
    live = sandbox.client("ecs").describe_services(cluster="billing", services=["billing-api"])
    awsvpc = live["services"][0]["networkConfiguration"]["awsvpcConfiguration"]
    assert svc["network"] == {
        "subnets": awsvpc["subnets"],
        "security_groups": awsvpc["securityGroups"],
        "assign_public_ip": False,
    }
    assert svc["launch_type"] == "FARGATE"
    assert svc["health_check_grace_period"] == "45s"
    assert svc["load_balancer"] == {"target_group": "billing-api", "container": "api", "port": 8000}
    template = json.loads(
        (out / "taskdefs" / "billing-api.json.j2")
        .read_text()
        .replace("{{ images.api.uri | tojson }}", '"x"')
    )
    assert template["containerDefinitions"][0]["secrets"][0]["name"] == "DATABASE_URL"
    app = App(out, sandbox.endpoint_url)
    assert app.run("validate").exit_code == 0
    plan = app.run("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert plan.output.rstrip().endswith("No changes.")


# --- the pure part -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "host", "repository", "tag"),
    [
        ("nginx:1.25", None, "library/nginx", "1.25"),
        ("nginx", None, "library/nginx", None),
        ("docker.io/nginx:1", None, "library/nginx", "1"),
        ("bitnami/redis:7.2", None, "bitnami/redis", "7.2"),
        ("127.0.0.1:5556/shop/web:abc", "127.0.0.1:5556", "shop/web", "abc"),
        ("localhost/web", "localhost", "web", None),
        (f"{ECR}/a/b:c", ECR, "a/b", "c"),
    ],
)
def test_parse_image(reference: str, host: str | None, repository: str, tag: str | None) -> None:
    parsed = parse_image(reference)
    assert (parsed.host, parsed.repository, parsed.tag, parsed.digest) == (
        host,
        repository,
        tag,
        None,
    )


def _live(containers: list[dict[str, Any]], **service: Any) -> LiveService:
    return LiveService(
        service={
            "serviceName": "svc",
            "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/svc:3",
            "desiredCount": 1,
            "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200},
            **service,
        },
        task_definition={"family": "svc", "revision": 3, "containerDefinitions": containers},
    )


def test_jinja_syntax_in_values_stays_literal() -> None:
    from jinja2.sandbox import SandboxedEnvironment

    command = ["sh", "-c", "echo {{ not jinja }} {% neither %} {#nor#}"]
    result = scaffold(
        "us-east-1",
        "c",
        [_live([{"name": "a", "image": "ghcr.io/acme/app:v1", "command": command}])],
    )
    template = result.templates["taskdefs/svc.json.j2"]
    images = {"app": {"uri": "ghcr.io/acme/app:v1"}}
    rendered = json.loads(SandboxedEnvironment().from_string(template).render(images=images))
    assert rendered["containerDefinitions"][0]["command"] == command
    assert rendered["containerDefinitions"][0]["image"] == "ghcr.io/acme/app:v1"
    assert result.data["registries"] == {"ghcr-io": {"type": "docker", "url": "ghcr.io"}}


def test_yaml_text_reads_back_as_its_data() -> None:
    result = scaffold(
        "us-east-1",
        "c",
        [
            _live(
                [
                    {"name": "a", "image": "nginx:1.25"},
                    {"name": "b", "image": "registry.example.com:5000/team/b:0.1"},
                    {"name": "c", "image": "registry.example.com:5000/other/b:true"},
                ],
                deploymentConfiguration={
                    "minimumHealthyPercent": 0,
                    "maximumPercent": 100,
                    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
                },
            )
        ],
    )
    assert YAML(typ="safe").load(result.deploy_yaml) == result.data
    images = result.data["images"]
    assert images["b"]["tag"] == "0.1" and images["svc-b"]["tag"] == "true"  # strings, kept
    assert result.data["services"]["svc"]["deployment"]["circuit_breaker"] == {
        "enable": False,
        "rollback": False,
    }
