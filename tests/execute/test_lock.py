"""apply's lock, against the sandbox: races, the whole-cluster tag, takeovers, ECS's tag limit."""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecsdeploy.adapters.aws import AwsClients, AwsSettings
from ecsdeploy.adapters.ecs import EcsReader, EcsWriter
from ecsdeploy.errors import OperationError, RefusedError
from ecsdeploy.execute.lock import (
    ALL,
    ATTEMPTS,
    MAX_SERVICE_TAGS,
    PREFIX,
    LockValue,
    ServiceLocks,
    lock_key,
    parse_key,
)
from tests.apps import App, lock_tags

CLUSTER = "quickstart"
MANY = [f"svc-{i:02d}" for i in range(MAX_SERVICE_TAGS + 1)]  # one tag for all of them


def _locks(sandbox: Any, ttl_seconds: float = 900, **kwargs: Any) -> ServiceLocks:
    clients = AwsClients(AwsSettings(region="us-east-1", endpoint_url=sandbox.endpoint_url))
    return ServiceLocks(EcsReader(clients), EcsWriter(clients), ttl_seconds=ttl_seconds, **kwargs)


def _cluster_arn(sandbox: Any) -> str:
    found = sandbox.client("ecs").describe_clusters(clusters=[CLUSTER])["clusters"]
    return str(found[0]["clusterArn"])


def _tag(sandbox: Any, tags: dict[str, str]) -> None:
    sandbox.client("ecs").tag_resource(
        resourceArn=_cluster_arn(sandbox), tags=[{"key": k, "value": v} for k, v in tags.items()]
    )


def _other(pid: int, *, started: int = -60, lapses: int = 30) -> str:
    """Another apply's lock value: started and lapsing `started`/`lapses` minutes from now."""
    now = datetime.now(UTC)
    return LockValue(
        f"ci@{socket.gethostname()} pid {pid}",
        now + timedelta(minutes=started),
        now + timedelta(minutes=lapses),
    ).encode()


def _services(held: dict[str, str]) -> list[str]:
    return sorted(p[0] for p in map(parse_key, held) if p is not None)


