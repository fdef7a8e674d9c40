"""The sandbox: a local ECS (moto's server plus a deployment simulation), see docs/sandbox.md.

`Sandbox` needs moto (the `sandbox` extra); `SandboxClient` (control over HTTP)
and `seed` need only boto3, so they are importable without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecsdeploy.sandbox.control import SandboxClient
    from ecsdeploy.sandbox.server import FaultConfig, Sandbox

__all__ = ["FaultConfig", "Sandbox", "SandboxClient"]


def __getattr__(name: str) -> Any:
    # Lazy, so importing the package (or its moto-free modules) never imports moto.
    if name in ("Sandbox", "FaultConfig"):
        from ecsdeploy.sandbox import server

        return getattr(server, name)
    if name == "SandboxClient":
        from ecsdeploy.sandbox.control import SandboxClient

        return SandboxClient
    raise AttributeError(name)
