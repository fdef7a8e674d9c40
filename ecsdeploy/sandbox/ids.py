"""Resources created under the IDs a deploy.yaml names (a seeding facility).

A deploy.yaml names subnets, security groups and target groups that exist in the
user's account: `subnet-0a1b2c3d4e5f60718`, or a target group by its full ARN.
moto gives every new resource a random ID. So that the sandbox can be seeded
with exactly those resources, a create request may carry moto's custom-ID tag
(`_custom_id_`, which moto itself honours for Secrets Manager secrets):

- ec2:CreateSubnet and ec2:CreateSecurityGroup: the tag's value is the new ID;
- elbv2:CreateTargetGroup, CreateLoadBalancer, CreateListener and CreateRule: the
  tag's value is the ARN's last part (16 hex digits), so that a listener rule a
  deploy.yaml names by ARN (a blue/green service's production and test rules) can
  be created under that very ARN.

Real AWS refuses tag keys it reserves, not this one, but it would never use the
value as an ID: only the sandbox does. The tag stays on the resource.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from ecsdeploy.sandbox.api import Call, Forward, Reply

CUSTOM_ID_TAG = "_custom_id_"

_PATTERNS = {
    "subnet": re.compile(r"^subnet-[0-9a-f]{8,17}$"),
    "security-group": re.compile(r"^sg-[0-9a-f]{8,17}$"),
    "target-group": re.compile(r"^[0-9a-f]{16}$"),
    "load-balancer": re.compile(r"^[0-9a-f]{16}$"),
    "listener": re.compile(r"^[0-9a-f]{16}$"),
    "listener-rule": re.compile(r"^[0-9a-f]{16}$"),
}
# The ARN element of a created listener or rule in ELBv2's answer.
_ANSWERED_ARN = {
    "listener": re.compile(r"<ListenerArn>([^<]+)</ListenerArn>"),
    "listener-rule": re.compile(r"<RuleArn>([^<]+)</RuleArn>"),
}

_lock = threading.Lock()
_pending: dict[str, str] = {}
_installed = False


def _query_tag(params: dict[str, Any], prefix: str) -> str | None:
    """The custom-ID tag's value in a query request's flat parameters."""
    for key, value in params.items():
        if key.startswith(prefix) and key.endswith(".Key") and value == CUSTOM_ID_TAG:
            found = params.get(key[: -len(".Key")] + ".Value")
            return str(found) if found else None
    return None


def _install() -> None:
    """Wrap moto's ID generators so that a pending custom ID is used once."""
    global _installed
    if _installed:
        return
    import moto.ec2.models.security_groups as security_groups
    import moto.ec2.models.subnets as subnets
    import moto.elbv2.models as elbv2

    def wrap(kind: str, original: Callable[..., str]) -> Callable[..., str]:
        def generate(*args: Any, **kwargs: Any) -> str:
            custom = _pending.pop(kind, None)
            return custom if custom is not None else original(*args, **kwargs)

        return generate

    # setattr: these are moto's module globals, looked up at each call.
    setattr(subnets, "random_subnet_id", wrap("subnet", getattr(subnets, "random_subnet_id")))  # noqa: B009, B010
    generator = getattr(security_groups, "random_security_group_id")  # noqa: B009
    setattr(security_groups, "random_security_group_id", wrap("security-group", generator))  # noqa: B010
    original_arn: Callable[..., str] = getattr(elbv2, "make_arn_for_target_group")  # noqa: B009

    def target_group_arn(account_id: str, tg_id: str, name: str, region_name: str) -> str:
        custom = _pending.pop("target-group", None)
        return original_arn(
            account_id=account_id,
            tg_id=custom if custom is not None else tg_id,
            name=name,
            region_name=region_name,
        )

    setattr(elbv2, "make_arn_for_target_group", target_group_arn)  # noqa: B010
    original_lb_arn: Callable[..., str] = getattr(elbv2, "make_arn_for_load_balancer")  # noqa: B009

    def load_balancer_arn(account_id: str, lb_id: str, name: str, region_name: str) -> str:
        custom = _pending.pop("load-balancer", None)
        return original_lb_arn(
            account_id=account_id,
            lb_id=custom if custom is not None else lb_id,
            name=name,
            region_name=region_name,
        )

    setattr(elbv2, "make_arn_for_load_balancer", load_balancer_arn)  # noqa: B010
    _installed = True


def _invalid(call: Call, message: str) -> Reply:
    """A query-protocol error, worded as EC2 or ELBv2 word theirs."""
    if call.service == "ec2":
        xml = (
            "<Response><Errors><Error><Code>InvalidParameterValue</Code>"
            f"<Message>{escape(message)}</Message></Error></Errors>"
            f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
        )
    else:
        xml = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>"
            f"<Message>{escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        )
    return Reply(400, (("Content-Type", "text/xml"),), xml.encode())


def _create(kind: str, custom: str, call: Call, forward: Forward) -> Reply:
    if not _PATTERNS[kind].match(custom):
        return _invalid(call, f"{CUSTOM_ID_TAG} {custom!r} is not a valid {kind} ID")
    with _lock:
        _install()
        _pending[kind] = custom
        try:
            return forward(None)
        finally:
            _pending.pop(kind, None)


def _create_renamed(kind: str, custom: str, call: Call, forward: Forward) -> Reply:
    """Create a listener or rule, then give it the ARN ending in `custom`."""
    if not _PATTERNS[kind].match(custom):
        return _invalid(call, f"{CUSTOM_ID_TAG} {custom!r} is not a valid {kind} ID")
    reply = forward(None)
    if reply.status != 200:
        return reply
    body = reply.body.decode()
    m = _ANSWERED_ARN[kind].search(body)
    if m is None:
        return reply
    old = m.group(1)
    new = old.rsplit("/", 1)[0] + "/" + custom
    from ecsdeploy.sandbox.backends import MotoBackends

    if not MotoBackends().rename_listener_resource(call.account, call.region, old, new):
        return reply
    return Reply(reply.status, reply.headers, body.replace(old, new).encode())


def handle(call: Call, forward: Forward) -> Reply | None:
    """Create requests carrying the custom-ID tag; None lets moto answer as usual."""
    if call.service == "ec2" and call.operation == "CreateSubnet":
        custom = _query_tag(call.params, "TagSpecification.")
        return _create("subnet", custom, call, forward) if custom else None
    if call.service == "ec2" and call.operation == "CreateSecurityGroup":
        custom = _query_tag(call.params, "TagSpecification.")
        return _create("security-group", custom, call, forward) if custom else None
    if call.service == "elbv2" and call.operation == "CreateTargetGroup":
        custom = _query_tag(call.params, "Tags.member.")
        return _create("target-group", custom, call, forward) if custom else None
    if call.service == "elbv2" and call.operation == "CreateLoadBalancer":
        custom = _query_tag(call.params, "Tags.member.")
        return _create("load-balancer", custom, call, forward) if custom else None
    if call.service == "elbv2" and call.operation in ("CreateListener", "CreateRule"):
        custom = _query_tag(call.params, "Tags.member.")
        kind = "listener" if call.operation == "CreateListener" else "listener-rule"
        return _create_renamed(kind, custom, call, forward) if custom else None
    return None
