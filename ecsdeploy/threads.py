"""Running one function over a few items at once: the AWS calls' fan-out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
Item = TypeVar("Item")


def each(fn: Callable[[Item], T], items: Iterable[Item], *, workers: int) -> list[T]:
    """`[fn(i) for i in items]`, in up to `workers` threads when there are several;
    the first exception is raised once all have ended."""
    items = list(items)
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))
