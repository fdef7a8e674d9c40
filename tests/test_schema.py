"""The JSON Schema of deploy.yaml: itself valid, documented, and the contract the samples keep."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "schemas" / "deploy.schema.json"
EXAMPLE_PATH = ROOT / "deploy.yaml.example"
SAMPLES = ROOT / "samples"
SAMPLE_FILES = sorted(SAMPLES.glob("*/deploy.yaml"))
README_PATH = ROOT / "README.md"
MODELINE = "# yaml-language-server: $schema=../../schemas/deploy.schema.json"

Doc = dict[str, Any]


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema() -> Doc:
    loaded: Doc = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator(schema: Doc) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors_of(validator: Draft202012Validator, doc: Any) -> list[ValidationError]:
    return list(validator.iter_errors(doc))


def describe(errors: list[ValidationError]) -> str:
    return "\n".join(
        f"{'.'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}" for e in errors
    )


def deep_merge(base: Any, overlay: Any) -> Any:
    """An environment overlay as the loader applies it: mappings key by key, the rest replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return overlay


# --- the schema itself -------------------------------------------------------------------


def test_schema_is_valid_draft_2020_12(schema: Doc) -> None:
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://ecsdeploy.dev/schemas/deploy.schema.json"
    assert schema["title"]
    assert set(schema["required"]) == {"version", "clusters", "services"}


def test_schema_file_is_formatted_with_two_spaces(schema: Doc) -> None:
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    assert text == json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def resolve(ref: str, root: Doc) -> Doc:
    assert ref.startswith("#/"), f"only local references are expected, found {ref}"
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node  # type: ignore[no-any-return]


def has_description(node: Any, root: Doc) -> bool:
    seen: set[str] = set()
    while isinstance(node, dict):
        if isinstance(node.get("description"), str) and node["description"].strip():
            return True
        ref = node.get("$ref")
        if ref is None or ref in seen:
            return False
        seen.add(ref)
        node = resolve(ref, root)
    return False


# Subschemas that may declare properties, and constraint layers that only narrow properties
# declared next to them (`if: {properties: {type: {const: ecr}}}`): those need no description.
DECLARING_KEYS = ("additionalProperties", "items", "unevaluatedProperties", "unevaluatedItems")
DECLARING_LIST_KEYS = ("allOf", "anyOf", "oneOf", "prefixItems")
CONSTRAINT_KEYS = ("if", "then", "else", "not", "contains", "propertyNames")
CONSTRAINT_MAP_KEYS = ("dependentSchemas",)


def walk(root: Doc) -> Iterator[tuple[str, Any, bool]]:
    """(pointer, schema, declaring) of every subschema reachable from the root, via `$ref`s."""
    seen: set[tuple[int, bool]] = set()
    stack: list[tuple[str, Any, bool]] = [("#", root, True)]
    while stack:
        pointer, node, declaring = stack.pop()
        if not isinstance(node, dict) or (id(node), declaring) in seen:
            continue
        seen.add((id(node), declaring))
        yield pointer, node, declaring
        if "$ref" in node:
            stack.append((node["$ref"], resolve(node["$ref"], root), declaring))
        for kind in ("properties", "patternProperties"):
            for name, sub in node.get(kind, {}).items():
                stack.append((f"{pointer}/{kind}/{name}", sub, declaring))
        for key in DECLARING_KEYS:
            if key in node:
                stack.append((f"{pointer}/{key}", node[key], declaring))
        for key in DECLARING_LIST_KEYS:
            for i, sub in enumerate(node.get(key, [])):
                stack.append((f"{pointer}/{key}/{i}", sub, declaring))
        for name, sub in node.get("$defs", {}).items():
            stack.append((f"{pointer}/$defs/{name}", sub, True))
        for key in CONSTRAINT_KEYS:
            if key in node:
                stack.append((f"{pointer}/{key}", node[key], False))
        for key in CONSTRAINT_MAP_KEYS:
            for name, sub in node.get(key, {}).items():
                stack.append((f"{pointer}/{key}/{name}", sub, False))


