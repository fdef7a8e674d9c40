"""Twenty service definitions from public repositories (tests/data/real-servicedefs,
sources in its SOURCES.md), read by `init --service-def`.

Each valid one is created on the sandbox exactly as its file says (CreateService with
the file's fields, as ecspresso or the AWS CLI would have), then imported: the
deploy.yaml `init` writes must plan "No changes." against the live service, so every
setting is expressible and compared the way ECS reports it. The invalid ones are
refused with the file, line and key path, before anything is written.

Template expressions of other tools are rendered first, as their users would
(`ecspresso render`), with values the sandbox holds.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ecsdeploy.cli import cli
from tests.apps import REV_A, App

DATA = Path(__file__).resolve().parent.parent / "data" / "real-servicedefs"
ACCOUNT = "123456789012"
SUBNET = "subnet-0a1b2c3d4e5f60718"
GROUP = "sg-0a1b2c3d4e5f60718"

# file prefix -> --service: the service in a describe-services response holding
# several, a name for a file without serviceName (ecspresso takes it from its config).
VALID = {
    "08": "svc08",
    "01": "svc01",
    "02": "svc02",
    "10": None,
    "18": None,
    "06": None,
    "07": "svc07",
    "11": None,
    "12": "svc12",
    "13": None,
    "14": "svc14",
    "15": None,
    "16a": "sva-go-develop-service",
    "16b": "tantosvago30-develop-service",
    "17": None,
    "19": None,
    "20": "svc20",
    "03": "svc03",
}
# Blue/green (ECS's own strategy, lifecycle hooks, advanced load balancer settings).
LATER: dict[str, str] = {}
# file prefix -> (key path, message, what the line it points at holds)
INVALID = {
    "04": (
        "deploymentConfiguration.alarms.alarmNames",
        "CreateService: required field is missing",
        '"alarms"',
    ),
    "05": ("launchType", "CreateService: '' is not one of EC2, FARGATE", '"launchType": ""'),
    "09": (
        "networkConfiguration.awsvpcConfiguration.securityGroups",
        "null is not a value ECS takes",
        '"securityGroups": null',
    ),
}


def _file(prefix: str) -> Path:
    return next(DATA.glob(f"{prefix[:2]}-*"))


def _region(text: str) -> str:
    found = re.search(r"arn:aws:[a-z-]+:([a-z]{2}-[a-z]+-\d):", text)
    return found.group(1) if found else "us-east-1"


def _rendered_value(key: str, value: str, region: str, index: int) -> Any:
    """A value for a template expression, by the key it stands under."""
    # The placeholder account of an ecspresso test fixture is not an account ID.
    value = value.replace("{{ must_env `AWS_ACCOUNT_ID` }}", ACCOUNT).replace(
        ":1111111111:", f":{ACCOUNT}:"
    )
    # ...nor is its target group ID (16 hex digits in ELB's ARNs).
    value = value.replace("targetgroup/test/12345678", "targetgroup/test/0000000012345678")
    if "{{" not in value:
        return value
    # Terraform outputs of blue/green wiring: distinct per expression, in ELB's forms.
    digest = hashlib.sha256(value.encode()).hexdigest()
    module = re.search(r"module\.([a-z0-9_]+)\.", value)
    balancer = (module.group(1) if module else "rendered").replace("_", "-")[:32]
    elb = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}"
    if key == "alternateTargetGroupArn" or (key == "targetGroupArn" and module):
        return f"{elb}:targetgroup/tg-{digest[:8]}/{digest[:16]}"
    if key in ("productionListenerRule", "testListenerRule"):
        lb_id = hashlib.sha256(balancer.encode()).hexdigest()[:16]
        return f"{elb}:listener-rule/app/{balancer}/{lb_id}/{digest[:16]}/{digest[16:32]}"
    if key == "roleArn":
        return f"arn:aws:iam::{ACCOUNT}:role/role-{digest[:8]}"
    if key == "hookTargetArn":
        return f"arn:aws:lambda:{region}:{ACCOUNT}:function:hook-{digest[:8]}"
    by_key = {
        "subnets": f"{SUBNET[:-1]}{index}",
        "securityGroups": f"{GROUP[:-1]}{index}",
        "targetGroupArn": f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:targetgroup/"
        "rendered/0123456789abcdef",
        "registryArn": f"arn:aws:servicediscovery:{region}:{ACCOUNT}:service/srv-0123456789",
        "namespace": f"arn:aws:servicediscovery:{region}:{ACCOUNT}:namespace/ns-0123456789",
        "awslogs-group": "/ecs/service-connect",
        "taskDefinition": "rendered",
    }
    return by_key[key]


def _render(value: Any, region: str, key: str = "", index: int = 0) -> Any:
    if isinstance(value, dict):
        return {k: _render(v, region, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, region, key, i) for i, v in enumerate(value)]
    if isinstance(value, str):
        return _rendered_value(key, value, region, index)
    return value


def render_file(source: Path, out: Path) -> Path:
    """The file as its tool would render it: JSON, template expressions replaced."""
    text = source.read_text()
    region = _region(text)
    # Bare expressions stand for JSON fragments: a list of subnets, a quoted group.
    text = re.sub(r"\[\{\{[^}]*\}\}\]", json.dumps([GROUP]), text)
    text = re.sub(r'(":\s*)\{\{[^}]*\}\}', r"\1" + json.dumps([SUBNET]), text)
    if source.suffix == ".yaml":
        from ruamel.yaml import YAML

        data = YAML(typ="safe").load(text)
    else:
        data = json.loads(text)
    out.write_text(json.dumps(_render(data, region), indent=2))
    return out


def task_definition_for(service: dict[str, Any]) -> dict[str, Any]:
    """A task definition the service can run: the containers and ports it names."""
    ports: dict[str, set[int]] = {}
    for lb in service.get("loadBalancers") or []:
        ports.setdefault(str(lb["containerName"]), set()).add(int(lb["containerPort"]))
    for reg in service.get("serviceRegistries") or []:
        if reg.get("containerName"):
            ports.setdefault(str(reg["containerName"]), set()).add(int(reg["containerPort"]))
    named = [
        str(s["portName"])
        for s in (service.get("serviceConnectConfiguration") or {}).get("services") or []
    ]
    awsvpc = "networkConfiguration" in service
    fargate = service.get("launchType") == "FARGATE" or any(
        "FARGATE" in str(p.get("capacityProvider"))
        for p in service.get("capacityProviderStrategy") or []
    )
    containers: list[dict[str, Any]] = []
    for name, container_ports in (ports or {"app": {80}}).items():
        mappings = [
            {"containerPort": p, "protocol": "tcp"} | ({} if awsvpc else {"hostPort": 0})
            for p in sorted(container_ports)
        ]
        containers.append(
            {
                "name": name,
                "image": f"{ACCOUNT}.dkr.ecr.{_region(json.dumps(service))}.amazonaws.com/app:1.0",
                "essential": True,
                "portMappings": mappings,
            }
        )
    for index, port_name in enumerate(named):
        containers[0]["portMappings"].append(
            {"containerPort": 3128 + index, "protocol": "tcp", "name": port_name}
        )
    td: dict[str, Any] = {
        "family": str(service.get("serviceName") or "service"),
        "networkMode": "awsvpc" if awsvpc else "bridge",
        "requiresCompatibilities": ["FARGATE" if fargate else "EC2"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": containers,
    }
    volumes = service.get("volumeConfigurations") or []
    if volumes:
        td["volumes"] = [{"name": v["name"], "configuredAtLaunch": True} for v in volumes]
    return td


# What CreateService does when a field is left out: a file may spell it out.
DEFAULTS: dict[str, Any] = {
    "enableExecuteCommand": False,
    "enableECSManagedTags": False,
    "propagateTags": "NONE",
    "platformVersion": "LATEST",
    "schedulingStrategy": "REPLICA",
    "deploymentController": {"type": "ECS"},
    "healthCheckGracePeriodSeconds": 0,
}


def _is_default(field: str, value: Any) -> bool:
    return value in ([], {}) or DEFAULTS.get(field, object()) == value


def _normal(value: Any, field: str = "") -> Any:
    """Key order and ECS's defaults aside."""
    if field == "deploymentConfiguration":
        off = {"enable": False, "rollback": False}
        value = {
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "deploymentCircuitBreaker": off,
            "alarms": {**off, "alarmNames": []},
            "strategy": "ROLLING",
            "bakeTimeInMinutes": 0,
        } | value
        value["lifecycleHooks"] = [
            {"targetType": "AWS_LAMBDA"} | dict(h) for h in value.get("lifecycleHooks") or []
        ]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in sorted(value.items()) if v not in ([], {})}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def init(*args: str) -> Result:
    return CliRunner().invoke(cli, ["init", *args], catch_exceptions=False)


