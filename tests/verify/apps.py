"""Samples prepared for verify on the sandbox: copies edited as each test needs, then seeded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.apps import App, copy_sample, seed_app

ECR_URL = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
REGISTRY_ENV = {"REGISTRY_USER": "ci", "REGISTRY_PASSWORD": "not-a-real-password"}


def private_registry(tmp_path: Path, *, minimum_healthy_percent: int | None = None) -> Path:
    """The private-registry sample, changed only where the sandbox needs it.

    - its region becomes the sandbox's (us-east-1);
    - its `local:` image (Docker engine + a registry at registry.example.com, which
      the sandbox has neither of) becomes an ECR image promoted from `latest`, so
      the image-existence rule runs against a registry the sandbox has. The
      `private` registry stays declared (ecs_config), unused by any image.
    The service itself (EC2, bridge, static host port 80 -> 8080, desired 2,
    minimum 50, behind the ALB seeding creates) is left as written, unless
    `minimum_healthy_percent` is given.
    """
    folder = copy_sample("private-registry", tmp_path)
    path = folder / "deploy.yaml"
    text = path.read_text()
    for old, new in (
        ("region: eu-west-1", "region: us-east-1"),
        ("registries:\n", f"registries:\n  ecr:\n    type: ecr\n    url: {ECR_URL}\n"),
        (
            "    registry: private\n    repository: shop/web\n    local: shop/web:latest",
            "    registry: ecr\n    repository: shop/web\n    promote: latest",
        ),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    if minimum_healthy_percent is not None:
        old = "      minimum_healthy_percent: 50\n"
        assert old in text
        text = text.replace(old, f"      minimum_healthy_percent: {minimum_healthy_percent}\n", 1)
    path.write_text(text)
    return folder


def idle_instances(sandbox: Any, cluster: str) -> list[str]:
    """ARNs of the cluster's ACTIVE container instances that run no task."""
    ecs = sandbox.client("ecs")
    arns = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
    described = ecs.describe_container_instances(cluster=cluster, containerInstances=arns)
    return [
        ci["containerInstanceArn"]
        for ci in described["containerInstances"]
        if ci["status"] == "ACTIVE"
        and ci["runningTasksCount"] == 0
        and ci["pendingTasksCount"] == 0
    ]


def remove_idle_instance(sandbox: Any, cluster: str) -> str:
    """Deregister the one idle instance (as an operator scaling in would)."""
    idle = idle_instances(sandbox, cluster)
    assert len(idle) == 1, idle
    sandbox.client("ecs").deregister_container_instance(
        cluster=cluster, containerInstance=idle[0], force=True
    )
    assert idle_instances(sandbox, cluster) == []
    return idle[0]


def seeded(sandbox: Any, folder: Path, instances: int | None = None) -> App:
    return seed_app(sandbox, folder, instances=instances)