def property_schemas(root: Doc, *, constraints: bool = False) -> Iterator[tuple[str, str, Any]]:
    """(pointer, name, schema) of every property declared in the schema.

    With `constraints`, also the properties that constraint layers mention.
    """
    for pointer, node, declaring in walk(root):
        if declaring or constraints:
            for kind in ("properties", "patternProperties"):
                for name, sub in node.get(kind, {}).items():
                    yield f"{pointer}/{kind}/{name}", name, sub


def undocumented(root: Doc) -> list[str]:
    return sorted(p for p, _, sub in property_schemas(root) if not has_description(sub, root))


def test_every_property_has_a_description(schema: Doc) -> None:
    found = list(property_schemas(schema))
    # The walk reaches the deep corners, through $refs (services -> load_balancer -> http).
    names = {name for _, name, _ in found}
    assert {"expect_status", "secret_name", "assign_public_ip", "drain", "rollback"} <= names
    assert undocumented(schema) == []


def test_the_description_check_finds_a_missing_one(schema: Doc) -> None:
    broken = copy.deepcopy(schema)
    del broken["$defs"]["http_check_fields"]["properties"]["attempts"]["description"]
    assert undocumented(broken) == ["#/$defs/http_check_fields/properties/attempts"]


def ref_chain(node: Any, root: Doc) -> Iterator[Any]:
    """The schema and the schemas its `$ref`s lead to."""
    while isinstance(node, dict):
        yield node
        node = resolve(node["$ref"], root) if "$ref" in node else None


def open_objects(root: Doc) -> list[str]:
    """Schemas that list properties but let unknown keys through (vars and settings aside)."""
    free_form = {id(root["$defs"]["vars"])} | {
        id(sub) for _, name, sub in property_schemas(root) if name == "settings"
    }
    return sorted(
        pointer
        for pointer, node, declaring in walk(root)
        if declaring
        and id(node) not in free_form
        and "properties" in node
        and not any(s.get("additionalProperties") is False for s in ref_chain(node, root))
    )


def test_every_object_with_known_keys_is_closed(schema: Doc) -> None:
    assert open_objects(schema) == []


def test_the_closed_check_finds_an_open_object(schema: Doc) -> None:
    broken = copy.deepcopy(schema)
    del broken["$defs"]["registry_fields"]["additionalProperties"]
    assert open_objects(broken) == ["#/$defs/registry_fields"]


def test_constraint_layers_only_mention_declared_properties(schema: Doc) -> None:
    declared = {name for _, name, _ in property_schemas(schema)}
    mentioned = {name for _, name, _ in property_schemas(schema, constraints=True)}
    assert mentioned - declared == set()


# --- documents that must validate --------------------------------------------------------


def documents() -> list[Path]:
    return [EXAMPLE_PATH, *SAMPLE_FILES]


def test_the_samples_are_there() -> None:
    names = {p.parent.name for p in SAMPLE_FILES}
    assert {"quickstart", "private-registry", "fargate", "multi-env", "reference"} <= names


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_document_validates(path: Path, validator: Draft202012Validator) -> None:
    errors = errors_of(validator, load_yaml(path))
    assert not errors, describe(errors)


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_environment_merged_validates(path: Path, validator: Draft202012Validator) -> None:
    doc = load_yaml(path)
    for name, overlay in (doc.get("environments") or {}).items():
        merged = deep_merge({k: v for k, v in doc.items() if k != "environments"}, overlay)
        errors = errors_of(validator, merged)
        assert not errors, f"-e {name}:\n{describe(errors)}"


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_task_definition_templates_exist(path: Path) -> None:
    doc = load_yaml(path)
    entries = [doc["services"]] + [
        env.get("services") or {} for env in (doc.get("environments") or {}).values()
    ]
    templates = {
        s["task_definition"] for e in entries for s in e.values() if "task_definition" in s
    }
    assert templates
    missing = [t for t in sorted(templates) if not (path.parent / t).is_file()]
    assert missing == []


