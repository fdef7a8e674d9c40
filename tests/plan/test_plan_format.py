"""The plan's JSON, format_version 4: what `plan --out` and `plan --format json` write
validates against schemas/plan.schema.json, the docs name every field, apply refuses
files it must not read, and only the file holds secret-looking values."""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.apps import ROOT, App, copy_sample, seed_app, write_calls
from tests.ecsconfig.conftest import make_private_app  # noqa: F401  (a fixture)

SCHEMA_PATH = ROOT / "schemas" / "plan.schema.json"
DOC_PATH = ROOT / "docs" / "plan-format.md"

Doc = dict[str, Any]


@pytest.fixture
def app(sandbox: Any, tmp_path: Path) -> App:
    return seed_app(sandbox, copy_sample("quickstart", tmp_path))


@pytest.fixture(scope="module")
def schema() -> Doc:
    loaded: Doc = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator(schema: Doc) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems(validator: Draft202012Validator, doc: Any) -> str:
    """The schema's complaints, one a line ("" when the document is valid)."""
    return "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}"
        for e in validator.iter_errors(doc)
    )


def saved_plan(
    app: App, tmp_path: Path, *args: str, env: dict[str, str] | None = None, exit_code: int = 0
) -> Doc:
    out = tmp_path / "plan.json"
    result = app.run("plan", *args, "--out", str(out), env=env)
    assert result.exit_code == exit_code, result.output
    data: Doc = json.loads(out.read_text(encoding="utf-8"))
    return data


def json_plan(app: App, *args: str, env: dict[str, str] | None = None, exit_code: int = 0) -> Doc:
    result = app.run("plan", "--format", "json", *args, env=env)
    assert result.exit_code == exit_code, result.output
    data: Doc = json.loads(result.stdout)
    return data


def service(plan: Doc, key: str) -> Doc:
    found: Doc = next(s for s in plan["services"] if s["key"] == key)
    return found


def step(plan: Doc, key: str, kind: str) -> Doc:
    found: Doc = next(s for s in service(plan, key)["steps"] if s["kind"] == kind)
    return found


# --------------------------------------------------------------------------- the schema


def test_the_schema_is_a_valid_draft_2020_12_schema(schema: Doc) -> None:
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["format_version"] == {
        "description": schema["properties"]["format_version"]["description"],
        "const": 4,
    }


def test_the_wheel_ships_the_schema_next_to_deploy_schema() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    included = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert included["schemas/deploy.schema.json"] == "ecsdeploy/schemas/deploy.schema.json"
    assert included["schemas/plan.schema.json"] == "ecsdeploy/schemas/plan.schema.json"


def _property_names(node: Any, skip: frozenset[str]) -> Iterator[str]:
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            yield name
            yield from _property_names(sub, skip)
        for key, sub in node.items():
            if key == "properties":
                continue
            if key == "$defs":
                for def_name, definition in sub.items():
                    if def_name not in skip:
                        yield from _property_names(definition, skip)
            else:
                yield from _property_names(sub, skip)
    elif isinstance(node, list):
        for item in node:
            yield from _property_names(item, skip)


def test_the_docs_name_every_field_of_the_schema(schema: Doc) -> None:
    doc = DOC_PATH.read_text(encoding="utf-8")
    # The task definition is AWS's RegisterTaskDefinition input: AWS documents it.
    names = set(_property_names(schema, frozenset({"task_definition"})))
    assert {"format_version", "request", "drain_timeout_seconds", "secret_name"} <= names
    missing = sorted(n for n in names if not re.search(rf"\b{re.escape(n)}\b", doc))
    assert missing == []
    assert "format_version` is **4**" in doc
    assert "The plan file is a sensitive artifact" in doc


# --------------------------------------------------------------------------- what plan writes


def test_saved_file_and_json_output_validate(
    app: App, tmp_path: Path, validator: Draft202012Validator
) -> None:
    saved = saved_plan(app, tmp_path)
    shown = json_plan(app)
    assert problems(validator, saved) == ""
    assert problems(validator, shown) == ""
    assert saved["format_version"] == shown["format_version"] == 4
    kinds = [s["kind"] for s in service(saved, "web")["steps"]]
    assert kinds == ["image", "register", "update_service", "wait"]
    assert step(saved, "web", "update_service")["request"]["taskDefinition"] is None
    # Nothing secret-looking in the quickstart: the two are the same plan.
    assert saved["for_apply"] is True
    assert shown["for_apply"] is False
    assert {**saved, "created_at": None, "for_apply": None} == {
        **shown,
        "created_at": None,
        "for_apply": None,
    }


