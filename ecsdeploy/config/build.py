"""From a parsed deploy.yaml to the model: environment overlay, variables, validation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ecsdeploy.errors import InputError, Location, Problem

from . import model as m
from .checks import literal_credentials, references
from .durations import parse_duration
from .loader import KeyPath, Positions, SourceDoc
from .schema import validate_against_schema
from .service_keys import build_alarms, build_keys

_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OVERLAY_SECTIONS = ("registries", "images", "clusters", "services")


def parse_cli_vars(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`--var k=v` pairs; a malformed one is an input error (exit 3)."""
    result: dict[str, str] = {}
    problems: list[Problem] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not _VAR_NAME.match(key):
            problems.append(
                Problem(
                    f"--var {pair!r}: expected NAME=VALUE",
                    hint="a name of letters, digits and `_`, e.g. --var log_level=debug",
                )
            )
            continue
        result[key] = value
    if problems:
        raise InputError(problems)
    return result


def environment_names(doc: SourceDoc) -> list[str]:
    envs = doc.data.get("environments")
    return list(envs) if isinstance(envs, dict) else []


def _deep_merge(base: Any, overlay: Any) -> Any:
    """Mappings merge key by key; anything else in the overlay replaces the base."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = _deep_merge(base.get(key), value) if key in base else value
        return merged
    return overlay


def _rebase(positions: Positions, prefix: KeyPath) -> Positions:
    """Positions of an overlay's nodes, re-keyed to where they land in the merged document."""
    n = len(prefix)
    return Positions(
        positions.file,
        {k[n:]: v for k, v in positions.values.items() if k[:n] == prefix and len(k) > n},
        {k[n:]: v for k, v in positions.keys.items() if k[:n] == prefix and len(k) > n},
    )


def overlay_environment(doc: SourceDoc, env: str | None) -> tuple[dict[str, Any], Positions]:
    """The document with environment `env` laid over it (`-e NAME`)."""
    data = {k: v for k, v in doc.data.items() if k != "environments"}
    if env is None:
        return data, doc.positions
    names = environment_names(doc)
    if env not in names:
        where = doc.positions.locate(("environments",), key=True)
        raise InputError(
            Problem(
                f"unknown environment `{env}`",
                Location(where.file, where.line, where.column, "environments")
                if names
                else Location(doc.positions.file),
                f"defined: {', '.join(names)}" if names else "deploy.yaml has no `environments:`",
            )
        )
    overlay = doc.data["environments"][env] or {}
    if not isinstance(overlay, dict):
        return data, doc.positions
    merged = _deep_merge(data, overlay)
    return merged, doc.positions.merged(_rebase(doc.positions, ("environments", env)))


def _opt_duration(value: Any, default: float | None) -> float | None:
    return default if value is None else parse_duration(value)


def _registry(key: str, d: dict[str, Any]) -> m.Registry:
    auth = None
    if isinstance(d.get("auth"), dict):
        a = d["auth"]
        auth = m.RegistryAuth(
            username_env=a.get("username_env"),
            password_env=a.get("password_env"),
            email=a.get("email"),
            auth_type=a.get("auth_type", "dockercfg"),
            mode=a.get("mode", "ecs_config"),
            secret_name=a.get("secret_name"),
        )
    return m.Registry(
        key=key,
        type=d["type"],
        url=str(d["url"]).rstrip("/"),
        insecure=bool(d.get("insecure", False)),
        auth=auth,
        ecs_config=bool(d.get("ecs_config", False)),
    )


