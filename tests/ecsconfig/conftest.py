"""Fixtures for the ecs.config roll-out and repository_credentials: an app whose image
lives in the real htpasswd `docker-registry`, seeded into the sandbox.

The image is put into the registry over its HTTP API (blobs and a manifest), so
these tests need the registry binary but no Docker engine.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.apps import App, seed_app

DEPLOY = """version: 1
region: us-east-1
registries:
  private:
    type: docker
    url: "{host}"
    insecure: true
    auth: {{username_env: REG_USER, password_env: REG_PASS, email: ops@example.com{auth_extra}}}
    {ecs_config}
images:
  app: {{registry: private, repository: shop/app, {source}}}
clusters:
  main:
    name: shop
    {cluster_ecs_config}
services:
  app:
    cluster: main
    launch_type: EC2
    task_definition: app.json.j2
    desired_count: 2
    zero_downtime: false
    deployment: {{minimum_healthy_percent: 50, maximum_percent: 100, poll_interval: 100ms}}
"""

TEMPLATE = """{
  "family": "shop-app",
  {execution_role}"containerDefinitions": [{"name": "app", "image": "{{ images.app.uri }}", "memory": 64}]
}
"""


def put_image(registry: Any, repository: str, tag: str, content: bytes = b"app") -> str:
    """A one-layer image pushed through the registry's v2 API; its manifest digest."""

    def send(url: str, method: str, data: bytes | None, ctype: str | None = None) -> Any:
        token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
        headers = {"Authorization": f"Basic {token}"}
        if ctype:
            headers["Content-Type"] = ctype
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        return urllib.request.urlopen(request, timeout=10)

    def blob(data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with send(f"{registry.url}/v2/{repository}/blobs/uploads/", "POST", b"") as answer:
            location = answer.headers["Location"]
        if location.startswith("/"):
            location = registry.url + location
        sep = "&" if "?" in location else "?"
        send(f"{location}{sep}digest={digest}", "PUT", data, "application/octet-stream").close()
        return digest

    layer = content
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": blob(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer),
                    "digest": blob(layer),
                }
            ],
        }
    ).encode()
    with send(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        "PUT",
        manifest,
        "application/vnd.docker.distribution.manifest.v2+json",
    ) as answer:
        return str(answer.headers["Docker-Content-Digest"])


@pytest.fixture
def make_private_app(
    sandbox: Any, tmp_path: Path, registry: Any
) -> Callable[..., tuple[App, dict[str, str]]]:
    """An app on the htpasswd registry: (app, the environment with its credentials)."""

    def make(
        *,
        mode: str = "ecs_config",
        drain: bool = False,
        instances: int = 3,
        execution_role: bool = True,
        source: str = "tag: v1",
    ) -> tuple[App, dict[str, str]]:
        put_image(registry, "shop/app", "v1")
        put_image(registry, "shop/app", "latest")
        folder = tmp_path / "app"
        folder.mkdir()
        drained = "true" if drain else "false"
        if mode == "repository_credentials":
            auth_extra, ecs_config = ", mode: repository_credentials", ""
            cluster_ecs_config = ""
        else:
            auth_extra, ecs_config = "", "ecs_config: true"
            cluster_ecs_config = (
                f"ecs_config: {{drain: {drained}, "
                'settings: {ECS_ENABLE_CONTAINER_METADATA: "true"}}'
            )
        (folder / "deploy.yaml").write_text(
            DEPLOY.format(
                host=registry.host,
                auth_extra=auth_extra,
                ecs_config=ecs_config,
                cluster_ecs_config=cluster_ecs_config,
                source=source,
            )
        )
        role = (
            '"executionRoleArn": "arn:aws:iam::123456789012:role/shop-exec",\n  '
            if execution_role
            else ""
        )
        (folder / "app.json.j2").write_text(TEMPLATE.replace("{execution_role}", role))
        app = seed_app(sandbox, folder, instances=instances)
        return app, {"REG_USER": registry.username, "REG_PASS": registry.password}

    return make