def test_a_first_deploy_with_a_create_service_validates(
    app: App, tmp_path: Path, validator: Draft202012Validator
) -> None:
    text = app.deploy_yaml.read_text()
    api = (
        "\n  api:\n    cluster: main\n    launch_type: EC2\n"
        "    task_definition: taskdefs/web.json.j2\n    desired_count: 1\n"
        "    vars: {app: quickstart-api}\n"  # a family of its own: nothing to diff against
        "    load_balancer:\n      target_group: quickstart-web\n      container: web\n"
        "      port: 8080\n"
        "      checks: {http: {url: 'http://api.internal/health', body: ok, attempts: 3}}\n"
        "    zero_downtime: false"
    )
    anchor = "\n  worker:\n    cluster: main"
    assert anchor in text
    app.deploy_yaml.write_text(text.replace(anchor, api + anchor, 1))
    # Its log group does not exist: a blocking finding, so plan exits 4 (and says so).
    saved = saved_plan(app, tmp_path, "--service", "api", exit_code=4)
    assert problems(validator, saved) == ""
    assert saved["counts"]["create"] == 1
    assert saved["verdict"] == {"apply_refuses": True, "allow_downtime": False, "blocking": 1}
    blocking = [f for f in service(saved, "api")["findings"] if f["blocking"]]
    assert [(f["severity"], f["downtime"]) for f in blocking] == [("error", False)]
    assert service(saved, "api")["fingerprint"] == {
        "exists": False,
        "task_definition": None,
        "deployment": None,
    }
    assert step(saved, "api", "register")["diff"]["created"] is True
    create = step(saved, "api", "create_service")
    assert create["action"] == "+"
    request = create["request"]
    assert request["serviceName"] == "api"
    assert request["taskDefinition"] is None
    assert request["launchType"] == "EC2"
    assert request["loadBalancers"][0]["targetGroupArn"].startswith("arn:aws:elasticloadbalancing:")
    (lb,) = step(saved, "api", "wait")["load_balancers"]
    http = lb["http"]
    assert http["url"] == "http://api.internal/health"
    assert (http["body"], http["attempts"]) == ("ok", 3)
    assert problems(validator, json_plan(app, "--service", "api", exit_code=4)) == ""


@pytest.mark.registry
@pytest.mark.parametrize(
    ("mode", "kind"), [("ecs_config", "ecs_config"), ("repository_credentials", "secret")]
)
def test_a_private_registry_plan_validates(
    make_private_app: Callable[..., tuple[App, dict[str, str]]],  # noqa: F811
    tmp_path: Path,
    validator: Draft202012Validator,
    mode: str,
    kind: str,
) -> None:
    app, env = make_private_app(mode=mode, drain=True)
    saved = saved_plan(app, tmp_path, env=env)
    assert problems(validator, saved) == ""
    assert problems(validator, json_plan(app, env=env)) == ""
    auth = saved["registries"]["private"]["auth"]
    assert (auth["username_env"], auth["password_env"], auth["mode"]) == (
        "REG_USER",
        "REG_PASS",
        mode,
    )
    assert env["REG_PASS"] not in json.dumps(saved)  # names of variables, never values
    planned = step(saved, "app", kind)
    if kind == "ecs_config":
        assert planned["registries"] == ["private"]
        assert planned["settings"] == [["ECS_ENABLE_CONTAINER_METADATA", "true"]]
        assert planned["drain"] is True
        assert planned["drain_timeout_seconds"] > 0 and planned["poll_seconds"] > 0
    else:
        assert (planned["action"], planned["arn"]) == ("+", None)


# Ways to spoil a valid plan that the schema must reject.
SPOILERS: dict[str, Callable[[Doc], None]] = {
    "format_version 1": lambda p: p.update(format_version=1),
    "an unknown top-level field": lambda p: p.update(extra=True),
    "an unknown step kind": lambda p: p["services"][0]["steps"][0].update(kind="nap"),
    "an action the kind never has": lambda p: p["services"][0]["steps"][0].update(action="-"),
    "an unknown field in a step": lambda p: p["services"][0]["steps"][0].update(tag="x"),
    "UpdateService named like CreateService": lambda p: next(
        s for s in p["services"][0]["steps"] if s["kind"] == "update_service"
    )["request"].update(serviceName="x"),
    "a reused revision that registers": lambda p: next(
        s for s in p["services"][0]["steps"] if s["kind"] == "register"
    ).update(reuse="arn:aws:ecs:us-east-1:123456789012:task-definition/x:1"),
    "an unknown severity": lambda p: p["services"][0]["findings"][0].update(severity="fatal"),
    "a note that blocks": lambda p: p["services"][0]["findings"][0].update(blocking=True),
    "a credential in a registry": lambda p: p["registries"]["ecr"].update(password="hunter2"),
    "a digest that is not sha256": lambda p: p["inputs"].update(config="md5:0"),
    "no fingerprint": lambda p: p["services"][0].pop("fingerprint"),
}


def test_the_schema_rejects_what_format_3_never_writes(
    app: App, tmp_path: Path, validator: Draft202012Validator
) -> None:
    saved = saved_plan(app, tmp_path)
    assert problems(validator, saved) == ""
    assert saved["services"][0]["findings"][0]["severity"] == "note"  # the worker's notes
    accepted = []
    for name, spoil in SPOILERS.items():
        spoiled = copy.deepcopy(saved)
        spoil(spoiled)
        if not problems(validator, spoiled):
            accepted.append(name)
    assert accepted == []