def _service(key: str, d: dict[str, Any], base_dir: Path, global_vars: dict[str, Any]) -> m.Service:
    dep = d.get("deployment") or {}
    cb = dep.get("circuit_breaker", True)
    breaker = (
        m.CircuitBreaker(enable=cb, rollback=cb)
        if isinstance(cb, bool)
        else m.CircuitBreaker(enable=cb.get("enable", True), rollback=cb.get("rollback", True))
    )
    # ECS's defaults differ for a DAEMON service: it replaces a task in place
    # (stop, then start on the same instance), so 0% and 100%.
    daemon = d.get("scheduling_strategy") == "DAEMON"
    deployment = m.Deployment(
        minimum_healthy_percent=dep.get("minimum_healthy_percent", 0 if daemon else 100),
        maximum_percent=dep.get("maximum_percent", 100 if daemon else 200),
        circuit_breaker=breaker,
        timeout=parse_duration(dep.get("timeout", "15m")),
        poll_interval=parse_duration(dep.get("poll_interval", "5s")),
        alarms=build_alarms(dep.get("alarms")),
        codedeploy=None
        if dep.get("codedeploy") is None
        else m.CodeDeployGroupRef(
            application=dep["codedeploy"]["application"],
            deployment_group=dep["codedeploy"].get("deployment_group"),
        ),
        **_strategy(dep),
    )
    if isinstance(d.get("load_balancer"), dict):
        lbs: tuple[m.LoadBalancer, ...] = (_load_balancer(d["load_balancer"], "load_balancer"),)
    else:
        lbs = tuple(
            _load_balancer(lbd, f"load_balancers[{i}]")
            for i, lbd in enumerate(d.get("load_balancers") or [])
        )
    network = None
    if isinstance(d.get("network"), dict):
        n = d["network"]
        network = m.Network(
            subnets=tuple(n.get("subnets") or ()),
            security_groups=tuple(n.get("security_groups") or ()),
            assign_public_ip=bool(n.get("assign_public_ip", False)),
        )
    return m.Service(
        key=key,
        cluster=d["cluster"],
        name=d.get("name", key),
        task_definition=(base_dir / d["task_definition"]).resolve(),
        desired_count=d.get("desired_count"),
        deployment=deployment,
        load_balancers=lbs,
        zero_downtime=d.get("zero_downtime", True),
        vars={**global_vars, **(d.get("vars") or {})},
        keep_revisions=d.get("keep_revisions", 5),
        depends_on=tuple(d.get("depends_on") or ()),
        launch_type=d.get("launch_type"),
        network=network,
        health_check_grace_period=_opt_duration(d.get("health_check_grace_period"), None),
        enable_execute_command=d.get("enable_execute_command"),
        tags=None if d.get("tags") is None else {str(k): str(v) for k, v in d["tags"].items()},
        propagate_tags=d.get("propagate_tags"),
        platform_version=d.get("platform_version"),
        placement=_placement(d.get("placement") or {}),
        capacity_provider_strategy=None
        if d.get("capacity_provider_strategy") is None
        else tuple(
            m.CapacityProvider(
                capacity_provider=i["capacity_provider"],
                weight=i.get("weight", 0),
                base=i.get("base", 0),
            )
            for i in d["capacity_provider_strategy"]
        ),
        scheduling_strategy=d.get("scheduling_strategy"),
        service_overrides=dict(d.get("service_overrides") or {}),
        autoscaling=None
        if d.get("autoscaling") is None
        else _autoscaling(d["autoscaling"], d.get("name", key)),
        **build_keys(d),
    )


def _strategy(dep: dict[str, Any]) -> dict[str, Any]:
    """`deployment.strategy` and what goes with it, as m.Deployment's fields."""
    strategy = dep.get("strategy", "rolling")
    out: dict[str, Any] = {"strategy": strategy}
    if strategy != "rolling":
        out["bake_time"] = parse_duration(dep.get("bake_time", "5m"))
    if strategy == "linear":
        lin = dep.get("linear") or {}
        out["linear"] = m.LinearShift(
            step_percent=float(lin.get("step_percent", 10)),
            step_bake_time=parse_duration(lin.get("step_bake_time", "6m")),
        )
    if strategy == "canary":
        can = dep.get("canary") or {}
        out["canary"] = m.CanaryShift(
            percent=float(can.get("percent", 5)),
            bake_time=parse_duration(can.get("bake_time", "10m")),
        )
    if dep.get("hooks") is not None:
        out["hooks"] = tuple(
            m.LifecycleHook(
                stages=tuple(
                    s.upper()
                    for s in (h["stage"] if isinstance(h["stage"], list) else [h["stage"]])
                ),
                function=h["lambda"],
                role=h["role"],
                timeout=_opt_duration(h.get("timeout"), None),
                on_timeout=h.get("on_timeout", "rollback"),
                details=h.get("details"),
            )
            for h in dep["hooks"]
        )
    return out


