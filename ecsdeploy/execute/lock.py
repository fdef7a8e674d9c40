"""One apply per service at a time: locks kept as tags on the services' ECS cluster.

Tags are the only shared state AWS gives us without new infrastructure or new
permissions. A tag `ecsdeploy:lock:<service>` names the holder and an expiry,
so a lock left by a killed process lapses on its own (or at once, when its
holder was a process of this machine that is gone).

Taking the locks is one read (DescribeClusters with its tags), one write
(TagResource), a settle, and a read back. Writing a tag is not atomic: of two
applies that both read "free", both write. The read back, after the settle,
decides: on one key the write that landed last wins and the other refuses; on
two conflicting keys (a service and the whole cluster) both see each other and
both refuse. For both to go on, one of them would have had to write after the
other read back, that is, to take longer from its read to its write than the
other's settle; the settle (4 round trips, at least 0.2 s) is far longer than
that step (one round trip and no work).

A cluster has room for 50 tags. An apply that would leave fewer than
`SPARE_TAGS` free locks the whole cluster with one tag, `ecsdeploy:lock:@all`,
instead of one per service (`@` is in no service name).

`apply` takes its locks while it observes the live state (like Terraform, which
locks before it refreshes): the settle costs no time there.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from ecsdeploy.adapters.ecs import EcsReader, EcsWriter
from ecsdeploy.errors import EcsDeployError, OperationError, RefusedError

PREFIX = "ecsdeploy:lock:"
ALL = f"{PREFIX}@all"  # every service of the cluster
TAG_LIMIT = 50  # user tags an ECS resource can carry
SPARE_TAGS = 10  # left free for people and other applies before one tag locks all
SETTLE_ROUND_TRIPS = 4
MIN_SETTLE_SECONDS = 0.2
# A lock this close to its expiry may have been taken over; release reads it first.
RELEASE_MARGIN = timedelta(seconds=60)

T = TypeVar("T")


@dataclass(frozen=True)
class LockValue:
    holder: str
    until: datetime
    token: str

    def encode(self) -> str:
        return f"{self.holder} until {self.until.strftime('%Y-%m-%dT%H:%M:%SZ')} id {self.token}"

    @staticmethod
    def decode(text: str) -> LockValue | None:
        try:
            holder, rest = text.rsplit(" until ", 1)
            until_text, token = rest.split(" id ", 1)
            until = datetime.strptime(until_text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return None
        return LockValue(holder, until, token)


def _holder() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "unknown"
    ci = os.environ.get("GITHUB_RUN_ID") or os.environ.get("CI_JOB_ID")
    where = f"{user}@{socket.gethostname()} pid {os.getpid()}"
    return f"{where} ci {ci}" if ci else where


def _holder_is_gone(holder: str) -> bool:
    """Whether the holder was a process of this machine that no longer runs."""
    parts = holder.split()
    try:
        host = parts[0].split("@", 1)[1]
        pid = int(parts[2])
    except (IndexError, ValueError):
        return False
    if host != socket.gethostname() or parts[1] != "pid":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False


def _conflicts(key: str, mine: Iterable[str]) -> bool:
    mine = set(mine)
    return key in mine or (key.startswith(PREFIX) and (key == ALL or ALL in mine))


def _what(key: str, cluster: str) -> str:
    return f"every service of cluster {cluster}" if key == ALL else f"service {key[len(PREFIX) :]}"


def _each(fn: Callable[[str], T], items: Sequence[str]) -> list[T]:
    """fn over items, at once when there are several (one per cluster)."""
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
        return list(pool.map(fn, items))


@dataclass
class _Cluster:
    name: str
    arn: str
    keys: list[str]  # the tags this apply writes
    broken: list[str]  # foreign locks --break-lock removes


class ServiceLocks:
    """Locks for the services of one apply; release() frees what it took."""

    def __init__(
        self,
        reader: EcsReader,
        writer: EcsWriter,
        *,
        ttl_seconds: float,
        settle_seconds: float | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._ttl = ttl_seconds
        self._settle = settle_seconds
        self._held: dict[str, list[str]] = {}  # cluster ARN -> tag keys confirmed ours
        self._until: datetime | None = None
        self._token = uuid.uuid4().hex[:12]

    @property
    def token(self) -> str:
        return self._token

    def acquire(self, services: Mapping[str, Sequence[str]], *, break_lock: bool = False) -> None:
        """Lock `services` (cluster name or ARN -> service names), or raise RefusedError.

        Nothing is left behind when it raises: what was written is removed.
        """
        wanted = {c.rsplit("/", 1)[-1]: list(dict.fromkeys(s)) for c, s in services.items() if s}
        if not wanted:
            return
        now = datetime.now(UTC)
        found = self._reader.existing_clusters(sorted(wanted), tags=True)
        missing = [c for c in sorted(wanted) if c not in found]
        if missing:
            raise OperationError(f"cluster {', '.join(missing)} does not exist")
        plans: list[_Cluster] = []
        for name in sorted(wanted):
            cluster = found[name]
            tags = {t["key"]: t["value"] for t in cluster.get("tags") or []}
            room = TAG_LIMIT - len([k for k in tags if not k.startswith("aws:")])
            per_service = [f"{PREFIX}{s}"[:128] for s in wanted[name]]
            keys = per_service if len(per_service) <= room - SPARE_TAGS else [ALL]
            broken = []
            for key, value in tags.items():
                current = self._foreign(key, value, now)
                if current is None or not _conflicts(key, keys):
                    continue
                if not break_lock:
                    raise RefusedError(
                        f"{_what(keys[0] if key == ALL else key, name)} is locked by another "
                        f"apply: {current.holder}, until {current.until:%Y-%m-%d %H:%M:%S} UTC"
                        + (
                            f" (it holds every service of cluster {name})"
                            if key == ALL and keys != [ALL]
                            else ""
                        ),
                        hint="wait for it to finish; if that apply is gone, wait for the expiry "
                        "or pass --break-lock",
                    )
                if key not in keys:
                    broken.append(key)
            plans.append(_Cluster(name, str(cluster["clusterArn"]), keys, broken))

        self._until = now + timedelta(seconds=self._ttl)
        mine = LockValue(_holder(), self._until, self._token).encode()
        started = time.monotonic()

        def write(plan: _Cluster) -> None:
            try:
                self._writer.tag(plan.arn, dict.fromkeys(plan.keys, mine))
            except OperationError as exc:
                raise OperationError(
                    f"cannot lock services of cluster {plan.name}: {exc.message}",
                    hint="a cluster carries at most 50 tags; remove some, or run apply "
                    "for fewer services at a time",
                ) from None
            self._held[plan.arn] = list(plan.keys)
            if plan.broken:
                self._writer.untag(plan.arn, plan.broken)

        by_arn = {p.arn: p for p in plans}
        try:
            _each(lambda arn: write(by_arn[arn]), list(by_arn))
            round_trip = time.monotonic() - started
            settle = self._settle
            if settle is None:
                settle = max(MIN_SETTLE_SECONDS, SETTLE_ROUND_TRIPS * round_trip)
            time.sleep(settle)
            now = datetime.now(UTC)
            for plan, tags in zip(plans, _each(self._reader.tags, list(by_arn)), strict=True):
                self._check(plan, tags, now)
        except BaseException:
            self.release()
            raise

    def _foreign(self, key: str, value: str, now: datetime) -> LockValue | None:
        """The live lock of another apply a tag holds, if it holds one."""
        if not key.startswith(PREFIX):
            return None
        current = LockValue.decode(value)
        if current is None or current.token == self._token or current.until <= now:
            return None
        if _holder_is_gone(current.holder):
            return None  # a process of this machine that died (SIGKILL, OOM)
        return current

    def _check(self, plan: _Cluster, tags: Mapping[str, str], now: datetime) -> None:
        """After the settle: every key ours, and no other apply on these services."""
        for key in plan.keys:
            found = LockValue.decode(tags.get(key, ""))
            if found is None or found.token != self._token:
                self._held[plan.arn] = [k for k in self._held[plan.arn] if k != key]
                raise RefusedError(
                    f"{_what(key, plan.name)} is locked by another apply that started at the "
                    f"same moment: {found.holder if found else 'unknown'}",
                    hint="run again once it has finished",
                )
        for key, value in tags.items():
            current = self._foreign(key, value, now)
            if current is not None and _conflicts(key, plan.keys):
                raise RefusedError(
                    f"{_what(key if key != ALL else plan.keys[0], plan.name)} is locked by "
                    f"another apply that started at the same moment: {current.holder}",
                    hint="run again once it has finished",
                )

    def release(self) -> None:
        """Remove this apply's tags (best effort: a lock left behind lapses at its expiry)."""
        held, self._held = {arn: keys for arn, keys in self._held.items() if keys}, {}
        if not held:
            return
        # Ours for sure until close to the expiry; past that, another apply may have it.
        sure = self._until is not None and datetime.now(UTC) < self._until - RELEASE_MARGIN

        def free(arn: str) -> None:
            keys = held[arn]
            with contextlib.suppress(EcsDeployError):  # never hide the real error for it
                if not sure:
                    tags = self._reader.tags(arn)
                    keys = [
                        k
                        for k in keys
                        if (LockValue.decode(tags.get(k, "")) or _NONE).token == self._token
                    ]
                if keys:
                    self._writer.untag(arn, keys)

        _each(free, list(held))


_NONE = LockValue("", datetime.min.replace(tzinfo=UTC), "")
