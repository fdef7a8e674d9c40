"""Image stores: where a tag's digest is looked up and where a promote re-tags in place.

ECR through its API (BatchGetImage/PutImage keep the manifest bytes, so the digest
is kept); any other v2 registry through RegistryClient; local images through the
Docker engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from ecsdeploy.config.model import Registry
from ecsdeploy.errors import OperationError
from ecsdeploy.resolve import Resolver

from .aws import AwsClients, call, error_code
from .credentials import resolve
from .registry import MANIFEST_TYPES, Manifest, RegistryClient

_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


class ImageStore(Protocol):
    def digest(self, repository: str, tag: str) -> str | None: ...

    def retag(self, repository: str, source_tag: str, tag: str) -> str: ...

    def tags(self, repository: str, limit: int) -> list[str]:
        """Up to `limit` tags of the repository, newest first where the registry says."""
        ...


TAG_PAGES = 3  # pages of tags read to name a few (help in a message, not an inventory)


class EcrStore:
    def __init__(self, clients: AwsClients, registry: Registry) -> None:
        self._clients = clients
        # Images found, by (repository, tag): the plan's look-up of a promote source
        # serves the re-tag too, one round trip fewer. Absent tags are never cached.
        self._found: dict[tuple[str, str], dict[str, Any]] = {}
        found = _ECR_HOST.match(registry.url)
        # Non-standard hosts (a sandbox, a pull-through alias) use the caller's own registry.
        self._registry_id = found.group(1) if found else None

    def _kwargs(self, repository: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"repositoryName": repository}
        if self._registry_id:
            kwargs["registryId"] = self._registry_id
        return kwargs

    def _image(self, repository: str, tag: str) -> dict[str, Any] | None:
        cached = self._found.get((repository, tag))
        if cached is not None:
            return cached
        ecr = self._clients.client("ecr")
        try:
            resp = call(
                f"ecr:BatchGetImage {repository}:{tag}",
                ecr.batch_get_image,
                imageIds=[{"imageTag": tag}],
                acceptedMediaTypes=list(MANIFEST_TYPES),
                **self._kwargs(repository),
            )
        except OperationError as exc:
            if error_code(exc) == "RepositoryNotFoundException":
                raise OperationError(
                    f"ECR repository {repository} does not exist",
                    hint="create it (aws ecr create-repository) or fix `repository:`",
                ) from None
            raise
        images = resp.get("images") or []
        if not images:
            return None
        image: dict[str, Any] = images[0]
        self._found[(repository, tag)] = image
        return image

    def digest(self, repository: str, tag: str) -> str | None:
        image = self._image(repository, tag)
        if image is None:
            return None
        return str(image["imageId"]["imageDigest"])

    def tags(self, repository: str, limit: int) -> list[str]:
        """The newest tags (DescribeImages, by push time)."""
        ecr = self._clients.client("ecr")
        kwargs: dict[str, Any] = {"filter": {"tagStatus": "TAGGED"}, **self._kwargs(repository)}
        images: list[dict[str, Any]] = []
        for _ in range(TAG_PAGES):
            resp = call(f"ecr:DescribeImages {repository}", ecr.describe_images, **kwargs)
            images += resp.get("imageDetails") or []
            if not resp.get("nextToken"):
                break
            kwargs["nextToken"] = resp["nextToken"]
        images.sort(key=lambda i: str(i.get("imagePushedAt") or ""), reverse=True)
        found = [str(t) for i in images for t in i.get("imageTags") or []]
        return list(dict.fromkeys(found))[:limit]

    def retag(self, repository: str, source_tag: str, tag: str) -> str:
        image = self._image(repository, source_tag)
        if image is None:
            raise OperationError(f"{repository}:{source_tag} does not exist in ECR")
        kwargs: dict[str, Any] = {
            "imageManifest": image["imageManifest"],
            "imageTag": tag,
            **self._kwargs(repository),
        }
        if image.get("imageManifestMediaType"):
            kwargs["imageManifestMediaType"] = image["imageManifestMediaType"]
        try:
            call(
                f"ecr:PutImage {repository}:{tag}", self._clients.client("ecr").put_image, **kwargs
            )
        except OperationError as exc:
            # The same manifest under the same tag: a re-run after an interruption.
            if error_code(exc) != "ImageAlreadyExistsException":
                raise
        return str(image["imageId"]["imageDigest"])


class V2Store:
    def __init__(self, client: RegistryClient) -> None:
        self._client = client

    def digest(self, repository: str, tag: str) -> str | None:
        return self._client.digest(repository, tag)

    def retag(self, repository: str, source_tag: str, tag: str) -> str:
        manifest: Manifest = self._client.get_manifest(repository, source_tag)
        return self._client.put_manifest(repository, tag, manifest)

    def tags(self, repository: str, limit: int) -> list[str]:
        """The registry's tag list (in its order: the v2 API gives no push times)."""
        return self._client.tags(repository)[:limit]


def store_for(
    registry: Registry,
    clients: AwsClients,
    env: Mapping[str, str],
    resolver: Resolver | None = None,
) -> ImageStore:
    """ECR through its API; any other registry through its v2 API, at the address
    ECSDEPLOY_RESOLVE gives it when `resolver` maps its host."""
    if registry.type == "ecr":
        return EcrStore(clients, registry)
    return V2Store(
        RegistryClient(
            registry.url,
            insecure=registry.insecure,
            credentials=resolve(registry, env),
            resolver=resolver,
        )
    )


def push_auth(
    registry: Registry, clients: AwsClients, env: Mapping[str, str]
) -> dict[str, str] | None:
    """The docker SDK's auth_config for pushing to `registry` (None: the engine's own)."""
    if registry.type == "ecr":
        import base64

        resp = call("ecr:GetAuthorizationToken", clients.client("ecr").get_authorization_token)
        data = resp["authorizationData"][0]
        username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        from ecsdeploy.secrets import redact

        redact.add(password, username=username)
        return {"username": username, "password": password}
    creds = resolve(registry, env)
    if creds is None:
        return None
    return {"username": creds.username, "password": creds.password}