@pytest.mark.parametrize(
    "prefix",
    [
        *VALID,
        *(
            pytest.param(p, marks=pytest.mark.xfail(reason=why, strict=True))
            for p, why in LATER.items()
        ),
    ],
)
def test_a_real_service_definition_is_expressed_and_plans_clean(
    prefix: str, sandbox: Any, tmp_path: Path
) -> None:
    from ecsdeploy.config import load_config
    from ecsdeploy.init_import import read_service_definition
    from ecsdeploy.render import Renderer
    from ecsdeploy.sandbox.seed import seed

    name = VALID.get(prefix)
    rendered = render_file(_file(prefix), tmp_path / "service.json")
    service = read_service_definition(rendered, name).service
    region = _region(rendered.read_text())
    (tmp_path / "task.json").write_text(json.dumps(task_definition_for(service)))
    out = tmp_path / "app"
    result = init(
        *("--cluster", "main", "--region", region, "--dir", str(out)),
        *("--service-def", str(rendered), "--task-def", str(tmp_path / "task.json")),
        *(("--service", name) if name else ()),
    )
    assert result.exit_code == 0, result.output
    if service.get("deploymentController", {}).get("type") == "CODE_DEPLOY":
        assert "apply deploys a new revision through the CodeDeploy deployment group" in (
            " ".join(result.output.split())
        )

    # The infrastructure the file names, then the service as its own tool created it.
    config = load_config(out / "deploy.yaml")
    taskdefs = Renderer(config, revision=REV_A, region=region).render_all()
    seeded = seed(
        config,
        {k: r.task_definition for k, r in taskdefs.items()},
        endpoint_url=sandbox.endpoint_url,
        region=region,
        create_services=False,
        release=REV_A,
        image_tags={k: [i.tag] for k, i in config.images.items()},
    )
    import boto3

    ecs = boto3.client("ecs", endpoint_url=sandbox.endpoint_url, region_name=region)
    providers = [p["capacityProvider"] for p in service.get("capacityProviderStrategy") or []]
    if providers:
        ecs.put_cluster_capacity_providers(
            cluster="main", capacityProviders=providers, defaultCapacityProviderStrategy=[]
        )
    request = dict(service) | {"cluster": "main"}
    request["taskDefinition"] = next(iter(seeded.task_definitions.values()))
    ecs.create_service(**request)
    sandbox.control.settle()

    # Expressed: what ecsdeploy would send to create it holds every setting of the file.
    from ecsdeploy.plan.planner import service_request

    (svc_config,) = config.services.values()
    sent = service_request(svc_config, "main", "td", create=True)
    for field, value in service.items():
        if field in ("cluster", "serviceName", "taskDefinition") or _is_default(field, value):
            continue
        assert field in sent, f"{field} is not in deploy.yaml"
        assert _normal(sent[field], field) == _normal(value, field), field

    app = App(out, sandbox.endpoint_url)
    plan = app.run("plan", "--detailed-exitcode", revision=REV_A)
    assert plan.exit_code == 0, plan.output
    assert plan.output.rstrip().endswith("No changes."), plan.output


