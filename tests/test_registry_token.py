"""The v2 registry client against a registry that uses Bearer tokens (as Docker Hub,
GHCR and Harbor do): the challenge, the token server, re-tagging with the same digest."""

from __future__ import annotations

from typing import Any

import pytest

from ecsdeploy.adapters.credentials import Credentials
from ecsdeploy.adapters.registry import RegistryClient
from ecsdeploy.errors import OperationError

pytestmark = [pytest.mark.docker, pytest.mark.registry]


@pytest.fixture(scope="module")
def pushed(token_registry: Any, docker_engine: Any, build_image: Any) -> Any:
    registry, _ = token_registry
    build_image(f"{registry.host}/shop/app:v1", content=b"token registry image")
    docker_engine.client.images.push(
        f"{registry.host}/shop/app", tag="v1", auth_config=registry.auth_config
    )
    return token_registry


def test_digest_and_retag_through_the_token_server(pushed: Any) -> None:
    registry, tokens = pushed
    tokens.requests.clear()
    client = RegistryClient(
        registry.host,
        insecure=True,
        credentials=Credentials(registry.username, registry.password),
    )
    source = client.digest("shop/app", "v1")
    assert source is not None and source.startswith("sha256:")
    assert client.digest("shop/app", "nope") is None
    assert client.retag("shop/app", "v1", "release-1") == source
    assert client.digest("shop/app", "release-1") == source
    # Read with a pull token, written with a pull+push one; tokens are reused per scope.
    assert tokens.requests == ["repository:shop/app:pull", "repository:shop/app:pull,push"]


def test_wrong_password_at_the_token_server(pushed: Any) -> None:
    registry, _ = pushed
    client = RegistryClient(
        registry.host, insecure=True, credentials=Credentials(registry.username, "wrong")
    )
    with pytest.raises(OperationError) as caught:
        client.digest("shop/app", "v1")
    assert "answered 401 Unauthorized" in caught.value.message
    assert "refused the credentials" in (caught.value.hint or "")


def test_anonymous_client_is_told_to_log_in(pushed: Any) -> None:
    registry, _ = pushed
    client = RegistryClient(registry.host, insecure=True)
    with pytest.raises(OperationError) as caught:
        client.digest("shop/app", "v1")
    assert "answered 401 Unauthorized" in caught.value.message
    assert "needs credentials" in (caught.value.hint or "")


def test_registry_and_token_server_through_ecsdeploy_resolve(pushed: Any) -> None:
    """ECSDEPLOY_RESOLVE maps the registry's host, and the token realm's when it is mapped."""
    from urllib.parse import urlsplit

    from ecsdeploy.resolve import Resolver
    from tests.fixtures.servers import free_port

    registry, tokens = pushed
    realm = urlsplit(tokens.url).netloc  # 127.0.0.1:PORT
    credentials = Credentials(registry.username, registry.password)
    mapped = Resolver.parse(f"registry.example.com={registry.url}")
    client = RegistryClient("registry.example.com", credentials=credentials, resolver=mapped)
    assert client.digest("shop/app", "v1") is not None
    # The realm's host mapped as well: the token request follows the mapping.
    via_localhost = Resolver.parse(
        f"registry.example.com={registry.url},{realm}=http://localhost:{realm.split(':')[1]}"
    )
    client = RegistryClient("registry.example.com", credentials=credentials, resolver=via_localhost)
    assert client.digest("shop/app", "v1") is not None
    port = free_port()
    dead = f"http://127.0.0.1:{port}"
    nowhere = Resolver.parse(f"registry.example.com={registry.url},{realm}={dead}")
    client = RegistryClient("registry.example.com", credentials=credentials, resolver=nowhere)
    with pytest.raises(OperationError) as caught:
        client.digest("shop/app", "v1")
    assert caught.value.message.startswith(
        f"cannot reach registry registry.example.com at {registry.url} (ECSDEPLOY_RESOLVE): "
    )
    assert f"its token server {dead}: connection refused" in caught.value.message
