"""apply's lock, against the sandbox: races, the whole-cluster tag, takeovers, ECS's tag limit."""

from __future__ import annotations

import os
import socket
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecsdeploy.adapters.aws import AwsClients, AwsSettings
from ecsdeploy.adapters.ecs import EcsReader, EcsWriter
from ecsdeploy.errors import OperationError, RefusedError
from ecsdeploy.execute.lock import ALL, PREFIX, LockValue, ServiceLocks
from tests.apps import App, lock_tags

CLUSTER = "quickstart"
MANY = [f"svc-{i:02d}" for i in range(45)]  # more than a cluster's free tags allow


def _locks(sandbox: Any, **kwargs: Any) -> ServiceLocks:
    clients = AwsClients(AwsSettings(region="us-east-1", endpoint_url=sandbox.endpoint_url))
    return ServiceLocks(EcsReader(clients), EcsWriter(clients), ttl_seconds=900, **kwargs)


def _cluster_arn(sandbox: Any) -> str:
    found = sandbox.client("ecs").describe_clusters(clusters=[CLUSTER])["clusters"]
    return str(found[0]["clusterArn"])


def _tag(sandbox: Any, tags: dict[str, str]) -> None:
    sandbox.client("ecs").tag_resource(
        resourceArn=_cluster_arn(sandbox), tags=[{"key": k, "value": v} for k, v in tags.items()]
    )


def _foreign(pid: int, *, minutes: int = 30) -> str:
    until = datetime.now(UTC) + timedelta(minutes=minutes)
    return LockValue(f"ci@{socket.gethostname()} pid {pid}", until, "someoneelse").encode()


def _race(sandbox: Any, first: list[str], second: list[str]) -> list[object]:
    """Two applies taking their locks at the same moment: what each got (None or the error)."""
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


def test_of_two_applies_racing_for_a_service_one_wins(app: App, sandbox: Any) -> None:
    for _ in range(5):
        outcome = _race(sandbox, ["web"], ["web"])
        assert sorted(o == "held" for o in outcome) == [False, True], outcome
        refused = next(o for o in outcome if isinstance(o, RefusedError))
        assert "service web is locked by another apply" in refused.message
        assert lock_tags(sandbox.endpoint_url, CLUSTER) == {}


def test_a_service_and_the_whole_cluster_never_both_win(app: App, sandbox: Any) -> None:
    for _ in range(5):
        outcome = _race(sandbox, ["web"], [*MANY, "web"])
        assert [o for o in outcome if o == "held"] != ["held", "held"], outcome
        assert lock_tags(sandbox.endpoint_url, CLUSTER) == {}


def test_applies_on_different_services_both_go_on(app: App, sandbox: Any) -> None:
    assert _race(sandbox, ["web"], ["worker"]) == ["held", "held"]


def test_the_lock_is_a_tag_per_service_and_is_removed(app: App, sandbox: Any) -> None:
    locks = _locks(sandbox)
    locks.acquire({CLUSTER: ["web", "worker"]})
    held = lock_tags(sandbox.endpoint_url, CLUSTER)
    assert sorted(held) == [f"{PREFIX}web", f"{PREFIX}worker"]
    value = LockValue.decode(held[f"{PREFIX}web"])
    assert value is not None and value.token == locks.token
    assert f"pid {os.getpid()}" in value.holder
    locks.release()
    assert lock_tags(sandbox.endpoint_url, CLUSTER) == {}


def test_many_services_take_one_tag_for_the_whole_cluster(app: App, sandbox: Any) -> None:
    locks = _locks(sandbox)
    locks.acquire({CLUSTER: MANY})
    assert list(lock_tags(sandbox.endpoint_url, CLUSTER)) == [ALL]
    # Any service of the cluster is then refused to another apply, with the holder named.
    with pytest.raises(RefusedError) as refused:
        _locks(sandbox).acquire({CLUSTER: ["web"]})
    assert refused.value.message.startswith("service web is locked by another apply: ")
    assert f"pid {os.getpid()}" in refused.value.message
    assert f"(it holds every service of cluster {CLUSTER})" in refused.value.message
    locks.release()
    assert lock_tags(sandbox.endpoint_url, CLUSTER) == {}


def test_a_cluster_with_little_room_is_locked_whole(app: App, sandbox: Any) -> None:
    _tag(sandbox, {f"team-{i}": "x" for i in range(39)})  # 11 free: 2 would leave 9
    locks = _locks(sandbox)
    locks.acquire({CLUSTER: ["web", "worker"]})
    assert list(lock_tags(sandbox.endpoint_url, CLUSTER)) == [ALL]
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
    _tag(sandbox, {ALL: _foreign(os.getpid())})
    with pytest.raises(RefusedError) as refused:
        _locks(sandbox).acquire({CLUSTER: ["web"]})
    assert "service web is locked by another apply: ci@" in refused.value.message
    assert "--break-lock" in str(refused.value.hint)


def test_break_lock_removes_the_lock_in_the_way(app: App, sandbox: Any) -> None:
    _tag(sandbox, {ALL: _foreign(os.getpid()), f"{PREFIX}web": _foreign(os.getpid())})
    locks = _locks(sandbox)
    locks.acquire({CLUSTER: ["web"]}, break_lock=True)
    held = lock_tags(sandbox.endpoint_url, CLUSTER)
    assert list(held) == [f"{PREFIX}web"]
    locks.release()
    assert lock_tags(sandbox.endpoint_url, CLUSTER) == {}


def test_expired_and_dead_holders_do_not_block(app: App, sandbox: Any) -> None:
    dead = 2**22 + 12345  # above pid_max's default: no such process
    _tag(sandbox, {f"{PREFIX}web": _foreign(os.getpid(), minutes=-1), ALL: _foreign(dead)})
    locks = _locks(sandbox)
    locks.acquire({CLUSTER: ["web"]})
    locks.release()


def test_release_leaves_a_lock_taken_over_after_the_expiry(app: App, sandbox: Any) -> None:
    locks = _locks(sandbox)
    locks.acquire({CLUSTER: ["web"]})
    locks._until = datetime.now(UTC)  # as if this apply outlived its lock
    taken = _foreign(os.getpid())
    _tag(sandbox, {f"{PREFIX}web": taken})
    locks.release()
    assert lock_tags(sandbox.endpoint_url, CLUSTER) == {f"{PREFIX}web": taken}


def test_a_missing_cluster_is_an_error(app: App, sandbox: Any) -> None:
    with pytest.raises(OperationError) as failed:
        _locks(sandbox).acquire({"nowhere": ["web"]})
    assert failed.value.message == "cluster nowhere does not exist"