# --------------------------------------------------------------------------- what apply refuses


def test_a_version_1_file_is_refused_with_exit_3(app: App, tmp_path: Path, sandbox: Any) -> None:
    data = saved_plan(app, tmp_path)
    data["format_version"] = 1
    old = tmp_path / "old-plan.json"
    old.write_text(json.dumps(data))
    sandbox.control.reset_calls()
    result = app.run("apply", str(old))
    assert result.exit_code == 3, result.output
    assert "format_version 1" in result.output
    assert "plan again" in result.output
    assert write_calls(sandbox.control.calls()) == []


def _drop_request(plan: Doc) -> None:
    next(s for s in plan["services"][0]["steps"] if s["kind"] == "update_service").pop("request")


DROPS: dict[str, Callable[[Doc], None]] = {
    "clusters": lambda p: p.pop("clusters"),
    "verdict": lambda p: p.pop("verdict"),
    "a service's fingerprint": lambda p: p["services"][0].pop("fingerprint"),
    "a service's task_definition": lambda p: p["services"][1].pop("task_definition"),
    "an update_service's request": _drop_request,
}


def test_a_file_missing_a_required_field_is_refused_with_exit_3(
    app: App, tmp_path: Path, sandbox: Any, validator: Draft202012Validator
) -> None:
    saved = saved_plan(app, tmp_path)
    sandbox.control.reset_calls()
    for name, drop in DROPS.items():
        data = copy.deepcopy(saved)
        drop(data)
        assert problems(validator, data) != "", name  # the schema requires what apply needs
        broken = tmp_path / "broken-plan.json"
        broken.write_text(json.dumps(data))
        result = app.run("apply", str(broken))
        assert result.exit_code == 3, (name, result.output)
        assert f"{broken} is not a valid plan" in result.output, name
    assert write_calls(sandbox.control.calls()) == []


# --------------------------------------------------------------------------- secret-looking values

SECRET = "s3cr3t-literal-Vx9q"


def test_a_secret_looking_value_is_in_the_file_only(
    app: App, tmp_path: Path, validator: Draft202012Validator
) -> None:
    # A literal value in a template is allowed (deploy.yaml refuses literal credentials).
    app.edit(
        "taskdefs/web.json.j2",
        '{"name": "PORT", "value": "8080"},',
        f'{{"name": "PORT", "value": "8080"}},\n        {{"name": "DB_PASSWORD", "value": "{SECRET}"}},',
    )
    out = tmp_path / "plan.json"
    text = app.run("plan", "--out", str(out))
    assert text.exit_code == 0, text.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    saved = json.loads(out.read_text(encoding="utf-8"))

    def db_password(plan: Doc) -> str:
        env = service(plan, "web")["task_definition"]["containerDefinitions"][0]["environment"]
        return str(next(e["value"] for e in env if e["name"] == "DB_PASSWORD"))

    assert db_password(saved) == SECRET  # what apply registers
    shown_output = app.run("plan", "--format", "json")
    assert shown_output.exit_code == 0, shown_output.output
    shown = json.loads(shown_output.stdout)
    assert db_password(shown) == "(sensitive)"
    assert SECRET not in shown_output.output
    assert problems(validator, saved) == problems(validator, shown) == ""
    # The diff is for reviewers: masked in the file too.
    added = [
        c
        for c in step(saved, "web", "register")["diff"]["changes"]
        if c["path"].endswith("[DB_PASSWORD]")
    ]
    assert added == [
        {
            "path": "containerDefinitions[web].environment[DB_PASSWORD]",
            "action": "add",
            "before": None,
            "after": "(sensitive)",
        }
    ]
    # Apart from the masked value (and when it was made) the two are the same plan.
    unmasked = json.loads(shown_output.stdout.replace('"(sensitive)"', json.dumps(SECRET)))
    masked_diff = step(saved, "web", "register")["diff"]
    step(unmasked, "web", "register")["diff"] = masked_diff
    assert {**saved, "created_at": None, "for_apply": None} == {
        **unmasked,
        "created_at": None,
        "for_apply": None,
    }
    # The masked view is not a plan file: applying it would register the masks.
    view = out.parent / "view.json"
    view.write_text(shown_output.stdout)
    refused = app.run("apply", str(view))
    assert refused.exit_code == 3, refused.output
    assert "is the output of `plan --format json`, not a plan file" in refused.output
    assert "ecsdeploy plan --out FILE" in refused.output

    markdown = app.run("plan", "--format", "markdown")
    assert markdown.exit_code == 0, markdown.output
    for output in (text.output, markdown.output):
        assert "DB_PASSWORD" in output
        assert "(sensitive)" in output
        assert SECRET not in output
