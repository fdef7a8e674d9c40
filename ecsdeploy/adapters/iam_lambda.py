"""IAM roles with their trust policies, and Lambda functions: what ECS assumes and invokes
during blue/green, linear and canary deployments.

Read-only (iam:GetRole, lambda:GetFunction). verify asks whether the role ECS
changes the listener rules with, and the role it invokes each lifecycle hook
with, exist and let ECS assume them; and whether each hook's function exists.
No policy is simulated: what a role may do is not judged, only who may assume it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from ecsdeploy.errors import OperationError

from .aws import AwsClients, RegionalClients, call, error_code

FUNCTION_NOT_FOUND = ("ResourceNotFoundException",)
ASSUME_ACTIONS = ("sts:assumerole", "sts:*", "*")


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def trusted_services(document: Mapping[str, Any] | str | None) -> frozenset[str]:
    """The AWS service principals a trust policy allows to sts:AssumeRole ("*" for anyone).

    GetRole's AssumeRolePolicyDocument comes URL-encoded from the API (the SDKs
    usually decode it already). Conditions are not weighed: a statement that
    names the service is taken to let it assume the role.
    """
    if isinstance(document, str):
        try:
            document = json.loads(unquote(document))
        except ValueError:
            return frozenset()
    if not isinstance(document, Mapping):
        return frozenset()
    found: set[str] = set()
    for statement in _listed(document.get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        actions = [str(a).lower() for a in _listed(statement.get("Action"))]
        if not any(a in ASSUME_ACTIONS for a in actions):
            continue
        principal = statement.get("Principal")
        if principal == "*":
            found.add("*")
        elif isinstance(principal, Mapping):
            found.update(str(s) for s in _listed(principal.get("Service")))
            if "*" in _listed(principal.get("AWS")):
                found.add("*")
    return frozenset(found)


def function_region(reference: str) -> str | None:
    """The region of a Lambda function ARN (`arn:aws:lambda:REGION:…`); None for a name."""
    parts = reference.split(":")
    if reference.startswith("arn:") and len(parts) > 3 and parts[2] == "lambda":
        return parts[3] or None
    return None


class IamLambdaAdapter:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients
        self._in = RegionalClients(clients)

    def role_trust(self, name: str) -> frozenset[str] | None:
        """The service principals the role's trust policy lets assume it; None: no such role."""
        iam = self._clients.client("iam")
        try:
            resp = call(f"iam:GetRole {name}", iam.get_role, RoleName=name)
        except OperationError as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise
        return trusted_services((resp.get("Role") or {}).get("AssumeRolePolicyDocument"))

    def function_exists(self, reference: str) -> bool:
        """Whether a Lambda function (name, ARN or partial ARN) exists."""
        client = self._in(function_region(reference)).client("lambda")
        try:
            call(f"lambda:GetFunction {reference}", client.get_function, FunctionName=reference)
        except OperationError as exc:
            if error_code(exc) in FUNCTION_NOT_FOUND:
                return False
            raise
        return True
