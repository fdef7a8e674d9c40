"""One apply per service at a time: locks kept as tags on the services' ECS cluster.

Tags are the only shared state AWS gives us without new infrastructure or new
permissions. Each apply writes tags of its own, `ecsdeploy:lock:<service>:<id>`,
whose value names the holder, when it started and when the lock lapses (so a
lock left by a killed process lapses on its own, or at once when its holder was
a process of this machine that is gone).

Taking the locks is one write (TagResource), a short wait, and one read
(ListTagsForResource): an apply goes on only if it then sees no other apply's
live lock on its services. Of two applies, each writes before it reads; so the
one that reads last sees the other's tag, and at most one goes on, provided a
read sees the writes made before it; ECS's APIs are eventually consistent, and
the wait (a round trip, at least 0.1 s) is there for that lag: two applies
could both go on only if a read missed a write older than the wait. (Both may see
each other when they start within a round trip: then both step back and try
again after random pauses, so one of them goes on.) No key is written by two
applies, so nothing is overwritten and release needs no read. Held locks are
renewed every 2 minutes and lapse 10 minutes after the last renewal.

A cluster has room for 50 tags: an apply of more than `MAX_SERVICE_TAGS`
services of a cluster locks all its services with one tag,
`ecsdeploy:lock:@all:<id>` (`@` is in no service name).

`apply` takes its locks while it observes the live state (like Terraform, which
locks before it refreshes), so they cost it no time.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from ecsdeploy.adapters.aws import error_code
from ecsdeploy.adapters.ecs import EcsAdapter, EcsReader, EcsWriter
from ecsdeploy.errors import EcsDeployError, OperationError, RefusedError
from ecsdeploy.threads import each

PREFIX = "ecsdeploy:lock:"
ALL = "@all"  # in place of a service name: every service of the cluster
MAX_SERVICE_TAGS = 10  # more services than this in one cluster: one tag for all
KEY_LIMIT = 128  # ECS tag keys
# ECS's APIs are eventually consistent: a read may miss a write of a moment ago.
# The wait between writing and reading back covers that lag.
SETTLE_ROUND_TRIPS = 1
MIN_SETTLE_SECONDS = 0.1
# A lock lapses this long after its holder last renewed it (a killed apply's, say).
LOCK_TTL_SECONDS = 600.0
RENEW_SECONDS = 120.0
# A lock this young may belong to an apply that started with ours: try again.
RACE_WINDOW = timedelta(seconds=5)
ATTEMPTS = 3
RETRY_PAUSE = (0.1, 0.6)  # seconds, at random, times the attempt

T = TypeVar("T")
_TIME = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class LockValue:
    holder: str
    since: datetime
    until: datetime

    def encode(self) -> str:
        return f"{self.holder} since {self.since:{_TIME}} until {self.until:{_TIME}}"

    @staticmethod
    def decode(text: str) -> LockValue | None:
        try:
            rest, until_text = text.rsplit(" until ", 1)
            holder, since_text = rest.rsplit(" since ", 1)
            since = datetime.strptime(since_text, _TIME).replace(tzinfo=UTC)
            until = datetime.strptime(until_text, _TIME).replace(tzinfo=UTC)
        except ValueError:
            return None
        return LockValue(holder, since, until)


def lock_key(service: str, token: str) -> str:
    """The tag of one apply's lock on one service (or on `ALL`)."""
    room = KEY_LIMIT - len(PREFIX) - len(token) - 1
    return f"{PREFIX}{service[:room]}:{token}"


def parse_key(key: str) -> tuple[str, str] | None:
    """`ecsdeploy:lock:web:1a2b` -> ("web", "1a2b"); None for other tags."""
    if not key.startswith(PREFIX):
        return None
    service, sep, token = key[len(PREFIX) :].rpartition(":")
    return (service, token) if sep and service and token else None


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


def _each(fn: Callable[[str], T], arns: Sequence[str]) -> list[T]:
    """fn over clusters, at once when there are several."""
    return each(fn, arns, workers=8)


@dataclass(frozen=True)
class _Other:
    """Another apply's lock seen on a cluster."""

    key: str
    service: str
    value: LockValue


