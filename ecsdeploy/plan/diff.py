"""Task-definition diff: what changes between the live revision and the rendered template.

Both sides are normalised first (`normalize.py`), so an unchanged template gives no
change at all. The result carries
- `changes`: one `FieldChange` per changed value, with a stable path such as
  `containerDefinitions[web].image` or `containerDefinitions[web].environment[LOG_LEVEL]`,
  for the JSON plan;
- `text`: the same changes as terraform-style lines for people (`+` added, `-`
  removed, `~` changed), indented like YAML, with the unchanged ancestors of each
  change (its container's header, `environment:`) as context and everything else
  hidden:

      containerDefinitions[web]:
        environment:
    ~     LOG_LEVEL: "info" -> "debug"
    ~   image: "shop/web:41" -> "shop/web:42"
    ~ cpu: 256 -> 512

Lists whose entries have an identity are matched by it, never by position:
containers and volumes by name, environment/secrets by name, tags by key, and so
on (`_LIST_KEYS`). Name/value lists are shown as `NAME: value` lines, so a changed
environment variable is one line. Other lists of objects (portMappings,
placementConstraints) are shown item by item; lists of strings (command) on one line.

Values can be hidden: `mask(path, key)` is asked for every value, with the path of
the object or list holding it and the value's key there (for an environment
variable: `("containerDefinitions[web].environment", "DB_PASSWORD")`); when it
answers True the value is shown, in the text and in `changes`, as `(sensitive)`.
Pure: no I/O.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .normalize import normalize_task_definition

SENSITIVE = "(sensitive)"

Mask = Callable[[str, str], bool]
"""(path of the holding object or list, key of the value) -> hide the value?"""

# Lists of objects matched by an identifying field, with the field. A list is
# matched this way only when every entry has the field and no two share it;
# otherwise it is compared item by item.
_LIST_KEYS: Mapping[str, str] = {
    "containerDefinitions": "name",
    "volumes": "name",
    "environment": "name",
    "secrets": "name",
    "secretOptions": "name",
    "properties": "name",
    "tags": "key",
    "ulimits": "name",
    "systemControls": "namespace",
    "resourceRequirements": "type",
    "dependsOn": "containerName",
    "inferenceAccelerators": "deviceName",
    "extraHosts": "hostname",
    "mountPoints": "containerPath",
    "volumesFrom": "sourceContainer",
}

# Of those, the name -> value lists, with their value field: one line per entry.
_PAIR_VALUES: Mapping[str, str] = {
    "environment": "value",
    "secrets": "valueFrom",
    "secretOptions": "valueFrom",
    "properties": "value",
    "tags": "value",
    "extraHosts": "ipAddress",
    "systemControls": "value",
    "dependsOn": "condition",
}


class ChangeKind(StrEnum):
    """What happened to a value, as terraform names it."""

    ADD = "add"
    REMOVE = "remove"
    UPDATE = "update"

    @property
    def symbol(self) -> str:
        return {"add": "+", "remove": "-", "update": "~"}[self.value]


@dataclass(frozen=True)
class FieldChange:
    """One changed value: its path, and the value before and after (None when absent)."""

    path: str
    kind: ChangeKind
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        """The JSON plan's form of this change."""
        return {
            "path": self.path,
            "action": self.kind.value,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class TaskDefinitionDiff:
    """The difference between two task definitions, as data and as text."""

    changes: tuple[FieldChange, ...]
    text: str
    created: bool  # there was no task definition before

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def as_dict(self) -> dict[str, Any]:
        """The JSON plan's form of this diff."""
        return {
            "changed": self.changed,
            "created": self.created,
            "changes": [c.as_dict() for c in self.changes],
        }


def diff_task_definitions(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    *,
    mask: Mask | None = None,
) -> TaskDefinitionDiff:
    """Compare the live task definition (None when there is none) with the desired one.

    Either side may be in any accepted shape; both are normalised here.
    """
    differ = _Differ(mask or _mask_nothing)
    after_tree = differ.build_object("", "", normalize_task_definition(after))
    if before is None:
        before_tree = _Node(path="", label="", raw={}, shown={}, children=())
    else:
        before_tree = differ.build_object("", "", normalize_task_definition(before))
    lines = differ.diff_children(before_tree, after_tree, depth=0)
    return TaskDefinitionDiff(
        changes=tuple(differ.changes),
        text="".join(line + "\n" for line in lines),
        created=before is None,
    )


def mask_environment(pattern: str = r"(?i)pass|secret|token|credential|private|api_?key") -> Mask:
    """A mask hiding the environment variables whose name matches `pattern` (re.search)."""
    regex = re.compile(pattern)

    def mask(path: str, key: str) -> bool:
        return path.endswith(".environment") and regex.search(key) is not None

    return mask


def _mask_nothing(path: str, key: str) -> bool:
    return False


@dataclass(frozen=True)
class _Node:
    """A value prepared for display.

    `raw` is compared; `shown` (raw with masked values replaced) is reported.
    A node is one of: an object (`children`), a list of objects compared item by
    item (`items`, the shown items as one-line JSON), or a leaf (neither).
    """

    path: str
    label: str
    raw: Any
    shown: Any
    children: tuple[_Node, ...] | None = None
    items: tuple[str, ...] | None = None


class _Differ:
    def __init__(self, mask: Mask) -> None:
        self._mask = mask
        self.changes: list[FieldChange] = []

    # -- building display trees ------------------------------------------------------

    def build_object(self, path: str, label: str, obj: Mapping[str, Any]) -> _Node:
        children: list[_Node] = []
        shown: dict[str, Any] = {}
        for key in sorted(obj):
            value = obj[key]
            child_path = _join(path, key)
            if self._mask(path, key):
                children.append(_Node(child_path, key, value, SENSITIVE))
                shown[key] = SENSITIVE
                continue
            id_field = _identity_field(key, value)
            if id_field is not None and not _is_pair_list(key, value, id_field):
                # Each entry becomes a sibling named like its path, e.g.
                # `containerDefinitions[web]`, so a change inside shows whose it is.
                entries = []
                for entry in value:
                    name = str(entry[id_field])
                    node = self.build_object(f"{child_path}[{name}]", f"{key}[{name}]", entry)
                    children.append(node)
                    entries.append(node.shown)
                shown[key] = entries
                continue
            if id_field is not None:
                node = self._build_pairs(child_path, key, value, id_field, _PAIR_VALUES[key])
            elif isinstance(value, dict):
                node = self.build_object(child_path, key, value)
            elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
                node = self._build_items(child_path, key, value)
            else:
                node = _Node(child_path, key, value, value)
            children.append(node)
            shown[key] = node.shown
        return _Node(path, label, dict(obj), shown, children=tuple(children))

    def _build_pairs(
        self, path: str, label: str, entries: list[Any], id_field: str, value_field: str
    ) -> _Node:
        children = []
        shown = []
        for entry in entries:
            name = str(entry[id_field])
            value = entry.get(value_field)
            display = SENSITIVE if self._mask(path, name) else value
            children.append(_Node(f"{path}[{name}]", name, value, display))
            shown.append({**entry, value_field: display} if value_field in entry else entry)
        return _Node(path, label, entries, shown, children=tuple(children))

    def _build_items(self, path: str, label: str, entries: list[Any]) -> _Node:
        shown = [
            {k: SENSITIVE if self._mask(path, k) else v for k, v in e.items()}
            if isinstance(e, dict)
            else e
            for e in entries
        ]
        return _Node(path, label, entries, shown, items=tuple(_one_line(e) for e in shown))

    # -- comparing -------------------------------------------------------------------

    def diff_children(self, before: _Node, after: _Node, depth: int) -> list[str]:
        assert before.children is not None and after.children is not None
        old = {c.label: c for c in before.children}
        new = {c.label: c for c in after.children}
        lines: list[str] = []
        for label in sorted(old.keys() | new.keys()):
            lines.extend(self._diff(old.get(label), new.get(label), depth))
        return lines

    def _diff(self, before: _Node | None, after: _Node | None, depth: int) -> list[str]:
        if before is None and after is not None:
            self.changes.append(FieldChange(after.path, ChangeKind.ADD, None, after.shown))
            return _render("+", after, depth)
        if after is None and before is not None:
            self.changes.append(FieldChange(before.path, ChangeKind.REMOVE, before.shown, None))
            return _render("-", before, depth)
        assert before is not None and after is not None
        if before.raw == after.raw:
            return []
        if before.children is not None and after.children is not None:
            inner = self.diff_children(before, after, depth + 1)
            return [_line(" ", depth, f"{after.label}:"), *inner] if inner else []
        self.changes.append(FieldChange(after.path, ChangeKind.UPDATE, before.shown, after.shown))
        if before.items is not None and after.items is not None:
            return [_line(" ", depth, f"{after.label}:"), *_item_lines(before, after, depth + 1)]
        if _is_leaf(before) and _is_leaf(after):
            return [_line("~", depth, _update_text(after.label, before.shown, after.shown))]
        # The value changed kind (a list became an object, say): show both whole.
        return [*_render("-", before, depth), *_render("+", after, depth)]


def _is_leaf(node: _Node) -> bool:
    return node.children is None and node.items is None


def _identity_field(key: str, value: Any) -> str | None:
    """The field identifying the entries of this list, if it has one that works here."""
    field = _LIST_KEYS.get(key)
    if field is None or not isinstance(value, list) or not value:
        return None
    names = [e.get(field) if isinstance(e, dict) else None for e in value]
    if any(n is None or isinstance(n, dict | list) for n in names):
        return None
    if len({str(n) for n in names}) != len(names):
        return None
    return field


def _is_pair_list(key: str, entries: list[Any], id_field: str) -> bool:
    """A name -> value list: shown one line per entry (other keyed lists as objects)."""
    value_field = _PAIR_VALUES.get(key)
    if value_field is None:
        return False
    return all(isinstance(e, dict) and set(e) <= {id_field, value_field} for e in entries)


def _render(symbol: str, node: _Node, depth: int) -> list[str]:
    """A whole node, every line marked with `symbol`."""
    if node.children is not None:
        lines = [_line(symbol, depth, f"{node.label}:")]
        for child in node.children:
            lines.extend(_render(symbol, child, depth + 1))
        return lines
    if node.items is not None:
        return [
            _line(symbol, depth, f"{node.label}:"),
            *(_line(symbol, depth + 1, item) for item in node.items),
        ]
    return [_line(symbol, depth, f"{node.label}: {_one_line(node.shown)}")]


def _item_lines(before: _Node, after: _Node, depth: int) -> list[str]:
    """Removed and added items of a list compared item by item, in list order."""
    assert before.items is not None and after.items is not None
    old_raw = [_one_line(v) for v in before.raw]
    new_raw = [_one_line(v) for v in after.raw]
    lines: list[str] = []
    matcher = difflib.SequenceMatcher(a=old_raw, b=new_raw, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        lines.extend(_line("-", depth, item) for item in before.items[i1:i2])
        lines.extend(_line("+", depth, item) for item in after.items[j1:j2])
    return lines


def _update_text(label: str, before: Any, after: Any) -> str:
    if before == SENSITIVE and after == SENSITIVE:
        # Saying that a hidden value changed, never what it was or became.
        return f"{label}: {SENSITIVE}"
    return f"{label}: {_one_line(before)} -> {_one_line(after)}"


def _one_line(value: Any) -> str:
    if value == SENSITIVE:
        return SENSITIVE
    # default=str: boto3 hands back datetimes, which JSON cannot spell.
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "), default=str
    )


def _line(symbol: str, depth: int, text: str) -> str:
    return f"{symbol} {'  ' * depth}{text}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
