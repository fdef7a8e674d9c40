"""API input checked against the service model botocore ships, before any AWS call.

botocore carries each AWS API's model as JSON (`botocore/data/ecs/<version>/
service-2.json[.gz]`): every operation's input shape, and for each shape its
type, members, required members, enums and, where the API states them, `min`
and `max`. `check_shape` walks a value through a shape and reports what the API
would refuse: an unknown field (with the nearest known name), a wrong type, a
value outside an enum or a range, a missing required member; nested shapes are
walked to the bottom. botocore's own parameter validation stops at names, types
and required members, and only at the first request, after images were already
re-tagged; this runs in `validate`.

The model is read as data, without importing botocore (whose import costs more
than `validate` itself): `importlib.util.find_spec` finds the package, the newest
API version folder is read once per process. Without botocore `load_model`
returns None and callers skip the model check.

`Rules` adds what a service documents beyond its model (ECS: a container needs
`image`, a health check's interval is 5 to 300 seconds); `REGISTER_TASK_DEFINITION`
holds ECS's. Values set to None count as absent, as the renderer drops nulls.
Pure apart from `load_model`'s read.
"""

from __future__ import annotations

import difflib
import gzip
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ShapeProblem:
    """One thing the API would refuse: where (a key path), what, and how to fix it."""

    path: str  # `containerDefinitions[web].portMappings[0].protocol`; "" is the whole input
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class ServiceModel:
    """An API's shapes and operations, as botocore's service-2.json has them."""

    service: str
    version: str  # the API version folder, e.g. 2014-11-13
    shapes: Mapping[str, Mapping[str, Any]] = field(compare=False, repr=False)
    operations: Mapping[str, Mapping[str, Any]] = field(compare=False, repr=False)

    def input_shape(self, operation: str) -> str | None:
        """The name of an operation's input shape (`RegisterTaskDefinitionRequest`)."""
        op = self.operations.get(operation) or {}
        shape = (op.get("input") or {}).get("shape")
        return shape if isinstance(shape, str) else None


@dataclass(frozen=True)
class Rules:
    """What an API requires beyond its model, per shape (names as in the model).

    `required`: members the model leaves optional but the service needs;
    `ranges`: (shape, member) -> (min, max), either None, for numbers the value
    and for strings and lists the length; they narrow what the model states;
    `hints`: (shape, member) -> how to fix a problem with that member;
    `identity`: list member name -> the field naming its items, so a path says
    `containerDefinitions[web]` rather than `containerDefinitions[0]`.
    """

    required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ranges: Mapping[tuple[str, str], tuple[int | None, int | None]] = field(default_factory=dict)
    hints: Mapping[tuple[str, str], str] = field(default_factory=dict)
    identity: Mapping[str, str] = field(default_factory=dict)


NO_RULES = Rules()

# ECS API reference (RegisterTaskDefinition, ContainerDefinition, HealthCheck,
# EphemeralStorage, LinuxParameters, PortMapping): documented limits the model's
# shapes do not carry.
REGISTER_TASK_DEFINITION = Rules(
    required={
        "ContainerDefinition": ("name", "image"),
        "KeyValuePair": ("name",),  # an environment variable (or a proxy property)
    },
    ranges={
        ("RegisterTaskDefinitionRequest", "family"): (1, 255),
        ("RegisterTaskDefinitionRequest", "containerDefinitions"): (1, None),
        ("ContainerDefinition", "name"): (1, 255),
        ("ContainerDefinition", "image"): (1, None),
        # Docker 20.10 and later reserve at least 6 MiB for a container.
        ("ContainerDefinition", "memory"): (6, None),
        ("ContainerDefinition", "memoryReservation"): (6, None),
        ("ContainerDefinition", "cpu"): (0, None),
        ("HealthCheck", "interval"): (5, 300),
        ("HealthCheck", "timeout"): (2, 60),
        ("HealthCheck", "retries"): (1, 10),
        ("HealthCheck", "startPeriod"): (0, 300),
        ("HealthCheck", "command"): (1, None),
        ("EphemeralStorage", "sizeInGiB"): (21, 200),
        ("LinuxParameters", "swappiness"): (0, 100),
        ("PortMapping", "containerPort"): (1, 65535),
        ("PortMapping", "hostPort"): (0, 65535),
    },
    hints={
        ("RegisterTaskDefinitionRequest", "family"): 'add "family": "<name>"',
        ("RegisterTaskDefinitionRequest", "containerDefinitions"): (
            "a task definition lists its containers under containerDefinitions"
        ),
        ("RegisterTaskDefinitionRequest", "cpu"): (
            'CPU units or vCPUs as a string ("256", "0.25 vCPU"); a plain number works too'
        ),
        ("RegisterTaskDefinitionRequest", "memory"): (
            'MiB or GB as a string ("512", "1 GB"); a plain number works too'
        ),
        ("ContainerDefinition", "image"): "refer to an image of deploy.yaml: {{ images.NAME.uri }}",
        ("ContainerDefinition", "memory"): "Docker reserves at least 6 MiB for a container",
        ("ContainerDefinition", "memoryReservation"): (
            "Docker reserves at least 6 MiB for a container"
        ),
        ("KeyValuePair", "name"): 'each entry is {"name": "NAME", "value": "..."}',
        ("Secret", "valueFrom"): (
            "the ARN of a Secrets Manager secret, or an SSM parameter's name or ARN"
        ),
    },
    identity={
        "containerDefinitions": "name",
        "volumes": "name",
        "environment": "name",
        "secrets": "name",
    },
)


