"""One apply per service at a time: a lock kept as a tag on the service's ECS cluster.

Tags are the only shared state AWS gives us without new infrastructure. The tag
(`ecsdeploy:lock:<service>`) names the holder and an expiry, so a lock left by
a killed process lapses on its own. Writing a tag is not atomic, so after
writing, the holder waits a moment and reads it back: of two applies racing, the
one whose write landed last keeps the lock and the other refuses.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ecsdeploy.adapters.ecs import EcsReader, EcsWriter
from ecsdeploy.errors import EcsDeployError, RefusedError

PREFIX = "ecsdeploy:lock:"
# Two applies race only if one reads the tags between the other's read and write;
# waiting a few round trips after writing outlasts that window.
SETTLE_ROUND_TRIPS = 4
MIN_SETTLE_SECONDS = 0.05


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
        self._held: list[tuple[str, str]] = []  # (cluster ARN, tag key)
        self._token = uuid.uuid4().hex[:12]

    def acquire(self, cluster_arn: str, services: list[str], *, break_lock: bool = False) -> None:
        keys = {f"{PREFIX}{s}"[:128]: s for s in services}
        now = datetime.now(UTC)
        tags = self._reader.tags(cluster_arn)
        for key, service in keys.items():
            current = LockValue.decode(tags.get(key, ""))
            if current and _holder_is_gone(current.holder):
                current = None  # a process of this machine that died (SIGKILL, OOM)
            if current and current.until > now and current.token != self._token and not break_lock:
                raise RefusedError(
                    f"service {service} is locked by another apply: {current.holder}, "
                    f"until {current.until:%Y-%m-%d %H:%M:%S} UTC",
                    hint="wait for it to finish; if that apply is gone, wait for the expiry "
                    "or pass --break-lock",
                )
        mine = LockValue(_holder(), now + timedelta(seconds=self._ttl), self._token).encode()
        started = time.monotonic()
        self._writer.tag(cluster_arn, dict.fromkeys(keys, mine))
        round_trip = time.monotonic() - started
        self._held += [(cluster_arn, k) for k in keys]
        settle = self._settle
        if settle is None:
            settle = max(MIN_SETTLE_SECONDS, SETTLE_ROUND_TRIPS * round_trip)
        time.sleep(settle)
        tags = self._reader.tags(cluster_arn)
        for key, service in keys.items():
            found = LockValue.decode(tags.get(key, ""))
            if found is None or found.token != self._token:
                self._held = [h for h in self._held if h[1] != key]
                self.release()
                holder = found.holder if found else "unknown"
                raise RefusedError(
                    f"service {service} is locked by another apply that started at the same "
                    f"moment: {holder}",
                    hint="run again once it has finished",
                )

    def release(self) -> None:
        by_cluster: dict[str, list[str]] = {}
        for cluster_arn, key in self._held:
            by_cluster.setdefault(cluster_arn, []).append(key)
        for cluster_arn, keys in by_cluster.items():
            # A lock left behind lapses at its expiry; never hide the real error for it.
            with contextlib.suppress(EcsDeployError):
                tags = self._reader.tags(cluster_arn)
                ours = [
                    k
                    for k in keys
                    if (LockValue.decode(tags.get(k, "")) or _NONE).token == self._token
                ]
                if ours:
                    self._writer.untag(cluster_arn, ours)
        self._held = []


_NONE = LockValue("", datetime.min.replace(tzinfo=UTC), "")
