"""Secrets Manager for `auth.mode: repository_credentials`: the registry credentials' secret.

The secret holds `{"username": …, "password": …}`, the shape ECS's
`repositoryCredentials` reads. ecsdeploy never reads the value back: a tag holds
a salted, slow hash of the credentials (PBKDF2), so a plan can tell whether the
secret is up to date without GetSecretValue, and the tag gives nothing away
cheaply.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

from ecsdeploy.config.model import Registry
from ecsdeploy.errors import OperationError

from .aws import AwsClients, call, error_code
from .credentials import Credentials

HASH_TAG = "ecsdeploy:credentials-hash"
MANAGED_TAG = "ecsdeploy:managed"
_ITERATIONS = 200_000


def secret_name(registry: Registry) -> str:
    """`auth.secret_name`, by default `ecsdeploy/<registry key>`."""
    auth = registry.auth
    return (auth.secret_name if auth is not None else None) or f"ecsdeploy/{registry.key}"


def secret_value(creds: Credentials) -> str:
    return json.dumps({"username": creds.username, "password": creds.password})


def credentials_hash(creds: Credentials, salt: bytes | None = None) -> str:
    """`pbkdf2-sha256$<iterations>$<salt>$<hash>` of the secret's value (fits a tag: < 256)."""
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha256", secret_value(creds).encode(), salt, _ITERATIONS)
    b64 = base64.urlsafe_b64encode
    return f"pbkdf2-sha256${_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


def hash_matches(tag: str | None, creds: Credentials) -> bool:
    if not tag:
        return False
    try:
        scheme, iterations, salt, expected = tag.split("$")
        if scheme != "pbkdf2-sha256":
            return False
        digest = hashlib.pbkdf2_hmac(
            "sha256",
            secret_value(creds).encode(),
            base64.urlsafe_b64decode(salt),
            int(iterations),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(base64.urlsafe_b64encode(digest).decode(), expected)


@dataclass(frozen=True)
class SecretState:
    name: str
    arn: str | None  # None: the secret does not exist
    hash_tag: str | None = None


class SecretsStore:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    @property
    def _sm(self) -> Any:
        return self._clients.client("secretsmanager")

    def describe(self, name: str) -> SecretState:
        """The secret's ARN and hash tag (DescribeSecret: never the value)."""
        try:
            resp = call(
                f"secretsmanager:DescribeSecret {name}", self._sm.describe_secret, SecretId=name
            )
        except OperationError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return SecretState(name, None)
            raise
        if resp.get("DeletedDate"):
            raise OperationError(
                f"secret {name} is scheduled for deletion",
                hint=f"restore it (aws secretsmanager restore-secret --secret-id {name}) "
                "or choose another auth.secret_name",
            )
        tags = {t["Key"]: t["Value"] for t in resp.get("Tags") or []}
        return SecretState(name, str(resp["ARN"]), tags.get(HASH_TAG))

    def create(self, name: str, creds: Credentials, description: str) -> str:
        resp = call(
            f"secretsmanager:CreateSecret {name}",
            self._sm.create_secret,
            Name=name,
            Description=description,
            SecretString=secret_value(creds),
            Tags=[
                {"Key": HASH_TAG, "Value": credentials_hash(creds)},
                {"Key": MANAGED_TAG, "Value": "true"},
            ],
        )
        arn: str = resp["ARN"]
        return arn

    def update(self, arn: str, creds: Credentials) -> None:
        call(
            "secretsmanager:PutSecretValue",
            self._sm.put_secret_value,
            SecretId=arn,
            SecretString=secret_value(creds),
        )
        call(
            "secretsmanager:TagResource",
            self._sm.tag_resource,
            SecretId=arn,
            Tags=[{"Key": HASH_TAG, "Value": credentials_hash(creds)}],
        )
