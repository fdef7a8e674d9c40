"""Corrections to moto's answers outside ECS and ELBv2 that the tool's steps rely on.

- ecr:GetAuthorizationToken: moto's token "expired" in 2015; ECR's lasts 12 hours.
- ssm:ListCommandInvocations: moto has no handler (HTTP 500); answered here from
  the commands moto keeps (each invocation `Success`, as moto's GetCommandInvocation says).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from ecsdeploy.sandbox.api import Call, Forward, Reply, json_reply

ECR_TOKEN_SECONDS = 12 * 3600


def ecr_authorization_token(call: Call, forward: Forward) -> Reply:
    reply = forward(None)
    if reply.status != 200:
        return reply
    data = reply.json()
    expires = round(time.time() + ECR_TOKEN_SECONDS, 3)
    for item in data.get("authorizationData") or []:
        item["expiresAt"] = expires
    return json_reply(data)


def _epoch(value: Any) -> float | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:  # moto keeps naive UTC
        value = value.replace(tzinfo=UTC)
    return round(float(value.timestamp()), 3)


def ssm_list_command_invocations(call: Call, forward: Forward) -> Reply:
    from moto.backends import get_backend

    backend = get_backend("ssm")[call.account][call.region]
    command_id = call.params.get("CommandId")
    instance_id = call.params.get("InstanceId")
    details = bool(call.params.get("Details"))
    rows: list[dict[str, Any]] = []
    for command in list(backend._commands):
        if command_id and command.command_id != command_id:
            continue
        requested = _epoch(command.requested_date_time)
        for invocation in command.invocations:
            if instance_id and invocation["InstanceId"] != instance_id:
                continue
            row: dict[str, Any] = {
                "CommandId": command.command_id,
                "InstanceId": invocation["InstanceId"],
                "Comment": command.comment or "",
                "DocumentName": command.document_name or "",
                "DocumentVersion": "$DEFAULT",
                "RequestedDateTime": requested,
                "Status": invocation["Status"],
                "StatusDetails": invocation["StatusDetails"],
                "StandardOutputUrl": "",
                "StandardErrorUrl": "",
                "CommandPlugins": [],
            }
            if details:
                row["CommandPlugins"] = [
                    {
                        "Name": invocation["PluginName"],
                        "Status": invocation["Status"],
                        "StatusDetails": invocation["StatusDetails"],
                        "ResponseCode": invocation["ResponseCode"],
                        "Output": invocation["StandardOutputContent"],
                        "StandardOutputUrl": "",
                        "StandardErrorUrl": "",
                    }
                ]
            rows.append(row)
    start = int(call.params.get("NextToken") or 0)
    size = int(call.params.get("MaxResults") or 50)
    out: dict[str, Any] = {"CommandInvocations": rows[start : start + size]}
    if start + size < len(rows):
        out["NextToken"] = str(start + size)
    return json_reply(out)