@pytest.mark.parametrize("prefix", list(INVALID))
def test_an_invalid_service_definition_is_refused_where_it_is_wrong(
    prefix: str, tmp_path: Path
) -> None:
    rendered = render_file(_file(prefix), tmp_path / "service.json")
    (tmp_path / "task.json").write_text(
        json.dumps({"family": "f", "containerDefinitions": [{"name": "a", "image": "a"}]})
    )
    out = tmp_path / "app"
    result = init(
        *("--cluster", "main", "--region", "us-east-1", "--dir", str(out)),
        *("--service-def", str(rendered), "--task-def", str(tmp_path / "task.json")),
        *("--service", "svc"),
    )
    assert result.exit_code == 3, result.output
    path, message, line = INVALID[prefix]
    lines = rendered.read_text().splitlines()
    located = re.search(
        rf"{re.escape(str(rendered))}:(\d+):\d+: {re.escape(path)}: {re.escape(message)}",
        result.output,
    )
    assert located, result.output
    assert line in lines[int(located.group(1)) - 1]
    assert not out.exists()  # nothing written


def test_an_unrendered_template_is_refused_with_its_place(tmp_path: Path) -> None:
    td = tmp_path / "task.json"
    td.write_text(
        json.dumps({"family": "f", "containerDefinitions": [{"name": "a", "image": "a"}]})
    )
    source = _file("06")
    result = init(
        *("--cluster", "main", "--dir", str(tmp_path / "app")),
        *("--service-def", str(source), "--task-def", str(td)),
    )
    assert result.exit_code == 3, result.output
    assert f"{source}:3:21: taskDefinition: template expression in a value" in result.output
    assert "render it first" in result.output
    bare = _file("12")
    result = init(
        *("--cluster", "main", "--dir", str(tmp_path / "app")),
        *("--service-def", str(bare), "--task-def", str(td), "--service", "qa"),
    )
    assert result.exit_code == 3, result.output
    assert f"{bare}:28:" in result.output
    assert "a template expression stands where a value belongs" in result.output


