"""Service and task definitions written for other tools, read for `init --service-def`.

Teams arriving from ecspresso or from the AWS CLI hold their service as a file:
ecspresso's `ecs-service-def.json` (a CreateService input without the names
ecspresso supplies), a `create-service --cli-input-json` file, or a saved
`describe-services` response; and the task definition as ecspresso's
`ecs-task-def.json`, a RegisterTaskDefinition input or a `describe-task-definition`
response. JSON or YAML. This module reads them into the shapes `ecsdeploy.init`
turns into deploy.yaml, refusing what ECS would refuse, each problem at its line
and key path, before anything is written. No AWS call.

Template expressions of other tools (`{{ must_env … }}`, `{{ tfstate … }}`) have no
value here: the file is refused where one stands, with the hint to render it first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecsdeploy.config.loader import KeyPath, Positions, parse_yaml_text
from ecsdeploy.config.overrides import path_parts
from ecsdeploy.errors import InputError, Location, Problem

TEMPLATE_HINT = (
    "render it first (e.g. `ecspresso render servicedef` / `ecspresso render taskdef`) "
    "and import the output: ecsdeploy reads plain values"
)


@dataclass(frozen=True)
class ServiceDefinition:
    """One service from a file, in CreateService's shape (describe-only members left out)."""

    service: dict[str, Any]
    left_out: tuple[str, ...]  # describe-only members present in the file


def _read(path: Path) -> tuple[Any, Positions]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            Problem(f"cannot read {path}: {exc.strerror}", Location(str(path)))
        ) from None
    try:
        return parse_yaml_text(text, str(path))
    except InputError as exc:
        if "{{" not in text:
            raise
        # A bare template (`"subnets": {{ … }}`) is not JSON (YAML reads it as a
        # mapping whose key is a mapping): say what it is, where it stands.
        raise InputError(
            [
                Problem(
                    "a template expression stands where a value belongs",
                    p.location,
                    TEMPLATE_HINT,
                )
                for p in exc.problems
            ]
        ) from None


def _templates(value: Any, path: KeyPath, positions: Positions) -> list[Problem]:
    """Values that are not values yet: another tool's template expressions, nulls."""
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _templates(v, (*path, k), positions)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _templates(v, (*path, i), positions)]
    if value is None:
        return [
            Problem(
                "null is not a value ECS takes",
                positions.locate(path),
                "leave the field out, or give it a value",
            )
        ]
    if isinstance(value, str) and "{{" in value:
        return [
            Problem(
                f"template expression in a value: {value.strip()[:80]}",
                positions.locate(path),
                TEMPLATE_HINT,
            )
        ]
    return []


def _check(
    operation: str, value: Mapping[str, Any], base: KeyPath, positions: Positions
) -> list[Problem]:
    from ecsdeploy.api_model import check_operation_input, load_model

    model = load_model("ecs")
    if model is None:
        return []
    return [
        Problem(
            f"{operation}: {found.message}",
            positions.locate((*base, *path_parts(found.path))),
            found.hint,
        )
        for found in check_operation_input(model, operation, dict(value))
    ]


def read_service_definition(path: Path, name: str | None) -> ServiceDefinition:
    """The service in `path` (the one named `name` in a describe-services response
    holding several); `name` also supplies a missing serviceName."""
    from ecsdeploy.init import create_service_fields

    data, positions = _read(path)
    base: KeyPath = ()
    if isinstance(data, Mapping) and isinstance(data.get("services"), list):
        services = [s for s in data["services"] if isinstance(s, Mapping)]
        names = [str(s.get("serviceName")) for s in services]
        if name is None and len(services) != 1:
            raise InputError(
                Problem(
                    f"{path} describes {len(services)} services",
                    Location(str(path)),
                    f"choose one with --service ({', '.join(names) or 'none'})",
                )
            )
        index = 0 if name is None else (names.index(name) if name in names else -1)
        if index < 0:
            raise InputError(
                Problem(
                    f"{path} has no service {name}",
                    Location(str(path)),
                    f"services in it: {', '.join(names) or 'none'}",
                )
            )
        data, base = services[index], ("services", index)
    if not isinstance(data, Mapping):
        raise InputError(
            Problem(
                f"{path} holds no service definition (an object of CreateService fields)",
                positions.locate(()),
            )
        )
    problems = _templates(data, base, positions)
    if problems:
        raise InputError(problems)
    members = create_service_fields()
    describe_only = _describe_only()
    service = {k: v for k, v in data.items() if k in members}
    left_out = tuple(k for k in data if k in describe_only)
    # Describe-only members (counts, events, platformFamily) are state, expected in
    # ecspresso init output; any other unknown name is refused with the nearest one.
    checked = {k: v for k, v in data.items() if k not in describe_only}
    checked.setdefault("serviceName", name or "service")
    problems = _check("CreateService", checked, base, positions)
    if problems:
        raise InputError(problems)
    given = service.get("serviceName")
    if name is not None and given and given != name and base == ():
        raise InputError(
            Problem(
                f"--service {name}: {path} defines service {given}",
                positions.locate(("serviceName",)),
                "leave --service out, or give the name the file has",
            )
        )
    if name is not None and not given:
        service["serviceName"] = name
    if not service.get("serviceName"):
        raise InputError(
            Problem(
                f"{path} has no serviceName",
                positions.locate(base),
                "name the service with --service",
            )
        )
    return ServiceDefinition(service, left_out)


def _describe_only() -> frozenset[str]:
    """The members of DescribeServices' Service shape that CreateService does not take."""
    from ecsdeploy.api_model import load_model
    from ecsdeploy.init import create_service_fields

    model = load_model("ecs")
    if model is None:
        return frozenset()
    described = (model.shapes.get("Service") or {}).get("members") or {}
    return frozenset(described) - create_service_fields()


def read_task_definition(path: Path) -> dict[str, Any]:
    """A task definition as RegisterTaskDefinition takes it (from ecspresso's task
    definition file, a register input, or a describe-task-definition response)."""
    from ecsdeploy.render.shapes import to_register_input

    data, positions = _read(path)
    base: KeyPath = ()
    if isinstance(data, Mapping) and isinstance(data.get("taskDefinition"), Mapping):
        data, base = data["taskDefinition"], ("taskDefinition",)
    if not isinstance(data, Mapping) or "containerDefinitions" not in data:
        raise InputError(
            Problem(
                f"{path} holds no task definition (an object with containerDefinitions)",
                positions.locate(base),
            )
        )
    problems = _templates(data, base, positions)
    if problems:
        raise InputError(problems)
    register = to_register_input(dict(data))
    problems = _check("RegisterTaskDefinition", register, base, positions)
    if problems:
        raise InputError(problems)
    return dict(data)