# --- the model ------------------------------------------------------------------------


def _botocore_data() -> Path | None:
    """botocore's data folder, found without importing botocore."""
    try:
        spec = importlib.util.find_spec("botocore")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        data = Path(location) / "data"
        if data.is_dir():
            return data
    return None


def read_model(folder: Path, service: str) -> ServiceModel | None:
    """The newest model of `service` under a botocore-style data folder, or None."""
    base = folder / service
    try:
        versions = sorted((p for p in base.iterdir() if p.is_dir()), key=lambda p: p.name)
    except OSError:
        return None
    for version in reversed(versions):
        plain, packed = version / "service-2.json", version / "service-2.json.gz"
        try:
            if plain.is_file():
                doc = json.loads(plain.read_bytes())
            elif packed.is_file():
                with gzip.open(packed) as f:
                    doc = json.loads(f.read())
            else:
                continue
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), dict):
            return None
        return ServiceModel(service, version.name, doc["shapes"], doc.get("operations") or {})
    return None


@cache
def load_model(service: str = "ecs") -> ServiceModel | None:
    """The installed botocore's model of `service`, read once per process; None
    without botocore (or without that service)."""
    data = _botocore_data()
    return read_model(data, service) if data is not None else None


# --- the walk -------------------------------------------------------------------------

_EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "long": "an integer",
    "double": "a number",
    "float": "a number",
    "boolean": "true or false",
    "timestamp": "a timestamp",
    "blob": "a string",
    "list": "a list",
    "structure": "an object",
    "map": "an object",
}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return repr(value)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _type_ok(kind: str, value: Any) -> bool:
    if kind in ("string", "blob"):
        return isinstance(value, str)
    if kind in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("double", "float"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "timestamp":
        return isinstance(value, str | int | float) and not isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind in ("structure", "map"):
        return isinstance(value, dict)
    return True


def _type_hint(kind: str, value: Any) -> str | None:
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return "quote it to make it a string"
    if kind in ("integer", "long") and isinstance(value, str) and value.strip().isdigit():
        return "write the number without quotes"
    if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return "write true or false without quotes"
    if kind == "list" and _is_scalar(value):
        return "put it in a list: [...]"
    return None


def item_labels(items: list[Any], key: str | None) -> list[str]:
    """Each item's label in a path: its `key` field (a container's name) where that is a
    string no other item shares, else its index."""
    labels = [str(i) for i in range(len(items))]
    if key is None:
        return labels
    names = [
        item.get(key) if isinstance(item, dict) and isinstance(item.get(key), str) else None
        for item in items
    ]
    for i, n in enumerate(names):
        if n and names.count(n) == 1 and "[" not in n and "]" not in n:
            labels[i] = n
    return labels


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"is not between {low:g} and {high:g}"
    if low is not None:
        return f"is less than the minimum, {low:g}"
    return f"is more than the maximum, {high:g}"


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def suggest(word: str, choices: list[str]) -> str | None:
    """The nearest choice: the same word in another case first, then difflib's best."""
    for choice in choices:
        if choice.lower() == word.lower():
            return choice
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


class _Walker:
    def __init__(self, model: ServiceModel, rules: Rules) -> None:
        self.model = model
        self.rules = rules
        self.problems: list[ShapeProblem] = []

    def add(self, path: str, message: str, hint: str | None = None) -> None:
        self.problems.append(ShapeProblem(path, message, hint))

    def visit(
        self,
        name: str,
        value: Any,
        path: str,
        *,
        sensitive: bool = False,
        owner: tuple[str, str] | None = None,
    ) -> None:
        shape = self.model.shapes.get(name)
        if shape is None:  # a model that names a shape it lacks: nothing to check against
            return
        kind = str(shape.get("type", ""))
        sensitive = sensitive or bool(shape.get("sensitive"))
        hint = self.rules.hints.get(owner) if owner else None
        if not _type_ok(kind, value):
            expected = _EXPECTED.get(kind, kind)
            if _is_scalar(value) and not sensitive:
                message = f"{_shown(value)} is not {expected}"
            else:
                message = f"expected {expected}, not {_kind(value)}"
            self.add(path, message, _type_hint(kind, value) or hint)
            return
        if kind == "structure":
            self.structure(name, shape, value, path, sensitive)
        elif kind == "list":
            self.sized(shape, owner, value, path, "item")
            member = shape.get("member") or {}
            key = self.rules.identity.get(owner[1]) if owner else None
            labels = item_labels(value, key)
            for label, item in zip(labels, value, strict=True):
                self.visit(str(member.get("shape")), item, f"{path}[{label}]", sensitive=sensitive)
        elif kind == "map":
            self.sized(shape, owner, value, path, "entry")
            key_shape = str((shape.get("key") or {}).get("shape"))
            value_shape = str((shape.get("value") or {}).get("shape"))
            for k, v in value.items():
                self.visit(key_shape, k, f"{path}[{k}]", sensitive=sensitive)
                self.visit(value_shape, v, f"{path}[{k}]", sensitive=sensitive)
        elif kind == "string":
            enum = shape.get("enum")
            if enum and value not in enum:
                shown = "the value" if sensitive else _shown(value)
                near = suggest(value, list(enum)) if not sensitive else None
                self.add(
                    path,
                    f"{shown} is not one of {', '.join(enum)}",
                    f"did you mean {near}?" if near else hint,
                )
            else:
                self.sized(shape, owner, value, path, "character")
        elif kind in ("integer", "long", "double", "float"):
            self.number(shape, owner, value, path, hint)

    def limits(
        self, shape: Mapping[str, Any], owner: tuple[str, str] | None
    ) -> tuple[float | None, float | None]:
        low, high = shape.get("min"), shape.get("max")
        extra = self.rules.ranges.get(owner) if owner else None
        if extra is not None:
            if extra[0] is not None:
                low = extra[0] if low is None else max(low, extra[0])
            if extra[1] is not None:
                high = extra[1] if high is None else min(high, extra[1])
        return low, high

    def number(
        self,
        shape: Mapping[str, Any],
        owner: tuple[str, str] | None,
        value: float,
        path: str,
        hint: str | None,
    ) -> None:
        low, high = self.limits(shape, owner)
        if (low is not None and value < low) or (high is not None and value > high):
            self.add(path, f"{_shown(value)} {_range_text(low, high)}", hint)

    def sized(
        self,
        shape: Mapping[str, Any],
        owner: tuple[str, str] | None,
        value: str | list[Any] | dict[str, Any],
        path: str,
        unit: str,
    ) -> None:
        low, high = self.limits(shape, owner)
        n = len(value)
        if (low is None or n >= low) and (high is None or n <= high):
            return
        hint = self.rules.hints.get(owner) if owner else None
        plural = unit if n == 1 else unit + "s"
        if n == 0:
            self.add(path, "is empty", hint)
        elif low is not None and n < low:
            self.add(path, f"has {n} {plural}, fewer than the minimum, {low:g}", hint)
        else:
            self.add(path, f"has {n} {plural}, more than the maximum, {high:g}", hint)

    def structure(
        self,
        name: str,
        shape: Mapping[str, Any],
        value: dict[str, Any],
        path: str,
        sensitive: bool,
    ) -> None:
        members: Mapping[str, Any] = shape.get("members") or {}
        known = list(members)
        for key in value:
            if key not in members:
                near = suggest(str(key), known)
                self.add(
                    _join(path, str(key)),
                    "unknown field",
                    f"did you mean {near}?"
                    if near
                    else f"not a field of {name}; field names are case-sensitive",
                )
        present = [k for k in known if value.get(k) is not None]
        required = [*shape.get("required", ()), *self.rules.required.get(name, ())]
        for member in dict.fromkeys(required):
            if member in members and value.get(member) is None:
                self.add(
                    _join(path, member),
                    "required field is missing",
                    self.rules.hints.get((name, member)),
                )
        if shape.get("union") and len(present) != 1:
            self.add(path or "(input)", f"set exactly one of {', '.join(known)}")
        for member in present:
            spec = members[member]
            self.visit(
                str(spec.get("shape")),
                value[member],
                _join(path, member),
                sensitive=sensitive or bool(spec.get("sensitive")),
                owner=(name, member),
            )


def check_shape(
    model: ServiceModel,
    shape: str,
    value: Any,
    path: str = "",
    rules: Rules = NO_RULES,
) -> list[ShapeProblem]:
    """Everything in `value` that the API would refuse as a `shape`, in document order.

    Values of sensitive shapes (environment variables, repository credentials) are
    never quoted in a message.
    """
    walker = _Walker(model, rules)
    walker.visit(shape, value, path)
    return walker.problems


def check_operation_input(
    model: ServiceModel, operation: str, value: Any, rules: Rules = NO_RULES
) -> list[ShapeProblem]:
    """`check_shape` on an operation's input shape; nothing when the model lacks it."""
    shape = model.input_shape(operation)
    return check_shape(model, shape, value, "", rules) if shape else []
