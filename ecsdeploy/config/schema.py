"""The JSON Schema of deploy.yaml: where it lives, and its errors said with positions."""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path
from typing import Any

from ecsdeploy.errors import Problem

from .loader import Positions

_HERE = Path(__file__).resolve().parent


def schema_path() -> Path:
    """The schema shipped in the wheel, else the repository's top-level copy."""
    for candidate in (
        _HERE.parent / "schemas" / "deploy.schema.json",  # inside the wheel
        _HERE.parent.parent / "schemas" / "deploy.schema.json",  # a source checkout
    ):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("deploy.schema.json is missing from this installation")


def schema_text() -> str:
    return schema_path().read_text(encoding="utf-8")


@cache
def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


def _allowed_keys(schema: Any, root: dict[str, Any], depth: int = 0) -> list[str]:
    """Property names a (sub)schema accepts, following $ref and composition keywords."""
    if not isinstance(schema, dict) or depth > 10:
        return []
    keys = list(schema.get("properties", {}))
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        keys += _allowed_keys(root.get("$defs", {}).get(ref.split("/")[-1]), root, depth + 1)
    for word in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(word, []):
            keys += _allowed_keys(part, root, depth + 1)
    return list(dict.fromkeys(keys))


def _is_duration_schema(schema: Any, root: dict[str, Any]) -> bool:
    duration = root.get("$defs", {}).get("duration")
    return duration is not None and schema == duration


def _problem(error: Any, positions: Positions, root: dict[str, Any]) -> Problem:
    path = tuple(error.absolute_path)
    validator = error.validator
    instance = error.instance
    hint: str | None = None
    if validator == "additionalProperties" or validator == "unevaluatedProperties":
        allowed = _allowed_keys(error.schema, root)
        extras = [k for k in instance if k not in allowed] if isinstance(instance, dict) else []
        key = extras[0] if extras else "?"
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean `{close[0]}`?" if close else None
        if not hint and allowed:
            hint = "allowed here: " + ", ".join(sorted(allowed))
        return Problem(f"unknown key `{key}`", positions.locate((*path, key), key=True), hint)
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return Problem(f"missing required key `{missing}`", positions.locate(path, key=True))
    if validator == "enum":
        options = ", ".join(str(o) for o in error.validator_value)
        return Problem(f"{instance!r} is not one of: {options}", positions.locate(path))
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    if validator == "const":
        expected = error.validator_value
        return Problem(
            f"must be {_yaml(expected)}, not {_yaml(instance)}", positions.locate(path), described
        )
    if validator == "propertyNames" or "propertyNames" in error.schema_path:
        bad = instance
        return Problem(
            f"invalid name {bad!r}",
            positions.locate((*path, bad) if isinstance(bad, str) else path, key=True),
            described or "names start with a letter or digit and hold letters, digits, `_`, `-`",
        )
    if validator == "dependentRequired":
        return Problem(error.message.replace("'", "`"), positions.locate(path))
    if validator == "not":
        rule = error.validator_value if isinstance(error.validator_value, dict) else {}
        keys = rule.get("required") or []
        if len(keys) == 1:
            text = f"`{keys[0]}` is not allowed here"
        elif keys:
            text = "these keys cannot be used together: " + ", ".join(f"`{k}`" for k in keys)
        else:
            text = "this combination is not allowed"
        return Problem(text, positions.locate(path), rule.get("description") or described)
    if _is_duration_schema(error.schema, root) or (
        validator in ("oneOf", "anyOf", "pattern", "type")
        and any(_is_duration_schema(s, root) for s in [error.schema, *error.schema_path])
    ):
        return Problem(
            f"not a duration: {instance!r}",
            positions.locate(path),
            "write it like 90s, 15m, 1h30m, 500ms, or a number of seconds",
        )
    if validator in ("oneOf", "anyOf") and error.context:
        best = min(error.context, key=lambda e: len(list(e.relative_schema_path)))
        return Problem(best.message, positions.locate(path))
    if validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return Problem(
            f"expected {expected}, found {type(instance).__name__} {instance!r}",
            positions.locate(path),
        )
    return Problem(error.message, positions.locate(path))


def _yaml(value: Any) -> str:
    """A value as deploy.yaml spells it (`true`, not `True`)."""
    return json.dumps(value)


def validate_against_schema(data: dict[str, Any], positions: Positions) -> list[Problem]:
    """Every schema violation, as problems sorted by their place in the file."""
    from jsonschema import Draft202012Validator

    root = load_schema()
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems = [_problem(e, positions, root) for e in validator.iter_errors(data)]
    problems.sort(key=lambda p: (p.location.line or 0, p.location.column or 0, p.message))
    unique: list[Problem] = []
    for p in problems:
        if p not in unique:
            unique.append(p)
    return unique