def _race(sandbox: Any, first: list[str], second: list[str]) -> list[object]:
    """Two applies taking their locks at the same moment: what each got ("held" or the error)."""
    locks = [_locks(sandbox), _locks(sandbox)]
    barrier = threading.Barrier(2)
    outcome: list[object] = [None, None]

    def take(i: int, services: list[str]) -> None:
        barrier.wait()
        try:
            locks[i].acquire({CLUSTER: services})
        except RefusedError as exc:
            outcome[i] = exc
            return
        outcome[i] = "held"

    threads = [threading.Thread(target=take, args=(i, s)) for i, s in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for lock in locks:
        lock.release()
    return outcome


@pytest.mark.parametrize(
    "second", [["web"], [*MANY, "web"]], ids=["same service", "the whole cluster"]
)
def test_of_two_applies_racing_one_goes_on(app: App, sandbox: Any, second: list[str]) -> None:
    winners = 0
    for _ in range(5):
        outcome = _race(sandbox, ["web"], second)
        held = outcome.count("held")
        assert held <= 1, outcome  # never both
        winners += held
        for refused in outcome:
            if isinstance(refused, RefusedError):
                assert "locked by another apply: " in refused.message
        assert lock_tags(sandbox.endpoint_url, CLUSTER) == {}
    assert winners >= 3  # stepping back and trying again lets one of them go on


def test_applies_on_different_services_both_go_on(app: App, sandbox: Any) -> None:
    assert _race(sandbox, ["web"], ["worker"]) == ["held", "held"]


def test_the_lock_is_a_tag_per_service_and_is_removed(app: App, sandbox: Any) -> None:
    locks = _locks(sandbox)
    locks.acquire({CLUSTER: ["web", "worker"]})
    held = lock_tags(sandbox.endpoint_url, CLUSTER)
    assert sorted(held) == [f"{PREFIX}web:{locks.token}", f"{PREFIX}worker:{locks.token}"]
    value = LockValue.decode(held[f"{PREFIX}web:{locks.token}"])
    assert value is not None and f"pid {os.getpid()}" in value.holder
    assert timedelta(seconds=899) <= value.until - value.since <= timedelta(seconds=901)
    locks.release()
    assert lock_tags(sandbox.endpoint_url, CLUSTER) == {}


def test_many_services_take_one_tag_for_the_whole_cluster(app: App, sandbox: Any) -> None:
    locks = _locks(sandbox)
    locks.acquire({CLUSTER: MANY})
    assert _services(lock_tags(sandbox.endpoint_url, CLUSTER)) == [ALL]
    # Any service of the cluster is then refused to another apply, with the holder named.
    with pytest.raises(RefusedError) as refused:
        _locks(sandbox).acquire({CLUSTER: ["web"]})
    assert refused.value.message.startswith("service web is locked by another apply: ")
    assert f"pid {os.getpid()}" in refused.value.message
    assert f"(it holds every service of cluster {CLUSTER})" in refused.value.message
    locks.release()
    assert lock_tags(sandbox.endpoint_url, CLUSTER) == {}
    locks.acquire({CLUSTER: MANY[:MAX_SERVICE_TAGS]})
    assert _services(lock_tags(sandbox.endpoint_url, CLUSTER)) == MANY[:MAX_SERVICE_TAGS]
    locks.release()


def test_a_cluster_with_no_room_is_an_error_that_says_so(app: App, sandbox: Any) -> None:
    _tag(sandbox, {f"team-{i}": "x" for i in range(50)})
    with pytest.raises(OperationError) as failed:
        _locks(sandbox).acquire({CLUSTER: ["web"]})
    assert failed.value.message.startswith(f"cannot lock services of cluster {CLUSTER}: ")
    assert "more than 50 tags" in failed.value.message
    assert "at most 50 tags" in str(failed.value.hint)
    assert lock_tags(sandbox.endpoint_url, CLUSTER) == {}


def test_a_whole_cluster_lock_refuses_an_apply_of_one_service(app: App, sandbox: Any) -> None:
    _tag(sandbox, {f"{PREFIX}{ALL}:other": _other(os.getpid())})
    with pytest.raises(RefusedError) as refused:
        _locks(sandbox).acquire({CLUSTER: ["web"]})
    assert "service web is locked by another apply: ci@" in refused.value.message
    assert "--break-lock" in str(refused.value.hint)
    assert list(lock_tags(sandbox.endpoint_url, CLUSTER)) == [f"{PREFIX}{ALL}:other"]


def test_a_young_lock_is_waited_for_a_moment(app: App, sandbox: Any) -> None:
    # Just taken by an apply that started with ours: stepped back from, then refused.
    _tag(sandbox, {f"{PREFIX}web:other": _other(os.getpid(), started=0)})
    sandbox.control.reset_calls()
    with pytest.raises(RefusedError):
        _locks(sandbox).acquire({CLUSTER: ["web"]})
    assert sandbox.control.calls()["ecs:TagResource"] == ATTEMPTS


def test_break_lock_removes_the_lock_in_the_way(app: App, sandbox: Any) -> None:
    _tag(sandbox, {f"{PREFIX}{ALL}:other": _other(os.getpid()), f"{PREFIX}web:x": _other(1)})
    locks = _locks(sandbox)
    locks.acquire({CLUSTER: ["web"]}, break_lock=True)
    assert list(lock_tags(sandbox.endpoint_url, CLUSTER)) == [f"{PREFIX}web:{locks.token}"]
    locks.release()
    assert lock_tags(sandbox.endpoint_url, CLUSTER) == {}


def test_lapsed_and_dead_holders_do_not_block_and_are_cleared(app: App, sandbox: Any) -> None:
    dead = 2**22 + 12345  # above pid_max's default: no such process
    _tag(
        sandbox,
        {
            f"{PREFIX}web:lapsed": _other(os.getpid(), lapses=-1),
            f"{PREFIX}{ALL}:dead": _other(dead),
            f"{PREFIX}web:garbled": "not a lock",
            f"{PREFIX}worker:alive": _other(os.getpid()),
        },
    )
    locks = _locks(sandbox)
    locks.acquire({CLUSTER: ["web"]})
    locks.release()
    assert list(lock_tags(sandbox.endpoint_url, CLUSTER)) == [f"{PREFIX}worker:alive"]


def test_a_missing_cluster_is_an_error(app: App, sandbox: Any) -> None:
    with pytest.raises(OperationError) as failed:
        _locks(sandbox).acquire({"nowhere": ["web"]})
    assert failed.value.message == "cluster nowhere does not exist"


def test_keys_fit_ecs_and_parse_back() -> None:
    long = "s" * 255
    key = lock_key(long, "0123456789ab")
    assert len(key) == 128
    assert parse_key(key) == ("s" * (128 - len(PREFIX) - 13), "0123456789ab")
    assert parse_key("team") is None
    assert parse_key(f"{PREFIX}web") is None


def test_held_locks_are_renewed_until_released(app: App, sandbox: Any) -> None:
    locks = _locks(sandbox, ttl_seconds=2)
    locks.acquire({CLUSTER: ["web"]})
    locks.keep_alive(every=0.2)
    time.sleep(2.5)  # past the first expiry: only renewal keeps the lock alive
    (value,) = lock_tags(sandbox.endpoint_url, CLUSTER).values()
    decoded = LockValue.decode(value)
    assert decoded is not None and decoded.until > datetime.now(UTC)
    with pytest.raises(RefusedError):
        _locks(sandbox).acquire({CLUSTER: ["web"]})
    locks.release()
    assert lock_tags(sandbox.endpoint_url, CLUSTER) == {}


def test_a_full_cluster_is_cleared_of_lapsed_locks_first(app: App, sandbox: Any) -> None:
    _tag(sandbox, {f"team-{i}": "x" for i in range(45)})
    _tag(sandbox, {f"{PREFIX}svc{i}:gone": _other(os.getpid(), lapses=-1) for i in range(5)})
    locks = _locks(sandbox)
    locks.acquire({CLUSTER: ["web"]})
    assert list(lock_tags(sandbox.endpoint_url, CLUSTER)) == [f"{PREFIX}web:{locks.token}"]
    locks.release()


def test_narrowing_to_the_changed_services_frees_the_rest(app: App, sandbox: Any) -> None:
    locks = _locks(sandbox)
    locks.acquire({CLUSTER: [*MANY, "web", "worker"]})
    assert _services(lock_tags(sandbox.endpoint_url, CLUSTER)) == [ALL]
    locks.narrow({CLUSTER: ["web"]})
    assert _services(lock_tags(sandbox.endpoint_url, CLUSTER)) == ["web"]
    other = _locks(sandbox)
    other.acquire({CLUSTER: ["worker"]})  # another apply may deploy the rest
    with pytest.raises(RefusedError):
        _locks(sandbox).acquire({CLUSTER: ["web"]})
    locks.narrow({})
    assert _services(lock_tags(sandbox.endpoint_url, CLUSTER)) == ["worker"]
    other.release()
    locks.release()
    assert lock_tags(sandbox.endpoint_url, CLUSTER) == {}


def test_a_cluster_named_by_name_and_by_arn_is_one(app: App, sandbox: Any) -> None:
    locks = _locks(sandbox)
    locks.acquire({CLUSTER: ["web"], _cluster_arn(sandbox): ["worker"]})
    assert _services(lock_tags(sandbox.endpoint_url, CLUSTER)) == ["web", "worker"]
    locks.release()
    assert lock_tags(sandbox.endpoint_url, CLUSTER) == {}
