"""A registry that does not answer: verify says what deploy.yaml needs of it (push,
re-tag or pull, by the image's source) and names its URL; plan says why, in a few
words, at once."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.apps import App, seed_app
from tests.verify.apps import REGISTRY_ENV, private_registry


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def unreachable(sandbox: Any, tmp_path: Path) -> tuple[App, str]:
    """The private-registry sample with its image in the `private` registry, which is
    on a port of this machine where nothing listens."""
    app = seed_app(sandbox, private_registry(tmp_path))
    host = f"127.0.0.1:{_closed_port()}"
    app.edit("deploy.yaml", "url: registry.example.com", f"url: {host}\n    insecure: true")
    app.edit(
        "deploy.yaml",
        "    registry: ecr\n    repository: shop/web\n",
        "    registry: private\n    repository: shop/web\n",
    )
    return app, host


SOURCES = {
    "local": (
        "    promote: latest",
        "    local: shop/web:latest",
        "apply pushes the image to registry `private` ({host}), which must be reachable from here",
    ),
    "promote": (
        None,
        None,
        "apply re-tags the image in registry `private` ({host}), which must be reachable from here",
    ),
    "tag": (
        "    promote: latest",
        "    tag: v1",
        "ECS pulls the image from registry `private` ({host}); it must exist there",
    ),
}


@pytest.mark.parametrize("source", list(SOURCES))
def test_verify_says_what_the_registry_is_needed_for(
    unreachable: tuple[App, str], source: str
) -> None:
    app, host = unreachable
    old, new, why = SOURCES[source]
    if old is not None and new is not None:
        app.edit("deploy.yaml", old, new)
    tag = "v1" if source == "tag" else "bbbbbbb"
    result = app.run("verify", env=dict(REGISTRY_ENV))
    assert result.exit_code == 4, result.output
    lines = result.output.splitlines()
    at = lines.index(
        f"  error: image `web` ({host}/shop/web:{tag}) could not be checked: cannot reach "
        f"registry {host} at http://{host} (connection refused)"
    )
    assert lines[at + 1] == f"    why: {why.format(host=host)}"
    assert lines[at + 2] == (
        "    fix: check the network (VPN, proxy) and `url:` of registry `private`"
    )
    assert "`promote:` or `local:`" not in result.output


def test_plan_names_the_registry_and_why_at_once(unreachable: tuple[App, str]) -> None:
    app, host = unreachable
    start = time.monotonic()
    result = app.run("plan", env=dict(REGISTRY_ENV))
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1] == (
        f"error: image `web` ({host}/shop/web:bbbbbbb): cannot reach registry {host} at "
        f"http://{host} (connection refused)"
    )
    assert time.monotonic() - start < 10
