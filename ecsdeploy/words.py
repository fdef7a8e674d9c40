"""Counted nouns in messages: "1 cluster", "2 clusters", never "1 clusters" or "task(s)"."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`count` and the noun in the form the count needs; `many` when it is not noun + "s"."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {many if many is not None else noun + 's'}"