@pytest.mark.parametrize("sample", [p.parent for p in SAMPLE_FILES], ids=lambda p: p.name)
def test_sample_folder_is_complete(sample: Path) -> None:
    assert (sample / "README.md").is_file()
    readme = (sample / "README.md").read_text(encoding="utf-8")
    assert f"ecsdeploy -f samples/{sample.name}/deploy.yaml validate" in readme
    templates = sorted((sample / "taskdefs").iterdir())
    assert templates and all(re.search(r"\.(json|ya?ml)(\.j2)?$", t.name) for t in templates)
    first_line = (sample / "deploy.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first_line == MODELINE


def readme_example() -> str:
    """The yaml block under the README's `## deploy.yaml` heading."""
    text = README_PATH.read_text(encoding="utf-8")
    section = text.split("\n## deploy.yaml\n", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match, "no yaml block under '## deploy.yaml' in README.md"
    return match.group(1)


def is_excerpt(part: Any, whole: Any) -> bool:
    """Every key of `part` is in `whole` with the same value (mappings compared key by key)."""
    if isinstance(part, dict) and isinstance(whole, dict):
        return all(k in whole and is_excerpt(v, whole[k]) for k, v in part.items())
    return bool(part == whole)


def test_readme_example_validates(validator: Draft202012Validator) -> None:
    errors = errors_of(validator, YAML(typ="safe").load(readme_example()))
    assert not errors, describe(errors)


def test_readme_example_is_an_excerpt_of_the_reference_sample() -> None:
    """The README's short deploy.yaml says nothing the reference sample does not, so the
    templates it names exist and `ecsdeploy -f samples/reference/deploy.yaml` runs it."""
    excerpt = YAML(typ="safe").load(readme_example())
    reference = load_yaml(SAMPLES / "reference" / "deploy.yaml")
    assert is_excerpt(excerpt, reference)


def test_the_excerpt_check_finds_a_difference() -> None:
    reference = load_yaml(SAMPLES / "reference" / "deploy.yaml")
    changed = copy.deepcopy(reference)
    changed["services"]["web"]["desired_count"] = 4
    assert is_excerpt({"services": {"web": {"cluster": "main"}}}, reference)
    assert not is_excerpt(changed, reference)
    assert not is_excerpt({"services": {"api": {}}}, reference)


def all_keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in all_keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in all_keys(v)}
    return set()


def test_example_shows_every_key_of_the_schema(schema: Doc) -> None:
    shown = all_keys(load_yaml(EXAMPLE_PATH))
    known = {name for _, name, _ in property_schemas(schema) if not name.startswith("^")}
    assert sorted(known - shown) == []


# --- documents that must be rejected, and where ------------------------------------------


def base_doc() -> Doc:
    return {
        "version": 1,
        "registries": {
            "ecr": {"type": "ecr", "url": "123456789012.dkr.ecr.eu-west-1.amazonaws.com"},
            "hub": {
                "type": "docker",
                "url": "registry.example.com",
                "auth": {"username_env": "HUB_USER", "password_env": "HUB_PASSWORD"},
                "ecs_config": True,
            },
        },
        "images": {"web": {"registry": "ecr", "repository": "shop/web", "promote": "latest"}},
        "clusters": {"main": {"name": "shop-prod"}},
        "services": {
            "web": {
                "cluster": "main",
                "task_definition": "taskdefs/web.json.j2",
                "deployment": {"timeout": "15m"},
                "load_balancer": {
                    "target_group": "shop-web",
                    "container": "web",
                    "port": 8080,
                    "checks": {"http": {"url": "https://shop.example.com/healthz"}},
                },
            }
        },
        "environments": {"staging": {"services": {"web": {"desired_count": 1}}}},
    }


def test_base_doc_is_valid(validator: Draft202012Validator) -> None:
    errors = errors_of(validator, base_doc())
    assert not errors, describe(errors)


Mutation = Callable[[Doc], None]

INVALID: list[tuple[str, Mutation, tuple[str, ...], str]] = [
    (
        "unknown key",
        lambda d: d["services"]["web"].update(replicas=3),
        ("services", "web"),
        "additionalProperties",
    ),
    (
        "literal password under auth",
        lambda d: d["registries"]["hub"]["auth"].update(password="hunter2"),
        ("registries", "hub", "auth"),
        "additionalProperties",
    ),
    (
        "literal token under auth",
        lambda d: d["registries"]["hub"]["auth"].update(token="abc"),
        ("registries", "hub", "auth"),
        "additionalProperties",
    ),
    (
        "literal password in an overlay",
        lambda d: d["environments"]["staging"].update(
            registries={"hub": {"auth": {"password": "hunter2"}}}
        ),
        ("environments", "staging", "registries", "hub", "auth"),
        "additionalProperties",
    ),
    (
        "promote and local together",
        lambda d: d["images"]["web"].update(local="shop/web:latest"),
        ("images", "web"),
        "not",
    ),
    (
        "duration in words",
        lambda d: d["services"]["web"]["deployment"].update(timeout="15 minutes"),
        ("services", "web", "deployment", "timeout"),
        "oneOf",
    ),
    (
        "negative duration",
        lambda d: d["services"]["web"]["deployment"].update(poll_interval=-1),
        ("services", "web", "deployment", "poll_interval"),
        "oneOf",
    ),
    (
        "username_env without password_env",
        lambda d: d["registries"]["hub"]["auth"].pop("password_env"),
        ("registries", "hub", "auth"),
        "dependentRequired",
    ),
    (
        "password_env without username_env",
        lambda d: d["registries"]["hub"]["auth"].pop("username_env"),
        ("registries", "hub", "auth"),
        "dependentRequired",
    ),
    (
        "environment variable name with a dash",
        lambda d: d["registries"]["hub"]["auth"].update(password_env="HUB-PASSWORD"),
        ("registries", "hub", "auth", "password_env"),
        "pattern",
    ),
    (
        "bad service key",
        lambda d: d["services"].update({"-web": d["services"]["web"]}),
        ("services",),
        "pattern",
    ),
    (
        "bad registry key",
        lambda d: d["registries"].update({"my registry": d["registries"]["ecr"]}),
        ("registries",),
        "pattern",
    ),
    ("version 2", lambda d: d.update(version=2), ("version",), "const"),
    ("no services", lambda d: d.pop("services"), (), "required"),
    (
        "registry url with a scheme",
        lambda d: d["registries"]["hub"].update(url="https://registry.example.com"),
        ("registries", "hub", "url"),
        "pattern",
    ),
    (
        "ecs_config on ECR",
        lambda d: d["registries"]["ecr"].update(ecs_config=True),
        ("registries", "ecr", "ecs_config"),
        "const",
    ),
    (
        "auth on ECR",
        lambda d: d["registries"]["ecr"].update(auth={"username_env": "U", "password_env": "P"}),
        ("registries", "ecr"),
        "not",
    ),
    (
        "insecure ECR",
        lambda d: d["registries"]["ecr"].update(insecure=True),
        ("registries", "ecr", "insecure"),
        "const",
    ),
    (
        "ecs_config with repository_credentials",
        lambda d: d["registries"]["hub"]["auth"].update(mode="repository_credentials"),
        ("registries", "hub", "ecs_config"),
        "const",
    ),
    (
        "secret_name without repository_credentials",
        lambda d: d["registries"]["hub"]["auth"].update(secret_name="ecsdeploy/hub"),
        ("registries", "hub", "auth"),
        "required",
    ),
    (
        "load balancer without port",
        lambda d: d["services"]["web"]["load_balancer"].pop("port"),
        ("services", "web", "load_balancer"),
        "required",
    ),
    (
        "http check without url",
        lambda d: d["services"]["web"]["load_balancer"]["checks"]["http"].pop("url"),
        ("services", "web", "load_balancer", "checks", "http"),
        "required",
    ),
    (
        "http check body not a regular expression",
        lambda d: d["services"]["web"]["load_balancer"]["checks"]["http"].update(body="(["),
        ("services", "web", "load_balancer", "checks", "http", "body"),
        "format",
    ),
    (
        "circuit breaker as a word",
        lambda d: d["services"]["web"]["deployment"].update(circuit_breaker="yes"),
        ("services", "web", "deployment", "circuit_breaker"),
        "oneOf",
    ),
    (
        "minimum healthy over 100",
        lambda d: d["services"]["web"]["deployment"].update(minimum_healthy_percent=150),
        ("services", "web", "deployment", "minimum_healthy_percent"),
        "maximum",
    ),
    (
        "negative desired count",
        lambda d: d["services"]["web"].update(desired_count=-1),
        ("services", "web", "desired_count"),
        "minimum",
    ),
    (
        "template with another extension",
        lambda d: d["services"]["web"].update(task_definition="taskdefs/web.txt"),
        ("services", "web", "task_definition"),
        "pattern",
    ),
    (
        "a dependency listed twice",
        lambda d: d["services"]["web"].update(depends_on=["worker", "worker"]),
        ("services", "web", "depends_on"),
        "uniqueItems",
    ),
    (
        "ECS_CLUSTER among the agent settings",
        lambda d: d["clusters"]["main"].update(ecs_config={"settings": {"ECS_CLUSTER": "x"}}),
        ("clusters", "main", "ecs_config", "settings"),
        "pattern",
    ),
    (
        "agent setting without the ECS_ prefix",
        lambda d: d["clusters"]["main"].update(ecs_config={"settings": {"LOGLEVEL": "debug"}}),
        ("clusters", "main", "ecs_config", "settings"),
        "pattern",
    ),
    (
        "unknown key in an overlay entry",
        lambda d: d["environments"]["staging"]["services"]["web"].update(replicas=1),
        ("environments", "staging", "services", "web"),
        "additionalProperties",
    ),
    (
        "launch type in lower case",
        lambda d: d["services"]["web"].update(launch_type="fargate"),
        ("services", "web", "launch_type"),
        "enum",
    ),
    (
        "service tag key reserved by AWS",
        lambda d: d["services"]["web"].update(tags={"AWS:team": "shop"}),
        ("services", "web", "tags"),
        "not",
    ),
    (
        "propagate_tags in lower case",
        lambda d: d["services"]["web"].update(propagate_tags="service"),
        ("services", "web", "propagate_tags"),
        "enum",
    ),
    (
        "placement constraint of an unknown type",
        lambda d: d["services"]["web"].update(placement={"constraints": [{"type": "spread"}]}),
        ("services", "web", "placement", "constraints", 0, "type"),
        "enum",
    ),
    (
        "capacity provider without its name",
        lambda d: d["services"]["web"].update(capacity_provider_strategy=[{"weight": 1}]),
        ("services", "web", "capacity_provider_strategy", 0),
        "required",
    ),
    (
        "service_overrides key in snake case",
        lambda d: d["services"]["web"].update(service_overrides={"enable_ecs_managed_tags": True}),
        ("services", "web", "service_overrides"),
        "pattern",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "keyword"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_document_is_rejected_at_its_path(
    validator: Draft202012Validator, mutate: Mutation, path: tuple[str, ...], keyword: str
) -> None:
    doc = base_doc()
    mutate(doc)
    errors = errors_of(validator, doc)
    assert any(tuple(e.absolute_path) == path and e.validator == keyword for e in errors), (
        describe(errors) or "no error"
    )
    # The mistake is reported where it is, not somewhere else as well.
    assert all(tuple(e.absolute_path)[: len(path)] == path for e in errors), describe(errors)


def test_every_exclusion_says_why(schema: Doc) -> None:
    """A `not`, a `const` in a condition or a key pattern carries the sentence an error shows."""
    silent = [
        pointer
        for pointer, node, _ in walk(schema)
        for key in ("not", "propertyNames")
        if isinstance(node.get(key), dict) and not has_description(node[key], schema)
    ]
    silent += [
        f"{pointer}/then/properties/{name}"
        for pointer, node, _ in walk(schema)
        for name, sub in (node.get("then") or {}).get("properties", {}).items()
        if not has_description(sub, schema)
    ]
    assert silent == []


def test_bad_map_key_error_comes_from_property_names(validator: Draft202012Validator) -> None:
    """What the loader keys on to say `invalid name` at the key's position."""
    doc = base_doc()
    doc["images"]["web app"] = doc["images"]["web"]
    (error,) = errors_of(validator, doc)
    assert "propertyNames" in error.schema_path
    assert error.instance == "web app"


@pytest.mark.parametrize(
    "value", [0, 90, "500ms", "90s", "15m", "1h30m", "2h", "2.5s", "1h0m0s", 86400]
)
def test_durations_accepted(validator: Draft202012Validator, value: object) -> None:
    doc = base_doc()
    doc["services"]["web"]["deployment"]["timeout"] = value
    assert not errors_of(validator, doc)


@pytest.mark.parametrize(
    "value", ["15 minutes", "15", "1.5", "m", "", "-5s", "1d", "15M", -1, 1.5, True, None]
)
def test_durations_rejected(validator: Draft202012Validator, value: object) -> None:
    doc = base_doc()
    doc["services"]["web"]["deployment"]["timeout"] = value
    errors = errors_of(validator, doc)
    assert [tuple(e.absolute_path) for e in errors] == [
        ("services", "web", "deployment", "timeout")
    ]


@pytest.mark.parametrize(
    "overlay",
    [
        {"services": {"web": {"load_balancer": {"target_group": "shop-staging-web"}}}},
        {"services": {"web": {"load_balancer": {"checks": {"http": {"attempts": 10}}}}}},
        {"registries": {"hub": {"url": "staging-registry.example.com"}}},
        {"images": {"web": {"promote": "staging"}}},
        {"clusters": {"main": {"name": "shop-staging"}}},
        {"region": "us-east-1", "vars": {"log_level": "debug"}},
    ],
)
def test_overlay_entries_may_be_partial(validator: Draft202012Validator, overlay: Doc) -> None:
    doc = base_doc()
    doc["environments"]["staging"] = overlay
    assert not errors_of(validator, doc)
    merged = deep_merge({k: v for k, v in doc.items() if k != "environments"}, overlay)
    assert not errors_of(validator, merged)


def test_merged_overlay_is_checked_again(validator: Draft202012Validator) -> None:
    """A service only the overlay names passes in the overlay, fails once merged: incomplete."""
    doc = base_doc()
    doc["environments"]["staging"] = {"services": {"canary": {"desired_count": 1}}}
    assert not errors_of(validator, doc)
    merged = deep_merge(
        {k: v for k, v in doc.items() if k != "environments"}, doc["environments"]["staging"]
    )
    errors = errors_of(validator, merged)
    assert {(tuple(e.absolute_path), e.validator) for e in errors} == {
        (("services", "canary"), "required")
    }


@pytest.mark.parametrize(
    "circuit_breaker", [True, False, {}, {"enable": False, "rollback": False}, {"rollback": False}]
)
def test_circuit_breaker_forms(validator: Draft202012Validator, circuit_breaker: object) -> None:
    doc = base_doc()
    doc["services"]["web"]["deployment"]["circuit_breaker"] = circuit_breaker
    assert not errors_of(validator, doc)


@pytest.mark.parametrize(
    "target_group",
    [
        "shop-web",
        "a",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-web/0123456789abcdef",
    ],
)
def test_target_group_by_name_or_arn(validator: Draft202012Validator, target_group: str) -> None:
    doc = base_doc()
    doc["services"]["web"]["load_balancer"]["target_group"] = target_group
    assert not errors_of(validator, doc)


def test_x_extension_keys_hold_anchors(validator: Draft202012Validator) -> None:
    text = """
version: 1
x-defaults: &defaults {cluster: main, keep_revisions: 3}
clusters: {main: {name: shop}}
services:
  web: {<<: *defaults, task_definition: web.json}
"""
    assert not errors_of(validator, YAML(typ="safe").load(text))
