"""A plan as JSON data (`plan --format json`, `plan --out FILE`) and back.

The JSON is stable and documented (docs/plan-format.md, with a JSON Schema in
schemas/plan.schema.json); `format_version` changes whenever a reader of an
older version would misread it. The file written by `plan --out` holds the
task definitions as they will be registered, secret-looking environment values
included (apply must send them); the views never show those values.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ecsdeploy.config.model import (
    HttpCheck,
    LoadBalancer,
    LoadBalancerChecks,
    Registry,
    RegistryAuth,
)
from ecsdeploy.errors import InputError, Problem
from ecsdeploy.findings import Finding
from ecsdeploy.secrets import MASK

from .diff import ChangeKind, FieldChange, Mask, TaskDefinitionDiff, mask_environment
from .model import (
    READABLE_VERSIONS,
    Change,
    CodeDeployStep,
    CodeDeployTarget,
    DeregisterStep,
    EcsConfigStep,
    Fingerprint,
    ImageStep,
    Inputs,
    Plan,
    RegisterStep,
    ScalingStep,
    SecretStep,
    ServicePlan,
    ServiceStep,
    Step,
    WaitStep,
    Warning,
)


def masked_task_definition(td: Mapping[str, Any], mask: Mask | None = None) -> dict[str, Any]:
    """The task definition with the values of secret-looking environment variables hidden."""
    mask = mask or mask_environment()
    out = copy.deepcopy(dict(td))
    for container in out.get("containerDefinitions") or []:
        path = f"containerDefinitions.{container.get('name')}.environment"
        for entry in container.get("environment") or []:
            if isinstance(entry, dict) and mask(path, str(entry.get("name"))):
                entry["value"] = MASK
    return out


def _http(http: HttpCheck | None) -> dict[str, Any] | None:
    if http is None:
        return None
    return {
        "url": http.url,
        "expect_status": http.expect_status,
        "body": http.body,
        "attempts": http.attempts,
        "interval_seconds": http.interval,
        "timeout_seconds": http.timeout,
    }


def _http_from(http: Mapping[str, Any] | None) -> HttpCheck | None:
    if http is None:
        return None
    return HttpCheck(
        url=http["url"],
        expect_status=int(http.get("expect_status", 200)),
        body=http.get("body"),
        attempts=int(http.get("attempts", 5)),
        interval=float(http.get("interval_seconds", 5.0)),
        timeout=float(http.get("timeout_seconds", 5.0)),
    )


_SHIFTING_FIELDS = (
    "alternate_target_group",
    "production_listener_rule",
    "test_listener_rule",
    "role",
)


def _load_balancer(lb: LoadBalancer) -> dict[str, Any]:
    out: dict[str, Any] = {
        "target_group": lb.target_group,
        "container": lb.container,
        "port": lb.port,
        "targets_healthy": lb.checks.targets_healthy,
        "http": _http(lb.checks.http),
    }
    if lb.checks.test_http is not None:
        out["test_http"] = _http(lb.checks.test_http)
    for name in _SHIFTING_FIELDS:
        if getattr(lb, name) is not None:
            out[name] = getattr(lb, name)
    return out


def _load_balancers_from(data: Mapping[str, Any]) -> tuple[LoadBalancer, ...]:
    """A wait step's target groups: `load_balancers` (version 3), or version 2's one
    `load_balancer` (null: none)."""
    if "load_balancers" in data:
        return tuple(
            _load_balancer_from(lb, f"load_balancers[{i}]")
            for i, lb in enumerate(data["load_balancers"])
        )
    single = data.get("load_balancer")
    return () if single is None else (_load_balancer_from(single, "load_balancer"),)


def _load_balancer_from(data: Mapping[str, Any], label: str) -> LoadBalancer:
    return LoadBalancer(
        target_group=data["target_group"],
        container=data["container"],
        port=int(data["port"]),
        checks=LoadBalancerChecks(
            targets_healthy=bool(data.get("targets_healthy", True)),
            http=_http_from(data.get("http")),
            test_http=_http_from(data.get("test_http")),
        ),
        label=label,
        **{name: data[name] for name in _SHIFTING_FIELDS if data.get(name) is not None},
    )


def _registry(registry: Registry) -> dict[str, Any]:
    auth = registry.auth
    return {
        "type": registry.type,
        "url": registry.url,
        "insecure": registry.insecure,
        "ecs_config": registry.ecs_config,
        "auth": None
        if auth is None
        else {
            # Names of environment variables, never their values.
            "username_env": auth.username_env,
            "password_env": auth.password_env,
            "email": auth.email,
            "auth_type": auth.auth_type,
            "mode": auth.mode,
            "secret_name": auth.secret_name,
        },
    }


def _registry_from(key: str, data: Mapping[str, Any]) -> Registry:
    auth = data.get("auth")
    return Registry(
        key=key,
        type=data["type"],
        url=data["url"],
        insecure=bool(data.get("insecure", False)),
        ecs_config=bool(data.get("ecs_config", False)),
        auth=None
        if auth is None
        else RegistryAuth(
            username_env=auth.get("username_env"),
            password_env=auth.get("password_env"),
            email=auth.get("email"),
            auth_type=auth.get("auth_type", "dockercfg"),
            mode=auth.get("mode", "ecs_config"),
            secret_name=auth.get("secret_name"),
        ),
    )


def _codedeploy(target: CodeDeployTarget) -> dict[str, Any]:
    return {
        "application": target.application,
        "deployment_group": target.deployment_group,
        "ready_wait_seconds": target.ready_wait,
    }


def _codedeploy_from(data: Mapping[str, Any] | None) -> CodeDeployTarget | None:
    if data is None:
        return None
    ready = data.get("ready_wait_seconds")
    return CodeDeployTarget(
        application=data["application"],
        deployment_group=data["deployment_group"],
        ready_wait=None if ready is None else float(ready),
    )


def _step(step: Step) -> dict[str, Any]:
    base: dict[str, Any] = {"kind": step.kind.value, "action": step.action.value}
    if isinstance(step, ImageStep):
        base |= {
            "image": step.image,
            "method": step.method,
            "registry": step.registry,
            "repository": step.repository,
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
            ],
            "request": dict(step.request),
            "notes": list(step.notes),
            "tag_resource": None if step.tag_resource is None else dict(step.tag_resource),
        }
    elif isinstance(step, CodeDeployStep):
        base |= {
            "codedeploy": _codedeploy(step.target),
            "changes": [
                {"field": c.field, "before": c.before, "after": c.after} for c in step.changes
            ],
            "appspec": copy.deepcopy(dict(step.appspec)),
            "request": copy.deepcopy(dict(step.request)),
        }
    elif isinstance(step, ScalingStep):
        base |= {
            "resource_id": step.resource_id,
            "changes": [
                {"field": c.field, "before": c.before, "after": c.after} for c in step.changes
            ],
            "notes": list(step.notes),
            "register": None if step.register is None else dict(step.register),
            "delete_policies": [dict(r) for r in step.delete_policies],
            "delete_scheduled": [dict(r) for r in step.delete_scheduled],
            "put_policies": [dict(r) for r in step.put_policies],
            "put_scheduled": [dict(r) for r in step.put_scheduled],
        }
    elif isinstance(step, WaitStep):
        base |= {
            "timeout_seconds": step.timeout,
            "poll_seconds": step.poll,
            "circuit_breaker": step.circuit_breaker,
            "load_balancers": [_load_balancer(lb) for lb in step.load_balancers],
            "checks": list(step.checks),
        }
        if step.strategy != "rolling":
            base |= {
                "strategy": step.strategy,
                "stages": list(step.stages),
                "bake_seconds": step.bake,
                "shift_bake_seconds": step.shift_bake,
            }
        if step.codedeploy is not None:
            base["codedeploy"] = _codedeploy(step.codedeploy)
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
            "registries": list(step.registries),
            "settings": [list(pair) for pair in step.settings],
            "poll_seconds": step.poll,
            "drain_timeout_seconds": step.drain_timeout,
        }
    elif isinstance(step, SecretStep):
        base |= {"registry": step.registry, "name": step.name, "arn": step.arn}
    return base


def _warning(w: Warning) -> dict[str, Any]:
    return {"severity": w.severity, "message": w.message, "fix": w.fix}


def _finding(f: Finding, plan: Plan) -> dict[str, Any]:
    return {**f.as_dict(), "blocking": plan.blocks(f)}


def to_dict(plan: Plan, *, for_apply: bool = False) -> dict[str, Any]:
    """The plan as JSON data. `for_apply` (the file of `plan --out`) keeps the task
    definitions exactly as they will be registered; otherwise secret-looking
    environment values are masked."""
    services = []
    for sp in plan.services:
        td = sp.task_definition if for_apply else masked_task_definition(sp.task_definition)
        services.append(
            {
                "key": sp.key,
                "name": sp.name,
                "cluster": sp.cluster,
                "family": sp.family,
                "changed": sp.changed,
                "depends_on": list(sp.depends_on),
                "current_task_definition": sp.current_task_definition,
                "fingerprint": sp.fingerprint.as_dict(),
                "task_definition": td,
                "steps": [_step(s) for s in sp.steps],
                "warnings": [_warning(w) for w in sp.warnings],
                "findings": [_finding(f, plan) for f in plan.findings if f.service == sp.key],
            }
        )
    blocking = plan.blocking
    return {
        "format_version": plan.format_version,
        # Only a file made to be applied holds the values apply must send.
        "for_apply": for_apply,
        "tool_version": plan.tool_version,
        "created_at": plan.created_at,
        "revision": plan.revision,
        "git_dirty": plan.git_dirty,
        "environment": plan.environment,
        "region": plan.region,
        "config": plan.config_path,
        "inputs": None if plan.inputs is None else plan.inputs.as_dict(),
        "changed": plan.changed,
        "summary": plan.summary(),
        "counts": plan.counts(),
        "verdict": {
            "apply_refuses": bool(blocking),
            "allow_downtime": plan.allow_downtime,
            "blocking": len(blocking),
        },
        "registries": {k: _registry(r) for k, r in sorted(plan.registries.items())},
        "clusters": list(plan.clusters),
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
            registry=data["registry"],
            repository=data["repository"],
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
            request=dict(data["request"]),
            notes=tuple(data.get("notes") or ()),
            tag_resource=data.get("tag_resource"),
        )
    if kind == "codedeploy":
        target = _codedeploy_from(data["codedeploy"])
        assert target is not None
        return CodeDeployStep(
            target=target,
            appspec=dict(data["appspec"]),
            request=dict(data["request"]),
            changes=tuple(
                Change(c["field"], c.get("before"), c.get("after")) for c in data["changes"]
            ),
        )
    if kind == "scaling":
        return ScalingStep(
            resource_id=data["resource_id"],
            changes=tuple(
                Change(c["field"], c.get("before"), c.get("after")) for c in data["changes"]
            ),
            create=data["action"] == "+",
            register=data.get("register"),
            delete_policies=tuple(data.get("delete_policies") or ()),
            delete_scheduled=tuple(data.get("delete_scheduled") or ()),
            put_policies=tuple(data.get("put_policies") or ()),
            put_scheduled=tuple(data.get("put_scheduled") or ()),
            notes=tuple(data.get("notes") or ()),
        )
    if kind == "wait":
        return WaitStep(
            timeout=float(data["timeout_seconds"]),
            checks=tuple(data["checks"]),
            poll=float(data["poll_seconds"]),
            circuit_breaker=bool(data["circuit_breaker"]),
            load_balancers=_load_balancers_from(data),
            strategy=str(data.get("strategy", "rolling")),
            stages=tuple(data.get("stages") or ()),
            bake=float(data.get("bake_seconds", 0.0)),
            shift_bake=float(data.get("shift_bake_seconds", 0.0)),
            codedeploy=_codedeploy_from(data.get("codedeploy")),
        )
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
            registries=tuple(data["registries"]),
            settings=tuple((str(k), str(v)) for k, v in data["settings"]),
            poll=float(data["poll_seconds"]),
            drain_timeout=float(data["drain_timeout_seconds"]),
        )
    if kind == "secret":
        return SecretStep(registry=data["registry"], name=data["name"], arn=data.get("arn"))
    raise ValueError(f"unknown step kind {kind!r}")


def from_dict(data: dict[str, Any], source: str = "plan file") -> Plan:
    """Read a saved plan; a plan of another format version is refused, not guessed at."""
    version = data.get("format_version") if isinstance(data, dict) else None
    if version not in READABLE_VERSIONS:
        older = isinstance(version, int) and version < min(READABLE_VERSIONS)
        raise InputError(
            Problem(
                f"{source} has format_version {version!r}; this ecsdeploy reads "
                + ", ".join(str(v) for v in READABLE_VERSIONS[:-1])
                + f" and {READABLE_VERSIONS[-1]}"
                + (
                    " (older plans were rebuilt from deploy.yaml at apply time; a plan now "
                    "carries every request apply sends)"
                    if older
                    else ""
                ),
                hint="plan again with this version of ecsdeploy: ecsdeploy plan --out FILE",
            )
        )
    if data.get("for_apply") is not True:
        raise InputError(
            Problem(
                f"{source} is the output of `plan --format json`, not a plan file: its "
                "secret-looking environment values are masked, so applying it would "
                "register the masks",
                hint="save the plan to apply with: ecsdeploy plan --out FILE",
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
                depends_on=tuple(s.get("depends_on", [])),
            )
            for s in data["services"]
        )
        inputs = data.get("inputs")
        return Plan(
            services=services,
            revision=data.get("revision"),
            environment=data.get("environment"),
            config_path=data["config"],
            region=data.get("region"),
            created_at=data["created_at"],
            tool_version=data["tool_version"],
            registries={k: _registry_from(k, r) for k, r in data["registries"].items()},
            clusters=tuple(data["clusters"]),
            inputs=None
            if inputs is None
            else Inputs(inputs["config"], dict(inputs["templates"]), inputs["variables"]),
            git_dirty=bool(data.get("git_dirty", False)),
            findings=tuple(
                Finding.from_dict(f) for s in data["services"] for f in s.get("findings", [])
            ),
            allow_downtime=bool(data["verdict"]["allow_downtime"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(Problem(f"{source} is not a valid plan: {exc!r}")) from None
