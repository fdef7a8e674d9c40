"""The local Docker engine (docker SDK): images to tag and push for `local:` images."""

from __future__ import annotations

from typing import Any

from ecsdeploy.errors import OperationError
from ecsdeploy.resolve import Resolver


class DockerEngine:
    """Talks to the engine named by DOCKER_HOST (or the default socket), lazily.

    With a `resolver` (ECSDEPLOY_RESOLVE) mapping a registry host, images for it are
    tagged and pushed under the mapped address (`127.0.0.1:4566/shop/web:tag` for
    `registry.example.com/shop/web:tag`); the name deployed stays the original.
    """

    def __init__(self, resolver: Resolver | None = None) -> None:
        self._client: Any = None
        self._resolver = resolver or Resolver()

    def address(self, repository_uri: str) -> str:
        """The repository the engine really talks to for `repository_uri`."""
        host, _, path = repository_uri.partition("/")
        mapped = self._resolver.push_host(host)
        return f"{mapped}/{path}" if mapped else repository_uri

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import docker
                import docker.errors

                self._client = docker.from_env()
                self._client.ping()
            except Exception as exc:
                raise OperationError(
                    f"cannot reach the Docker engine: {exc}",
                    hint="`local:` images need a running engine; check DOCKER_HOST",
                ) from None
        return self._client

    def digest_in(self, local: str, repository_uri: str) -> str | None:
        """The registry digest `local` has in `repository_uri` if it was pushed there.

        None when the image is not in the engine at all; `local:<image id>` when it
        is, but was never pushed to that repository (so it must be).
        """
        import docker.errors

        address = self.address(repository_uri)
        try:
            image = self.client.images.get(local)
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as exc:
            raise OperationError(f"Docker engine: {exc}") from None
        for repo_digest in image.attrs.get("RepoDigests") or []:
            repo, _, digest = repo_digest.partition("@")
            if repo == address:
                return str(digest)
        return f"local:{image.id}"

    def push(self, local: str, repository_uri: str, tag: str, auth: dict[str, str] | None) -> str:
        """Tag `local` as `repository_uri:tag` and push it; returns the registry's digest."""
        import docker.errors

        address = self.address(repository_uri)
        # Errors name the image as deployed, and the address it went to if mapped.
        name = f"{repository_uri}:{tag}"
        if address != repository_uri:
            name += f" (as {address}:{tag}, ECSDEPLOY_RESOLVE)"

        try:
            image = self.client.images.get(local)
        except docker.errors.ImageNotFound:
            raise OperationError(
                f"local image {local} is not in the Docker engine",
                hint="build it first (docker build -t ...)",
            ) from None
        image.tag(address, tag)
        digest = None
        try:
            for line in self.client.images.push(
                address, tag=tag, auth_config=auth, stream=True, decode=True
            ):
                if "error" in line:
                    detail = line.get("errorDetail", {}).get("message") or line["error"]
                    raise OperationError(f"pushing {name}: {detail}")
                aux = line.get("aux") or {}
                if aux.get("Digest"):
                    digest = aux["Digest"]
        except docker.errors.APIError as exc:
            raise OperationError(f"pushing {name}: {exc}") from None
        if digest is None:
            raise OperationError(f"pushing {name}: the engine reported no digest")
        return str(digest)
