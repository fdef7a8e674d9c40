"""ecsdeploy: declarative, zero-downtime deployments to Amazon ECS.

Kept import-free on purpose: `ecsdeploy --version` must not load boto3,
docker, git or moto.
"""

__version__ = "0.1.0"
