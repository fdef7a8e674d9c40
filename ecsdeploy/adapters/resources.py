"""Whether the resources a task definition names exist: IAM roles, log groups, secrets.

Read-only, and describe calls only: a secret's or parameter's value is never
read (DescribeSecret, DescribeParameters; no GetSecretValue, no decryption).
Log groups, secrets and parameters may live in another region than the deploy
(the ARN or `awslogs-region` says so), so clients are made per region.
"""

from __future__ import annotations

from ecsdeploy.errors import OperationError

from .aws import AwsClients, RegionalClients, call, error_code


class ResourcesAdapter:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients
        self._in = RegionalClients(clients)

    def role_exists(self, name: str) -> bool:
        iam = self._clients.client("iam")
        try:
            call(f"iam:GetRole {name}", iam.get_role, RoleName=name)
        except OperationError as exc:
            if error_code(exc) == "NoSuchEntity":
                return False
            raise
        return True

    def log_group_exists(self, name: str, region: str | None = None) -> bool:
        logs = self._in(region).client("logs")
        kwargs: dict[str, object] = {"logGroupNamePrefix": name}
        while True:
            resp = call(f"logs:DescribeLogGroups {name}", logs.describe_log_groups, **kwargs)
            if any(g.get("logGroupName") == name for g in resp.get("logGroups") or []):
                return True
            token = resp.get("nextToken")
            if not token:
                return False
            kwargs["nextToken"] = token

    def secret_exists(self, secret_id: str, region: str | None = None) -> bool:
        sm = self._in(region).client("secretsmanager")
        try:
            call(
                f"secretsmanager:DescribeSecret {secret_id}", sm.describe_secret, SecretId=secret_id
            )
        except OperationError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise
        return True

    def parameter_exists(self, name: str, region: str | None = None) -> bool:
        ssm = self._in(region).client("ssm")
        resp = call(
            f"ssm:DescribeParameters {name}",
            ssm.describe_parameters,
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}],
        )
        return bool(resp.get("Parameters"))