class _Conflict(Exception):
    def __init__(self, cluster: str, wanted: Sequence[str], other: _Other) -> None:
        self.cluster = cluster
        self.wanted = wanted
        self.other = other

    def refusal(self) -> RefusedError:
        value = self.other.value
        whole = self.other.service == ALL
        service = self.wanted[0] if whole else self.other.service
        held = f" (it holds every service of cluster {self.cluster})" if whole else ""
        return RefusedError(
            f"service {service} is locked by another apply: {value.holder}, since "
            f"{value.since:%Y-%m-%d %H:%M:%S} UTC, until {value.until:%Y-%m-%d %H:%M:%S} UTC"
            f"{held}",
            hint="wait for it to finish; if that apply is gone, wait for the expiry "
            "or pass --break-lock",
        )


class ServiceLocks:
    """Locks for the services of one apply; release() frees what it took.

    While held they are renewed (`keep_alive`), so a lock lapses `ttl_seconds`
    after its holder stops, however long the apply runs.
    """

    def __init__(
        self,
        reader: EcsReader,
        writer: EcsWriter,
        *,
        ttl_seconds: float = LOCK_TTL_SECONDS,
        settle_seconds: float | None = None,
        clusters: EcsAdapter | None = None,
    ) -> None:
        """`clusters` looks the clusters up (apply passes the one its observation uses)."""
        self._reader = reader
        self._clusters = clusters or reader
        self._writer = writer
        self._ttl = ttl_seconds
        self._settle = settle_seconds
        # Guards _held, and makes renew, narrow and release take turns.
        self._lock = threading.RLock()
        self._held: dict[str, set[str]] = {}  # cluster ARN -> our tag keys there
        self._names: dict[str, str] = {}  # cluster ARN -> its name, for messages
        self._since = datetime.now(UTC)
        self._token = uuid.uuid4().hex[:12]
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def token(self) -> str:
        return self._token

    def _value(self) -> str:
        now = datetime.now(UTC)
        return LockValue(_holder(), self._since, now + timedelta(seconds=self._ttl)).encode()

    def acquire(self, services: Mapping[str, Sequence[str]], *, break_lock: bool = False) -> None:
        """Lock `services` (cluster name or ARN -> service names), or raise RefusedError.

        Nothing is left behind when it raises: what was written is removed.
        """
        wanted = {c: list(dict.fromkeys(s)) for c, s in sorted(services.items()) if s}
        if not wanted:
            return
        try:
            by_arn: dict[str, list[str]] = {}
            for cluster, arn in self._cluster_arns(list(wanted)).items():
                self._names[arn] = _name(cluster)
                by_arn.setdefault(arn, [])
                by_arn[arn] += [n for n in wanted[cluster] if n not in by_arn[arn]]
            for attempt in range(ATTEMPTS):
                try:
                    self._attempt(by_arn, break_lock=break_lock)
                    return
                except _Conflict as conflict:
                    self.release()
                    young = datetime.now(UTC) - conflict.other.value.since < RACE_WINDOW
                    if not young or attempt == ATTEMPTS - 1:
                        raise conflict.refusal() from None
                # Both may have stepped back: after a random pause one of them goes first.
                time.sleep(random.uniform(*RETRY_PAUSE) * (attempt + 1))  # noqa: S311 (not a secret)
        except BaseException:
            self.release()
            raise

    def _attempt(self, wanted: Mapping[str, list[str]], *, break_lock: bool) -> None:
        self._since = datetime.now(UTC)
        value = self._value()
        scopes = {arn: _scope(names) for arn, names in wanted.items()}
        keys = {arn: [lock_key(s, self._token) for s in scope] for arn, scope in scopes.items()}

        def write(arn: str) -> None:
            with self._lock:
                self._held.setdefault(arn, set()).update(keys[arn])
            self._tag(arn, dict.fromkeys(keys[arn], value))

        started = time.monotonic()
        _each(write, list(wanted))
        settle = self._settle
        if settle is None:
            settle = max(MIN_SETTLE_SECONDS, SETTLE_ROUND_TRIPS * (time.monotonic() - started))
        time.sleep(settle)
        seen = dict(zip(wanted, _each(self._reader.tags, list(wanted)), strict=True))
        now = datetime.now(UTC)
        for arn, names in wanted.items():
            others, stale = self._others(seen[arn], now)
            mine = set(scopes[arn])
            in_the_way = [o for o in others if o.service == ALL or ALL in mine or o.service in mine]
            with contextlib.suppress(EcsDeployError):
                if stale or (break_lock and in_the_way):
                    self._writer.untag(
                        arn, stale + ([o.key for o in in_the_way] if break_lock else [])
                    )
            if in_the_way and not break_lock:
                raise _Conflict(self._names[arn], names, in_the_way[0])

    def _tag(self, arn: str, tags: dict[str, str]) -> None:
        """TagResource; a cluster out of room is first cleared of lapsed locks."""
        for attempt in (1, 2):
            try:
                self._writer.tag(arn, tags)
                return
            except OperationError as exc:
                if error_code(exc) != "InvalidParameterException":
                    raise
                stale = self._others(self._reader.tags(arn), datetime.now(UTC))[1]
                if attempt == 1 and stale:
                    self._writer.untag(arn, stale)
                    continue
                full = "tag" in exc.message.lower()
                raise OperationError(
                    f"cannot lock services of cluster {self._names.get(arn, _name(arn))}: "
                    f"{exc.message}",
                    hint="a cluster carries at most 50 tags; remove some of its own"
                    if full
                    else None,
                ) from None

    def _cluster_arns(self, clusters: list[str]) -> dict[str, str]:
        arns = {c: c for c in clusters if c.startswith("arn:")}
        names = [c for c in clusters if c not in arns]
        if names:
            found = self._clusters.existing_clusters(names)
            missing = [c for c in names if c not in found]
            if missing:
                raise OperationError(f"cluster {', '.join(missing)} does not exist")
            arns.update({c: str(found[c]["clusterArn"]) for c in names})
        return arns

    def _others(self, tags: Mapping[str, str], now: datetime) -> tuple[list[_Other], list[str]]:
        """Other applies' live locks, and the lapsed ones (to remove)."""
        others: list[_Other] = []
        stale: list[str] = []
        for key, text in sorted(tags.items()):
            parsed = parse_key(key)
            if parsed is None or parsed[1] == self._token:
                continue
            value = LockValue.decode(text)
            if value is None or value.until <= now or _holder_is_gone(value.holder):
                stale.append(key)  # lapsed, unreadable, or its process died (SIGKILL, OOM)
                continue
            others.append(_Other(key, parsed[0], value))
        return others, stale

    def narrow(self, services: Mapping[str, Sequence[str]]) -> None:
        """Keep only the locks of `services` (cluster name -> service names): once the
        plan shows what changes, other applies may deploy the rest. Best effort.

        New keys are written before old ones are removed, so the changing services
        are covered all along.
        """
        with self._lock:
            for arn, cluster in self._names.items():
                held = self._held.get(arn, set())
                if not held:
                    continue
                scope = _scope(services[cluster]) if services.get(cluster) else []
                keep = {lock_key(s, self._token) for s in scope}
                with contextlib.suppress(EcsDeployError):
                    if keep - held:
                        self._writer.tag(arn, dict.fromkeys(keep - held, self._value()))
                        held |= keep
                    if held - keep:
                        self._writer.untag(arn, sorted(held - keep))
                        held &= keep

    def renew(self) -> None:
        """Push the expiry of every lock held `ttl_seconds` ahead (best effort)."""
        with self._lock:
            value = self._value()
            for arn, keys in self._held.items():
                if keys:
                    with contextlib.suppress(EcsDeployError):
                        self._writer.tag(arn, dict.fromkeys(sorted(keys), value))

    def keep_alive(self, every: float = RENEW_SECONDS) -> None:
        """Renew the locks every `every` seconds until release()."""
        if self._renewer is not None:
            return

        def loop() -> None:
            while not self._stop.wait(every):
                self.renew()

        self._renewer = threading.Thread(target=loop, name="lock-renewal", daemon=True)
        self._renewer.start()

    def release(self) -> None:
        """Remove this apply's tags (best effort: a lock left behind lapses at its expiry)."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=30)  # a renewal under way writes nothing after this
            self._renewer = None
        self._stop = threading.Event()
        with self._lock:
            held, self._held = self._held, {}

        def free(arn: str) -> None:
            with contextlib.suppress(EcsDeployError):  # never hide the real error for it
                self._writer.untag(arn, sorted(held[arn]))

        _each(free, [arn for arn, keys in held.items() if keys])


def _scope(services: Sequence[str]) -> list[str]:
    """What one apply locks in a cluster: its services, or `ALL` past `MAX_SERVICE_TAGS`."""
    return list(services) if len(services) <= MAX_SERVICE_TAGS else [ALL]


def _name(cluster: str) -> str:
    return cluster.rsplit("/", 1)[-1]
