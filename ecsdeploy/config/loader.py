"""Reading deploy.yaml: YAML text to plain data, with the line and column of every node.

ruamel.yaml's round-trip parser keeps positions; we convert its nodes to plain
dicts, lists and scalars at once and keep the positions in a side table keyed by
the node's path, so every later error can say `deploy.yaml:LINE:COL`. Custom
tags are refused (nothing but plain data is ever constructed), duplicate keys
and tabs are refused with a position, and aliases are followed under a node
budget so an alias bomb fails fast instead of eating memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecsdeploy.errors import InputError, Location, Problem

# A deploy.yaml of a few hundred services has some tens of thousands of nodes;
# a billion-laughs document reaches this in a few milliseconds.
MAX_NODES = 200_000
MAX_BYTES = 5 * 1024 * 1024

KeyPath = tuple[str | int, ...]

# Explicit tags that still mean plain data; anything else (`!!python/...`, `!Ref`) is refused.
_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
}


def format_path(path: KeyPath) -> str:
    """`services.web.deployment.maximum_percent`, `services.web.depends_on[0]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True)
class Positions:
    """1-based (line, column) of values and of mapping keys, by key path."""

    file: str
    values: dict[KeyPath, tuple[int, int]]
    keys: dict[KeyPath, tuple[int, int]]

    def locate(self, path: KeyPath, *, key: bool = False) -> Location:
        """The location of a node, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while True:
            table = self.keys if key else self.values
            pos = table.get(probe) or self.values.get(probe)
            if pos is not None:
                return Location(self.file, pos[0], pos[1], format_path(path) or None)
            if not probe:
                return Location(self.file, None, None, format_path(path) or None)
            probe = probe[:-1]

    def merged(self, other: Positions) -> Positions:
        return Positions(self.file, {**self.values, **other.values}, {**self.keys, **other.keys})


@dataclass(frozen=True)
class SourceDoc:
    """A parsed deploy.yaml: its plain data and where each node was written."""

    path: Path
    data: dict[str, Any]
    positions: Positions


def _display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _Converter:
    def __init__(self, file: str) -> None:
        self.file = file
        self.values: dict[KeyPath, tuple[int, int]] = {(): (1, 1)}
        self.keys: dict[KeyPath, tuple[int, int]] = {}
        self.count = 0

    def _error(self, message: str, path: KeyPath, hint: str | None = None) -> InputError:
        loc = Positions(self.file, self.values, self.keys).locate(path)
        return InputError(Problem(message, loc, hint))

    def convert(self, node: Any, path: KeyPath) -> Any:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar

        self.count += 1
        if self.count > MAX_NODES:
            raise self._error(
                f"the document expands to more than {MAX_NODES} nodes",
                path,
                "is an alias (*name) repeated inside itself? deploy.yaml refuses alias bombs",
            )
        tag = getattr(getattr(node, "tag", None), "value", None)
        if isinstance(node, TaggedScalar) or (tag is not None and tag not in _PLAIN_TAGS):
            raise self._error(
                f"custom YAML tag {tag} is not allowed", path, "deploy.yaml holds plain data only"
            )
        if isinstance(node, CommentedMap):
            result: dict[str, Any] = {}
            for key, value in node.items():
                if not isinstance(key, str):
                    raise self._error(
                        f"keys must be strings, found {key!r} ({type(key).__name__})",
                        path,
                        "quote the key",
                    )
                child = (*path, key)
                try:
                    kl, kc = node.lc.key(key)
                    self.keys[child] = (kl + 1, kc + 1)
                    vl, vc = node.lc.value(key)
                    self.values[child] = (vl + 1, vc + 1)
                except (KeyError, TypeError, AttributeError):
                    # A key brought in by a merge (`<<: *defaults`): point at the map.
                    self.values.setdefault(child, self.values.get(path, (1, 1)))
                if isinstance(value, CommentedMap | CommentedSeq):
                    self.values[child] = (value.lc.line + 1, value.lc.col + 1)
                result[key] = self.convert(value, child)
            return result
        if isinstance(node, CommentedSeq):
            items: list[Any] = []
            for index, value in enumerate(node):
                child = (*path, index)
                try:
                    il, ic = node.lc.item(index)
                    self.values[child] = (il + 1, ic + 1)
                except (KeyError, TypeError, AttributeError, IndexError):
                    self.values.setdefault(child, self.values.get(path, (1, 1)))
                items.append(self.convert(value, child))
            return items
        if node is None or isinstance(node, bool):
            return node
        # ruamel reads some numbers (0, 0o17, 1_000, every float) as int/float
        # subclasses that carry their spelling; plain data has the plain types, so
        # `0` compares and type-checks as the 0 of JSON.
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            return float(node)
        if isinstance(node, str):
            return str(node)  # drop ruamel's scalar-string subclasses
        # Dates, timestamps and other YAML types have no place in deploy.yaml.
        raise self._error(
            f"unsupported value {node!s} ({type(node).__name__})", path, "quote it to make a string"
        )


def _yaml_error(file: str, exc: Exception) -> InputError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = str(getattr(exc, "context", None) or "")
    line = mark.line + 1 if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    hint = None
    text = str(problem)
    if "'\\t'" in text or "\\t" in text or "tab" in text.lower():
        text = "a tab character is not allowed for indentation in YAML"
        hint = "indent with spaces"
    elif "duplicate key" in text.lower() or type(exc).__name__ == "DuplicateKeyError":
        found = re.search(r'duplicate key "([^"]*)"', text)
        text = f"duplicate key `{found.group(1)}`" if found else "duplicate key"
        hint = "each key may appear once in a mapping; remove or merge the repeated one"
    elif "expected a single document" in context:
        text = "deploy.yaml must hold a single YAML document"
        hint = "remove the `---` separators"
    else:
        text = f"invalid YAML: {text}"
    return InputError(Problem(text, Location(file, line, col), hint))


def parse_yaml_text(text: str, file: str) -> tuple[Any, Positions]:
    """Parse YAML text to plain data and positions, refusing what deploy.yaml cannot hold."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        node = yaml.load(text)
    except MarkedYAMLError as exc:
        raise _yaml_error(file, exc) from None
    except YAMLError as exc:
        raise InputError(Problem(f"invalid YAML: {exc}", Location(file))) from None
    except RecursionError:
        raise InputError(
            Problem("the document is nested too deeply", Location(file), "flatten it")
        ) from None
    converter = _Converter(file)
    data = converter.convert(node, ())
    return data, Positions(file, converter.values, converter.keys)


def load_document(path: Path) -> SourceDoc:
    """Read and parse deploy.yaml; every failure is an InputError with a location."""
    file = _display_name(path)
    if not path.exists():
        raise InputError(
            Problem(f"{file} not found", hint="run from the folder that holds it, or pass -f FILE")
        )
    if path.is_dir():
        raise InputError(
            Problem(f"{file} is a folder, not a file", hint="pass -f path/deploy.yaml")
        )
    raw = path.read_bytes()
    if len(raw) > MAX_BYTES:
        raise InputError(Problem(f"{file} is larger than {MAX_BYTES // 1024 // 1024} MiB"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            Problem(f"{file} is not UTF-8 text (byte {exc.start})", hint="save it as UTF-8")
        ) from None
    data, positions = parse_yaml_text(text, file)
    if data is None:
        raise InputError(
            Problem(
                f"{file} is empty",
                Location(file, 1, 1),
                "it needs at least `version: 1`, `clusters:` and `services:`; "
                "see deploy.yaml.example",
            )
        )
    if not isinstance(data, dict):
        raise InputError(
            Problem(
                f"the top level must be a mapping of keys, not a {type(data).__name__}",
                Location(file, 1, 1),
                "start with `version: 1`",
            )
        )
    return SourceDoc(path.resolve(), data, positions)
