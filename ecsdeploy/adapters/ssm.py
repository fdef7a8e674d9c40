"""AWS Systems Manager: the SecureString parameter and the Run Command of the ecs.config roll-out.

The credentials travel in the parameter (encrypted with KMS), never in a
command's parameters: the command only names the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecsdeploy.errors import OperationError

from .aws import AwsClients, call, error_code

STANDARD_TIER_LIMIT = 4096  # bytes a Standard parameter holds; beyond, Advanced
TERMINAL = ("Success", "Failed", "Cancelled", "TimedOut")


@dataclass(frozen=True)
class Invocation:
    """One instance's run of a command, as GetCommandInvocation says."""

    command_id: str
    instance_id: str
    status: str  # Pending, InProgress, Delayed, Success, Cancelled, TimedOut, Failed, Cancelling
    details: str
    response_code: int
    stdout: str
    stderr: str

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


class SsmAdapter:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    @property
    def _ssm(self) -> Any:
        return self._clients.client("ssm")

    def put_secure_string(self, name: str, value: str, description: str) -> None:
        tier = "Standard" if len(value.encode()) <= STANDARD_TIER_LIMIT else "Advanced"
        call(
            f"ssm:PutParameter {name}",
            self._ssm.put_parameter,
            Name=name,
            Value=value,
            Type="SecureString",
            Overwrite=True,
            Tier=tier,
            Description=description,
        )

    def run_shell_script(
        self, instance_id: str, commands: list[str], *, comment: str, timeout: int
    ) -> str:
        """SendCommand AWS-RunShellScript to one instance; the command id."""
        try:
            resp = call(
                f"ssm:SendCommand to {instance_id}",
                self._ssm.send_command,
                InstanceIds=[instance_id],
                DocumentName="AWS-RunShellScript",
                Comment=comment[:100],
                Parameters={"commands": commands, "executionTimeout": [str(timeout)]},
                TimeoutSeconds=max(30, min(timeout, 2592000)),
            )
        except OperationError as exc:
            if error_code(exc) == "InvalidInstanceId":
                raise OperationError(
                    exc.message,
                    hint="the instance must run the SSM agent and be a managed node: "
                    "an instance profile with AmazonSSMManagedInstanceCore",
                ) from None
            raise
        command_id: str = resp["Command"]["CommandId"]
        return command_id

    def invocation(self, command_id: str, instance_id: str) -> Invocation:
        try:
            resp = call(
                "ssm:GetCommandInvocation",
                self._ssm.get_command_invocation,
                CommandId=command_id,
                InstanceId=instance_id,
            )
        except OperationError as exc:
            # Right after SendCommand, SSM may not know the invocation yet.
            if error_code(exc) == "InvocationDoesNotExist":
                return Invocation(command_id, instance_id, "Pending", "Pending", -1, "", "")
            raise
        return Invocation(
            command_id=command_id,
            instance_id=instance_id,
            status=str(resp.get("Status", "")),
            details=str(resp.get("StatusDetails", "")),
            response_code=int(resp.get("ResponseCode", -1)),
            stdout=str(resp.get("StandardOutputContent", "")),
            stderr=str(resp.get("StandardErrorContent", "")),
        )
