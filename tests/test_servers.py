"""Smoke tests of the real-server fixtures: the engine builds, the registry stores and refuses."""

from __future__ import annotations

import io
import secrets
import tarfile
from typing import Any

import pytest

from tests.fixtures.servers import (
    MANIFEST_MEDIA_TYPES,
    DockerEngine,
    ImageBuilder,
    Registry,
    split_reference,
)


def _push(engine: DockerEngine, reference: str, auth_config: dict[str, str] | None) -> list[Any]:
    repository, tag = split_reference(reference)
    return list(
        engine.client.images.push(
            repository, tag=tag, auth_config=auth_config, stream=True, decode=True
        )
    )


def _pushed_digest(events: list[Any]) -> str:
    errors = [e.get("error") or e.get("errorDetail") for e in events if "error" in e]
    assert not errors, f"push failed: {errors}"
    digests = [e["aux"]["Digest"] for e in events if "Digest" in e.get("aux", {})]
    assert len(digests) == 1, f"no single digest in the push output: {events}"
    digest: str = digests[0]
    return digest


def _files_in_image(engine: DockerEngine, image_id: str) -> dict[str, bytes]:
    """Every regular file of every layer of the image, from `docker save`."""
    saved = io.BytesIO(b"".join(engine.client.images.get(image_id).save(named=False)))
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=saved) as outer:
        for member in outer.getmembers():
            if not member.isfile():
                continue
            blob = outer.extractfile(member)
            assert blob is not None
            data = blob.read()
            if not tarfile.is_tarfile(io.BytesIO(data)):
                continue  # the manifest and config JSON
            with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                for entry in layer.getmembers():
                    extracted = layer.extractfile(entry) if entry.isfile() else None
                    if extracted is not None:
                        files[entry.name] = extracted.read()
    return files


def _repo() -> str:
    return f"ecsd-smoke/web-{secrets.token_hex(4)}"


@pytest.mark.docker
def test_engine_answers(docker_engine: DockerEngine) -> None:
    assert docker_engine.client.ping() is True
    version = docker_engine.client.version()
    assert tuple(int(p) for p in version["ApiVersion"].split(".")) >= (1, 41)
    assert docker_engine.host.startswith(("unix://", "tcp://", "ssh://", "npipe://"))


@pytest.mark.docker
def test_build_scratch_image_copies_the_file(
    docker_engine: DockerEngine, build_image: ImageBuilder
) -> None:
    content = f"hello {secrets.token_hex(4)}\n".encode()
    repository = _repo()
    tags = {f"{repository}:one", f"{repository}:two"}
    image_id = build_image(*sorted(tags), content=content)

    image = docker_engine.client.images.get(image_id)
    assert image.id == image_id
    assert image_id.startswith("sha256:")
    assert tags <= set(image.tags)
    assert _files_in_image(docker_engine, image_id).get("hello.txt") == content


@pytest.mark.docker
def test_each_build_is_a_different_image(build_image: ImageBuilder) -> None:
    repository = _repo()
    assert build_image(f"{repository}:a") != build_image(f"{repository}:b")


@pytest.mark.registry
def test_registry_refuses_wrong_and_missing_credentials(registry: Registry) -> None:
    assert registry.username and registry.password
    assert registry.request("/v2/", auth=(registry.username, registry.password)).status == 200

    wrong = registry.request("/v2/", auth=(registry.username, registry.password + "x"))
    assert wrong.status == 401
    missing = registry.request("/v2/", auth=False)
    assert missing.status == 401
    assert missing.headers.get("Www-Authenticate", "").startswith("Basic ")
    stranger = registry.request("/v2/_catalog", auth=("mallory", registry.password))
    assert stranger.status == 401


@pytest.mark.registry
def test_open_registry_needs_no_credentials(open_registry: Registry) -> None:
    assert open_registry.auth_config is None
    assert open_registry.request("/v2/", auth=False).status == 200


@pytest.mark.docker
@pytest.mark.registry
def test_push_lands_in_registry_with_the_reported_digest(
    docker_engine: DockerEngine, build_image: ImageBuilder, registry: Registry
) -> None:
    repository = _repo()
    reference = registry.reference(repository, "v1")
    build_image(reference)

    digest = _pushed_digest(_push(docker_engine, reference, registry.auth_config))

    listed = registry.request(f"/v2/{repository}/tags/list")
    assert listed.status == 200
    assert listed.json() == {"name": repository, "tags": ["v1"]}

    head = registry.request(
        f"/v2/{repository}/manifests/v1",
        "HEAD",
        headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES)},
    )
    assert head.status == 200
    assert head.headers["Docker-Content-Digest"] == digest
    assert head.headers["Content-Type"] in MANIFEST_MEDIA_TYPES
    assert registry.manifest_digest(repository, "v1") == digest
    assert registry.manifest_digest(repository, digest) == digest

    # The same listing without credentials is refused.
    assert registry.request(f"/v2/{repository}/tags/list", auth=False).status == 401


@pytest.mark.docker
@pytest.mark.registry
def test_push_with_wrong_password_is_refused(
    docker_engine: DockerEngine, build_image: ImageBuilder, registry: Registry
) -> None:
    assert registry.auth_config is not None
    repository = _repo()
    reference = registry.reference(repository, "v1")
    build_image(reference)

    wrong = {**registry.auth_config, "password": "not-" + registry.auth_config["password"]}
    events = _push(docker_engine, reference, wrong)

    errors = [str(e["error"]) for e in events if "error" in e]
    assert errors, f"push with a wrong password was not refused: {events}"
    assert any("unauthorized" in e or "authentication required" in e for e in errors), errors
    assert registry.tags(repository) == []
    assert registry.manifest_digest(repository, "v1") is None


@pytest.mark.docker
@pytest.mark.registry
def test_retag_by_push_keeps_the_digest(
    docker_engine: DockerEngine, build_image: ImageBuilder, open_registry: Registry
) -> None:
    repository = _repo()
    first = open_registry.reference(repository, "abc")
    second = open_registry.reference(repository, "latest")
    build_image(first, second)

    digest_first = _pushed_digest(_push(docker_engine, first, None))
    digest_second = _pushed_digest(_push(docker_engine, second, None))

    assert digest_first == digest_second
    assert open_registry.tags(repository) == ["abc", "latest"]
