"""A plan as JSON data (`plan --format json`, `plan --out FILE`) and back.

The JSON is stable and documented (docs/plan-format.md); `format_version`
changes whenever a reader of an older version would misread it.
"""

from __future__ import annotations

from typing import Any

from ecsdeploy.errors import InputError, Problem

from .diff import ChangeKind, FieldChange, TaskDefinitionDiff
from .model import (
    FORMAT_VERSION,
    Change,
    DeregisterStep,
    EcsConfigStep,
    Fingerprint,
    ImageStep,
    Plan,
    RegisterStep,
    SecretStep,
    ServicePlan,
    ServiceStep,
    Step,
    WaitStep,
    Warning,
)


def _step(step: Step) -> dict[str, Any]:
    base: dict[str, Any] = {"kind": step.kind.value, "action": step.action.value}
    if isinstance(step, ImageStep):
        base |= {
            "image": step.image,
            "method": step.method,
            "source": step.source,
            "target": step.target,
            "source_digest": step.source_digest,
        }
    elif isinstance(step, RegisterStep):
        base |= {
            "family": step.family,
            "reuse": step.reuse_arn,
            "diff": {**step.diff.as_dict(), "text": step.diff.text},
        }
    elif isinstance(step, ServiceStep):
        base |= {
            "changes": [
                {"field": c.field, "before": c.before, "after": c.after} for c in step.changes
            ]
        }
    elif isinstance(step, WaitStep):
        base |= {"timeout_seconds": step.timeout, "checks": list(step.checks)}
    elif isinstance(step, DeregisterStep):
        base |= {"task_definitions": list(step.arns)}
    elif isinstance(step, EcsConfigStep):
        base |= {
            "cluster": step.cluster,
            "cluster_key": step.cluster_key,
            "instances": list(step.instances),
            "total": step.total,
            "digest": step.digest,
            "lines": list(step.lines),  # masked
            "drain": step.drain,
        }
    elif isinstance(step, SecretStep):
        base |= {"registry": step.registry, "name": step.name, "arn": step.arn}
    return base


def _warning(w: Warning) -> dict[str, Any]:
    return {"severity": w.severity, "message": w.message, "fix": w.fix}


def to_dict(plan: Plan, *, with_task_definitions: bool = False) -> dict[str, Any]:
    services = []
    for sp in plan.services:
        entry: dict[str, Any] = {
            "key": sp.key,
            "name": sp.name,
            "cluster": sp.cluster,
            "family": sp.family,
            "changed": sp.changed,
            "current_task_definition": sp.current_task_definition,
            "fingerprint": sp.fingerprint.as_dict(),
            "steps": [_step(s) for s in sp.steps],
            "warnings": [_warning(w) for w in sp.warnings],
        }
        if with_task_definitions:
            entry["task_definition"] = sp.task_definition
        services.append(entry)
    return {
        "format_version": plan.format_version,
        "tool_version": plan.tool_version,
        "created_at": plan.created_at,
        "revision": plan.revision,
        "environment": plan.environment,
        "region": plan.region,
        "config": plan.config_path,
        "changed": plan.changed,
        "summary": plan.summary(),
        "counts": plan.counts(),
        "services": services,
    }


def _diff_from(data: dict[str, Any]) -> TaskDefinitionDiff:
    return TaskDefinitionDiff(
        changes=tuple(
            FieldChange(c["path"], ChangeKind(c["action"]), c.get("before"), c.get("after"))
            for c in data.get("changes", [])
        ),
        text=data.get("text", ""),
        created=bool(data.get("created")),
    )


def _step_from(data: dict[str, Any]) -> Step:
    kind = data["kind"]
    if kind == "image":
        return ImageStep(
            image=data["image"],
            method=data["method"],
            source=data["source"],
            target=data["target"],
            source_digest=data.get("source_digest"),
        )
    if kind == "register":
        return RegisterStep(
            family=data["family"], diff=_diff_from(data["diff"]), reuse_arn=data.get("reuse")
        )
    if kind in ("create_service", "update_service"):
        return ServiceStep(
            changes=tuple(
                Change(c["field"], c.get("before"), c.get("after")) for c in data["changes"]
            ),
            create=kind == "create_service",
        )
    if kind == "wait":
        return WaitStep(timeout=float(data["timeout_seconds"]), checks=tuple(data["checks"]))
    if kind == "deregister":
        return DeregisterStep(arns=tuple(data["task_definitions"]))
    if kind == "ecs_config":
        return EcsConfigStep(
            cluster=data["cluster"],
            cluster_key=data["cluster_key"],
            instances=tuple(data["instances"]),
            total=int(data["total"]),
            digest=data["digest"],
            lines=tuple(data.get("lines", [])),
            drain=bool(data.get("drain", False)),
        )
    if kind == "secret":
        return SecretStep(registry=data["registry"], name=data["name"], arn=data.get("arn"))
    raise ValueError(f"unknown step kind {kind!r}")


def from_dict(data: dict[str, Any], source: str = "plan file") -> Plan:
    """Read a saved plan; a plan of another format version is refused, not guessed at."""
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        raise InputError(
            Problem(
                f"{source} has format_version {version!r}; this ecsdeploy reads {FORMAT_VERSION}",
                hint="make the plan again with this version of ecsdeploy",
            )
        )
    try:
        services = tuple(
            ServicePlan(
                key=s["key"],
                name=s["name"],
                cluster=s["cluster"],
                family=s["family"],
                current_task_definition=s.get("current_task_definition"),
                task_definition=s["task_definition"],
                steps=tuple(_step_from(st) for st in s["steps"]),
                fingerprint=Fingerprint(
                    task_definition=s["fingerprint"].get("task_definition"),
                    deployment=s["fingerprint"].get("deployment"),
                    exists=bool(s["fingerprint"].get("exists")),
                ),
                warnings=tuple(
                    Warning(s["key"], w["message"], w.get("fix"), w.get("severity", "warning"))
                    for w in s.get("warnings", [])
                ),
            )
            for s in data["services"]
        )
        return Plan(
            services=services,
            revision=data.get("revision"),
            environment=data.get("environment"),
            config_path=data["config"],
            region=data.get("region"),
            created_at=data["created_at"],
            tool_version=data["tool_version"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(Problem(f"{source} is not a valid plan: {exc!r}")) from None
