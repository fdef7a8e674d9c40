"""The model walk on its own: a small hand-made model, the model loader, the real ECS model
on real task definitions, and the task-level cpu/memory coercion."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from ecsdeploy.api_model import (
    REGISTER_TASK_DEFINITION,
    Rules,
    ServiceModel,
    ShapeProblem,
    check_operation_input,
    check_shape,
    item_labels,
    load_model,
    read_model,
)
from ecsdeploy.config.model import Service
from ecsdeploy.render.checks import secret_literals, task_definition_problems
from ecsdeploy.render.shapes import REGISTER_FIELDS, to_register_input
from tests.plan.realdata import load, real_taskdef_params

SHAPES: dict[str, Any] = {
    "CreateThingRequest": {
        "type": "structure",
        "required": ["name"],
        "members": {
            "name": {"shape": "Name"},
            "size": {"shape": "Size"},
            "big": {"shape": "Long"},
            "ratio": {"shape": "Double"},
            "enabled": {"shape": "Boolean"},
            "when": {"shape": "Timestamp"},
            "mode": {"shape": "Mode"},
            "parts": {"shape": "Parts"},
            "labels": {"shape": "Labels"},
            "choice": {"shape": "Choice"},
            "password": {"shape": "Password"},
        },
    },
    "Name": {"type": "string", "min": 1, "max": 8},
    "Size": {"type": "integer", "min": 1, "max": 10},
    "Long": {"type": "long"},
    "Double": {"type": "double"},
    "Boolean": {"type": "boolean"},
    "Timestamp": {"type": "timestamp"},
    "Mode": {"type": "string", "enum": ["fast", "slow"]},
    "Parts": {"type": "list", "member": {"shape": "Part"}, "max": 2},
    "Part": {
        "type": "structure",
        "required": ["id"],
        "members": {"id": {"shape": "Name"}, "weight": {"shape": "Size"}},
    },
    "Labels": {"type": "map", "key": {"shape": "Name"}, "value": {"shape": "Name"}},
    "Choice": {
        "type": "structure",
        "union": True,
        "members": {"a": {"shape": "Name"}, "b": {"shape": "Name"}},
    },
    "Password": {"type": "string", "sensitive": True, "enum": ["x"]},
}
MODEL = ServiceModel(
    "things",
    "2024-01-01",
    SHAPES,
    {"CreateThing": {"input": {"shape": "CreateThingRequest"}}},
)


def _check(value: Any, rules: Rules | None = None) -> list[tuple[str, str, str | None]]:
    found = check_shape(MODEL, "CreateThingRequest", value, "", rules or Rules())
    return [(p.path, p.message, p.hint) for p in found]


def test_a_valid_value_has_no_problem() -> None:
    value = {
        "name": "a",
        "size": 3,
        "big": 2**40,
        "ratio": 1,
        "enabled": False,
        "when": "2024-01-01T00:00:00Z",
        "mode": "fast",
        "parts": [{"id": "p", "weight": 1}],
        "labels": {"k": "v"},
        "choice": {"b": "x"},
        "password": "x",
    }
    assert _check(value) == []
    assert check_operation_input(MODEL, "CreateThing", value) == []


def test_unknown_fields_with_the_nearest_name() -> None:
    assert _check({"name": "a", "sise": 1, "Mode": "fast", "qqq": 1}) == [
        ("sise", "unknown field", "did you mean size?"),
        ("Mode", "unknown field", "did you mean mode?"),
        (
            "qqq",
            "unknown field",
            "not a field of CreateThingRequest; field names are case-sensitive",
        ),
    ]


@pytest.mark.parametrize(
    ("member", "value", "message", "hint"),
    [
        ("size", "3", "'3' is not an integer", "write the number without quotes"),
        ("size", 2.5, "2.5 is not an integer", None),
        ("size", True, "true is not an integer", None),
        ("big", "x", "'x' is not an integer", None),
        ("ratio", "1.5", "'1.5' is not a number", None),
        ("enabled", "false", "'false' is not true or false", "write true or false without quotes"),
        ("enabled", 1, "1 is not true or false", None),
        ("when", [], "expected a timestamp, not a list", None),
        ("name", 7, "7 is not a string", "quote it to make it a string"),
        ("parts", "p", "'p' is not a list", "put it in a list: [...]"),
        ("parts", {"id": "p"}, "expected a list, not an object", None),
        ("labels", ["k"], "expected an object, not a list", None),
    ],
)
def test_types(member: str, value: Any, message: str, hint: str | None) -> None:
    assert _check({"name": "a", member: value}) == [(member, message, hint)]


def test_enums_suggest_the_nearest_value() -> None:
    assert _check({"name": "a", "mode": "FAST"}) == [
        ("mode", "'FAST' is not one of fast, slow", "did you mean fast?")
    ]
    assert _check({"name": "a", "mode": "medium"}) == [
        ("mode", "'medium' is not one of fast, slow", None)
    ]


def test_a_sensitive_value_is_never_quoted() -> None:
    problems = _check({"name": "a", "password": "hunter2"})
    assert problems == [("password", "the value is not one of x", None)]
    problems = _check({"name": "a", "password": 123456})
    assert problems == [
        ("password", "expected a string, not an integer", "quote it to make it a string")
    ]


def test_required_members_and_unions() -> None:
    assert _check({}) == [("name", "required field is missing", None)]
    assert _check({"name": None}) == [("name", "required field is missing", None)]
    assert _check({"name": "a", "parts": [{"weight": 1}]}) == [
        ("parts[0].id", "required field is missing", None)
    ]
    assert _check({"name": "a", "choice": {}}) == [("choice", "set exactly one of a, b", None)]
    assert _check({"name": "a", "choice": {"a": "x", "b": "y"}}) == [
        ("choice", "set exactly one of a, b", None)
    ]


def test_ranges_of_numbers_strings_and_lists() -> None:
    assert _check({"name": "", "size": 0}) == [
        ("name", "is empty", None),
        ("size", "0 is not between 1 and 10", None),
    ]
    assert _check({"name": "toolongname", "size": 11}) == [
        ("name", "has 11 characters, more than the maximum, 8", None),
        ("size", "11 is not between 1 and 10", None),
    ]
    parts = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    assert _check({"name": "a", "parts": parts}) == [
        ("parts", "has 3 items, more than the maximum, 2", None)
    ]


def test_nested_shapes_maps_and_labels() -> None:
    rules = Rules(identity={"parts": "id"})
    value = {
        "name": "a",
        "parts": [{"id": "p", "weight": 99}, {"id": "q", "colour": 1}],
        "labels": {"k": 5, "": "v"},
    }
    assert _check(value, rules) == [
        ("parts[p].weight", "99 is not between 1 and 10", None),
        ("parts[q].colour", "unknown field", "not a field of Part; field names are case-sensitive"),
        ("labels[k]", "5 is not a string", "quote it to make it a string"),
        ("labels[]", "is empty", None),
    ]


def test_rules_add_required_members_narrow_ranges_and_give_hints() -> None:
    rules = Rules(
        required={"Part": ("weight",)},
        ranges={("CreateThingRequest", "size"): (5, None), ("Part", "weight"): (None, 3)},
        hints={("Part", "weight"): "a small number"},
    )
    value = {"name": "a", "size": 4, "parts": [{"id": "p"}, {"id": "q", "weight": 4}]}
    assert _check(value, rules) == [
        ("size", "4 is not between 5 and 10", None),
        ("parts[0].weight", "required field is missing", "a small number"),
        ("parts[1].weight", "4 is not between 1 and 3", "a small number"),
    ]


def test_item_labels_use_unique_names_only() -> None:
    items = [{"name": "a"}, {"name": "b"}, {"name": "b"}, {}, "x", {"name": "c[1]"}]
    assert item_labels(items, "name") == ["a", "1", "2", "3", "4", "5"]
    assert item_labels(items, None) == ["0", "1", "2", "3", "4", "5"]


def test_unknown_operation_or_shape_checks_nothing() -> None:
    assert check_operation_input(MODEL, "DeleteThing", {"x": 1}) == []
    assert check_shape(MODEL, "Nothing", {"x": 1}) == []


# --- the loader ---------------------------------------------------------------------------


def test_read_model_takes_the_newest_version_plain_or_gzipped(tmp_path: Path) -> None:
    old = tmp_path / "things" / "2015-01-01"
    new = tmp_path / "things" / "2024-01-01"
    old.mkdir(parents=True)
    new.mkdir(parents=True)
    (old / "service-2.json").write_text(json.dumps({"shapes": {"Old": {}}}))
    with gzip.open(new / "service-2.json.gz", "wt") as f:
        json.dump({"shapes": {"New": {}}, "operations": {}}, f)
    model = read_model(tmp_path, "things")
    assert model is not None
    assert model.version == "2024-01-01"
    assert set(model.shapes) == {"New"}
    assert read_model(tmp_path, "nothing") is None
    (new / "service-2.json.gz").write_bytes(b"not gzip")
    assert read_model(tmp_path, "things") is None


def test_load_model_reads_botocores_ecs_model_once() -> None:
    model = load_model("ecs")
    assert model is not None
    assert load_model("ecs") is model
    shape = model.input_shape("RegisterTaskDefinition")
    assert shape == "RegisterTaskDefinitionRequest"
    assert set(model.shapes[shape]["members"]) == set(REGISTER_FIELDS)


def test_the_ecs_rules_name_real_shapes_and_members() -> None:
    """Every shape and member the ECS rules mention exists in the installed model."""
    model = load_model("ecs")
    assert model is not None
    rules = REGISTER_TASK_DEFINITION
    pairs = [*rules.ranges, *rules.hints]
    pairs += [(shape, m) for shape, members in rules.required.items() for m in members]
    for shape, member in pairs:
        assert member in model.shapes[shape]["members"], (shape, member)


# --- real task definitions ---------------------------------------------------------------

# Real files that ECS would refuse as they are: containers with no image (filled in
# by a CI step upstream), and 08's "Tags" with a capital T.
EXPECTED_PROBLEMS: dict[str, set[str]] = {
    "08-ecspresso-td-plain-appmesh": {"Tags: unknown field"},
    "15-cs3219-ec2-multicontainer-dependson": {
        f"containerDefinitions[{name}].image: is empty"
        for name in (
            "session-service",
            "question-service",
            "history-service",
            "matchmaker",
            "user-service",
            "matching-service",
            "collab-service",
            "frontend",
            "gateway",
        )
    },
    "16-tourease-ec2-bridge-static-port": {
        "containerDefinitions[tourease-app].image: required field is missing"
    },
    "21-newdok-describe-secrets-jsonkey-no-image": {
        "containerDefinitions[newdok].image: required field is missing"
    },
}


@pytest.mark.parametrize("path", real_taskdef_params())
def test_real_task_definitions_pass_or_fail_only_as_expected(path: Path) -> None:
    td = to_register_input(load(path))
    service = Service(key="web", cluster="main", name="web", task_definition=path)
    found = {f"{p.path}: {p.message}" for p in task_definition_problems(td, service)}
    assert found == EXPECTED_PROBLEMS.get(path.stem, set())


GOLDEN = sorted((Path(__file__).resolve().parents[1] / "golden").glob("*.json"))


@pytest.mark.parametrize("golden", GOLDEN, ids=[g.stem for g in GOLDEN])
def test_every_sample_renders_to_what_the_model_accepts(golden: Path) -> None:
    """The samples' renders (tests/golden, kept in step by tests/test_samples.py): no
    problem and no secret written as a literal."""
    model = load_model("ecs")
    assert model is not None
    for key, td in json.loads(golden.read_text()).items():
        service = Service(key=key, cluster="main", name=key, task_definition=golden)
        assert (
            check_shape(model, "RegisterTaskDefinitionRequest", td, "", REGISTER_TASK_DEFINITION)
            == []
        )
        assert task_definition_problems(td, service) == []
        assert secret_literals(td) == []


# --- task-level cpu and memory as numbers -------------------------------------------------


def test_task_cpu_and_memory_numbers_become_strings() -> None:
    td = to_register_input(
        {"family": "f", "cpu": 256, "memory": 512, "containerDefinitions": [{"cpu": 128}]}
    )
    assert td["cpu"] == "256"
    assert td["memory"] == "512"
    assert td["containerDefinitions"][0]["cpu"] == 128  # containers keep integers


def test_only_whole_numbers_are_coerced() -> None:
    td = to_register_input({"family": "f", "cpu": 0.5, "memory": True, "containerDefinitions": []})
    assert td["cpu"] == 0.5
    assert td["memory"] is True
    model = load_model("ecs")
    assert model is not None
    found = check_shape(model, "RegisterTaskDefinitionRequest", td, "", REGISTER_TASK_DEFINITION)
    assert (
        ShapeProblem(
            "cpu",
            "0.5 is not a string",
            "quote it to make it a string",
        )
        in found
    )
    assert any(p.path == "memory" and p.message == "true is not a string" for p in found)