def _autoscaling(d: dict[str, Any], service_name: str) -> m.Autoscaling:
    return m.Autoscaling(
        min=d["min"],
        max=d["max"],
        target_tracking=tuple(
            m.TargetTracking(
                metric=t["metric"],
                target=float(t["target"]),
                name=t.get("name") or m.policy_name(service_name, t["metric"]),
                scale_in_cooldown=_opt_duration(t.get("scale_in_cooldown"), None),
                scale_out_cooldown=_opt_duration(t.get("scale_out_cooldown"), None),
                disable_scale_in=bool(t.get("disable_scale_in", False)),
            )
            for t in d.get("target_tracking") or ()
        ),
        scheduled=tuple(
            m.ScheduledScaling(
                name=a["name"],
                schedule=a["schedule"],
                timezone=a.get("timezone"),
                min=a.get("min"),
                max=a.get("max"),
            )
            for a in d.get("scheduled") or ()
        ),
    )


def _http_check(h: Any) -> m.HttpCheck | None:
    if not isinstance(h, dict):
        return None
    return m.HttpCheck(
        url=h["url"],
        expect_status=h.get("expect_status", 200),
        body=h.get("body"),
        attempts=h.get("attempts", 5),
        interval=parse_duration(h.get("interval", "5s")),
        timeout=parse_duration(h.get("timeout", "5s")),
    )


def _load_balancer(lbd: dict[str, Any], label: str) -> m.LoadBalancer:
    checks = lbd.get("checks") or {}
    return m.LoadBalancer(
        target_group=lbd["target_group"],
        container=lbd["container"],
        port=lbd["port"],
        checks=m.LoadBalancerChecks(
            targets_healthy=checks.get("targets_healthy", True),
            http=_http_check(checks.get("http")),
            test_http=_http_check(checks.get("test_http")),
        ),
        alternate_target_group=lbd.get("alternate_target_group"),
        production_listener_rule=lbd.get("production_listener_rule"),
        test_listener_rule=lbd.get("test_listener_rule"),
        role=lbd.get("role"),
        label=label,
    )


def _placement(d: dict[str, Any]) -> m.Placement:
    constraints = d.get("constraints")
    strategy = d.get("strategy")
    return m.Placement(
        constraints=None
        if constraints is None
        else tuple(m.PlacementConstraint(c["type"], c.get("expression")) for c in constraints),
        strategy=None
        if strategy is None
        else tuple(m.PlacementStrategy(s["type"], s.get("field")) for s in strategy),
    )


def build_config(
    doc: SourceDoc, env: str | None = None, cli_vars: dict[str, str] | None = None
) -> m.Config:
    """Validate the document (with `env` overlaid) and build the model, or raise InputError."""
    problems = literal_credentials(doc.data, doc.positions)
    if problems:
        raise InputError(problems)
    # The whole file first (environments included), so a typo in any overlay is found
    # whichever -e is chosen; then the merged result, whose required keys may come
    # from the overlay.
    problems = validate_against_schema(doc.data, doc.positions)
    if problems:
        raise InputError(problems)
    data, positions = overlay_environment(doc, env)
    if env is not None:
        problems = validate_against_schema(data, positions)
        if problems:
            raise InputError(problems)
    base_dir = doc.path.parent
    problems = references(data, positions, base_dir)
    if problems:
        raise InputError(problems)

    cli_vars = cli_vars or {}
    global_vars = {**(data.get("vars") or {})}
    services = {}
    for key, svc in data["services"].items():
        built = _service(key, svc, base_dir, global_vars)
        # --var wins over every level: it is what the person running the command asked.
        services[key] = _with_vars(built, {**built.vars, **cli_vars})
    return m.Config(
        path=doc.path,
        version=data["version"],
        region=data.get("region"),
        environment=env,
        vars={**global_vars, **cli_vars},
        registries={k: _registry(k, v) for k, v in (data.get("registries") or {}).items()},
        images={
            k: m.Image(
                key=k,
                registry=v["registry"],
                repository=v["repository"],
                tag=v.get("tag", "{{ git.short_sha }}"),
                promote=v.get("promote"),
                local=v.get("local"),
            )
            for k, v in (data.get("images") or {}).items()
        },
        clusters={
            k: m.Cluster(
                key=k,
                name=v["name"],
                ecs_config=m.ClusterEcsConfig(
                    settings={
                        sk: _agent_value(sv)
                        for sk, sv in ((v.get("ecs_config") or {}).get("settings") or {}).items()
                    },
                    drain=bool((v.get("ecs_config") or {}).get("drain", False)),
                ),
            )
            for k, v in data["clusters"].items()
        },
        services=services,
        positions=positions,
    )


def _agent_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _with_vars(service: m.Service, vars: dict[str, Any]) -> m.Service:
    from dataclasses import replace

    return replace(service, vars=vars)