def test_service_def_needs_its_task_definition(tmp_path: Path) -> None:
    result = init("--cluster", "main", "--service-def", str(_file("13")))
    assert result.exit_code == 3, result.output
    assert "--service-def and --task-def go together: --task-def is missing" in result.output


def test_service_name_must_agree_with_the_file(tmp_path: Path) -> None:
    td = tmp_path / "task.json"
    td.write_text(
        json.dumps({"family": "f", "containerDefinitions": [{"name": "a", "image": "a"}]})
    )
    source = _file("13")
    result = init(
        *("--cluster", "main", "--dir", str(tmp_path / "app"), "--service", "other"),
        *("--service-def", str(source), "--task-def", str(td)),
    )
    assert result.exit_code == 3, result.output
    assert "--service other: " in result.output
    assert "defines service SINATRA-servicedistinct-part1" in result.output


def test_a_file_without_a_service_name_asks_for_one(tmp_path: Path) -> None:
    td = tmp_path / "task.json"
    td.write_text(
        json.dumps({"family": "f", "containerDefinitions": [{"name": "a", "image": "a"}]})
    )
    result = init(
        *("--cluster", "main", "--dir", str(tmp_path / "app"), "--region", "us-east-1"),
        *("--service-def", str(_file("14")), "--task-def", str(td)),
    )
    assert result.exit_code == 3, result.output
    assert "has no serviceName" in result.output
    assert "name the service with --service" in result.output


def test_a_task_definition_that_ecs_would_refuse_is_refused(tmp_path: Path) -> None:
    td = tmp_path / "task.json"
    td.write_text(
        '{"family": "f",\n "containerDefinitions": [{"name": "a", "image": "a",\n'
        ' "portMappings": [{"containerPort": 80, "protocol": "TCP6"}]}]}\n'
    )
    result = init(
        *("--cluster", "main", "--dir", str(tmp_path / "app"), "--region", "us-east-1"),
        *("--service-def", str(_file("13")), "--task-def", str(td)),
    )
    assert result.exit_code == 3, result.output
    assert f"{td}:3:" in result.output
    assert "RegisterTaskDefinition: 'TCP6' is not one of" in result.output


def test_init_without_services_says_what_it_needs() -> None:
    result = init("--cluster", "main")
    assert result.exit_code == 3, result.output
    assert "init needs --service" in result.output
    assert "--service-def FILE --task-def FILE" in result.output
