"""Checks the schema cannot express: references between sections, cycles, limits, credentials."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from ecsdeploy.errors import Problem

from .durations import parse_duration
from .loader import KeyPath, Positions
from .model import policy_name
from .strategy_checks import codedeploy_problems, strategy_problems

# Keys that would hold a credential's value; deploy.yaml names variables instead.
LITERAL_CREDENTIAL_KEYS = {
    "password": "password_env",
    "username": "username_env",
    "user": "username_env",
    "token": "password_env",
    "secret": "password_env",
    "auth": "username_env/password_env",
    "identitytoken": "password_env",
}


def _suggest(name: str, options: list[str]) -> str | None:
    close = difflib.get_close_matches(name, options, n=1)
    if close:
        return f"did you mean `{close[0]}`?"
    return f"defined: {', '.join(options)}" if options else "none is defined"


def literal_credentials(data: dict[str, Any], positions: Positions) -> list[Problem]:
    """A password written into deploy.yaml is refused with what to write instead.

    Runs before the schema so the user reads how to fix it, not "unknown key".
    """
    problems: list[Problem] = []
    registries = data.get("registries")
    overlays: list[tuple[KeyPath, dict[str, Any]]] = [((), data)]
    envs = data.get("environments")
    if isinstance(envs, dict):
        overlays += [(("environments", n), e) for n, e in envs.items() if isinstance(e, dict)]
    for prefix, doc in overlays:
        registries = doc.get("registries")
        if not isinstance(registries, dict):
            continue
        for key, registry in registries.items():
            if not isinstance(registry, dict):
                continue
            auth = registry.get("auth")
            if not isinstance(auth, dict):
                continue
            for field in auth:
                instead = LITERAL_CREDENTIAL_KEYS.get(field.lower())
                if instead is None:
                    continue
                path: KeyPath = (*prefix, "registries", key, "auth", field)
                suffix = "PASSWORD" if "pass" in instead else "USER"
                var = f"{key.upper().replace('-', '_')}_{suffix}"
                problems.append(
                    Problem(
                        f"a literal credential (`{field}`) does not belong in deploy.yaml",
                        positions.locate(path, key=True),
                        f"keep it in an environment variable and name it: `{instead}: {var}`"
                        if "/" not in instead
                        else "name environment variables with `username_env:` and "
                        "`password_env:`, or leave `auth` out to use the Docker config",
                    )
                )
    return problems


def references(data: dict[str, Any], positions: Positions, base_dir: Path) -> list[Problem]:
    """Cross-section references, deployment limits, durations and template files."""
    problems: list[Problem] = []
    registries = list(data.get("registries") or {})
    clusters = list(data.get("clusters") or {})
    services: dict[str, Any] = data.get("services") or {}

    for key, image in (data.get("images") or {}).items():
        reg = image.get("registry")
        if reg is not None and reg not in registries:
            problems.append(
                Problem(
                    f"unknown registry `{reg}`",
                    positions.locate(("images", key, "registry")),
                    _suggest(reg, registries),
                )
            )

    for key, svc in services.items():
        base: KeyPath = ("services", key)
        cluster = svc.get("cluster")
        if cluster is not None and cluster not in clusters:
            problems.append(
                Problem(
                    f"unknown cluster `{cluster}`",
                    positions.locate((*base, "cluster")),
                    _suggest(cluster, clusters),
                )
            )
        for i, dep in enumerate(svc.get("depends_on") or []):
            if dep == key:
                problems.append(
                    Problem(
                        "a service cannot depend on itself",
                        positions.locate((*base, "depends_on", i)),
                    )
                )
            elif dep not in services:
                problems.append(
                    Problem(
                        f"unknown service `{dep}`",
                        positions.locate((*base, "depends_on", i)),
                        _suggest(dep, list(services)),
                    )
                )
        dep_cfg = svc.get("deployment") or {}
        low = dep_cfg.get("minimum_healthy_percent", 100)
        high = dep_cfg.get("maximum_percent", 200)
        if isinstance(low, int) and isinstance(high, int) and high < low:
            field = "maximum_percent" if "maximum_percent" in dep_cfg else "minimum_healthy_percent"
            problems.append(
                Problem(
                    f"maximum_percent ({high}) is below minimum_healthy_percent ({low})",
                    positions.locate((*base, "deployment", field)),
                    f"set maximum_percent to at least {max(low, 100)}",
                )
            )
        entries = svc.get("load_balancers")
        lb_paths: list[KeyPath] = [("load_balancer",)] + [
            ("load_balancers", i) for i in range(len(entries) if isinstance(entries, list) else 0)
        ]
        problems += _load_balancer_problems(svc, base, positions)
        for dpath in (
            ("deployment", "timeout"),
            ("deployment", "poll_interval"),
            ("health_check_grace_period",),
            *(
                (*lb, "checks", check, part)
                for lb in lb_paths
                for check in ("http", "test_http")
                for part in ("interval", "timeout")
            ),
        ):
            value: Any = svc
            for part in dpath:
                if isinstance(part, int):
                    value = value[part] if isinstance(value, list) else None
                else:
                    value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                continue
            try:
                parse_duration(value)
            except ValueError as exc:
                problems.append(Problem(str(exc), positions.locate((*base, *dpath))))
        if "launch_type" in svc and "capacity_provider_strategy" in svc:
            problems.append(
                Problem(
                    "`launch_type` and `capacity_provider_strategy` together: ECS takes one "
                    "or the other",
                    positions.locate((*base, "capacity_provider_strategy"), key=True),
                    "keep `capacity_provider_strategy` (e.g. `[{capacity_provider: FARGATE, "
                    "weight: 1}]`) or `launch_type`, not both",
                )
            )
        strategy = svc.get("capacity_provider_strategy")
        if isinstance(strategy, list):
            names = [str(i.get("capacity_provider")) for i in strategy if isinstance(i, dict)]
            fargate = [n for n in names if n in ("FARGATE", "FARGATE_SPOT")]
            if fargate and len(fargate) < len(names):
                problems.append(
                    Problem(
                        "`capacity_provider_strategy` mixes Fargate and Auto Scaling group "
                        "capacity providers: ECS takes one kind or the other in a strategy",
                        positions.locate((*base, "capacity_provider_strategy"), key=True),
                        "use FARGATE/FARGATE_SPOT, or your Auto Scaling group providers",
                    )
                )
            if sum(1 for i in strategy if isinstance(i, dict) and i.get("base")) > 1:
                problems.append(
                    Problem(
                        "`capacity_provider_strategy`: only one provider may have a `base`",
                        positions.locate((*base, "capacity_provider_strategy"), key=True),
                        "keep `base` on one provider (the tasks placed there first)",
                    )
                )
        if isinstance(svc.get("autoscaling"), dict):
            problems += autoscaling_problems(key, svc, positions)
        if svc.get("scheduling_strategy") == "DAEMON":
            problems += _daemon_problems(svc, base, positions)
        problems += strategy_problems(svc, base, positions)
        problems += codedeploy_problems(svc, base, positions)
        overrides = svc.get("service_overrides")
        if isinstance(overrides, dict) and overrides:
            from .overrides import check_overrides

            problems += check_overrides(overrides, (*base, "service_overrides"), positions)
        template = svc.get("task_definition")
        if isinstance(template, str):
            tpath = (base_dir / template).resolve()
            where = positions.locate((*base, "task_definition"))
            if base_dir.resolve() not in tpath.parents:
                problems.append(
                    Problem(
                        f"template {template} is outside deploy.yaml's folder",
                        where,
                        "keep templates next to deploy.yaml, in it or below it",
                    )
                )
            elif not tpath.is_file():
                problems.append(
                    Problem(
                        f"template not found: {template}",
                        where,
                        "the path is relative to the folder of deploy.yaml",
                    )
                )
    problems += _cycles(services, positions)
    return problems


def _load_balancer_problems(
    svc: dict[str, Any], base: KeyPath, positions: Positions
) -> list[Problem]:
    """`load_balancer` and `load_balancers` together, and a target group named twice."""
    problems: list[Problem] = []
    if "load_balancer" in svc and "load_balancers" in svc:
        problems.append(
            Problem(
                "`load_balancer` and `load_balancers` together: `load_balancer` is the "
                "one-entry form of `load_balancers`",
                positions.locate((*base, "load_balancers"), key=True),
                "move the `load_balancer` entry into the `load_balancers` list, or keep one key",
            )
        )
    seen: dict[str, int] = {}
    for i, entry in enumerate(svc.get("load_balancers") or []):
        tg = entry.get("target_group") if isinstance(entry, dict) else None
        if not isinstance(tg, str):
            continue
        if tg in seen:
            problems.append(
                Problem(
                    f"target group {tg} is already load_balancers[{seen[tg]}]",
                    positions.locate((*base, "load_balancers", i, "target_group")),
                    "list each target group once",
                )
            )
        else:
            seen[tg] = i
    return problems


def autoscaling_problems(key: str, svc: dict[str, Any], positions: Positions) -> list[Problem]:
    """What the schema cannot say about `autoscaling:`: min <= max, no desired_count
    beside it, alb_requests behind a load balancer, unique names, whole-second cooldowns."""
    base: KeyPath = ("services", key, "autoscaling")
    scaling: dict[str, Any] = svc["autoscaling"]
    problems: list[Problem] = []
    if "desired_count" in svc:
        problems.append(
            Problem(
                "`desired_count` and `autoscaling` together: autoscaling owns the service's "
                "desired count",
                positions.locate(("services", key, "desired_count"), key=True),
                "leave `desired_count` out: a deploy must never set a service that autoscaling "
                "scaled out under load back to the file's number (a new service starts with "
                "`autoscaling.min` tasks)",
            )
        )
    low, high = scaling.get("min"), scaling.get("max")
    if isinstance(low, int) and isinstance(high, int) and high < low:
        problems.append(
            Problem(
                f"autoscaling max ({high}) is below min ({low})",
                positions.locate((*base, "max")),
                f"set max to at least {low}",
            )
        )
    names: dict[str, int] = {}
    name = str(svc.get("name", key))
    for i, policy in enumerate(scaling.get("target_tracking") or []):
        if not isinstance(policy, dict):
            continue
        where: KeyPath = (*base, "target_tracking", i)
        if policy.get("metric") == "alb_requests" and not (
            isinstance(svc.get("load_balancer"), dict) or svc.get("load_balancers")
        ):
            problems.append(
                Problem(
                    "metric `alb_requests` needs the service's load balancer: it counts the "
                    "requests its target group receives per task",
                    positions.locate((*where, "metric")),
                    "add `load_balancer:` (target_group, container, port) to the service, or "
                    "track `cpu` or `memory`",
                )
            )
        for which in ("scale_in_cooldown", "scale_out_cooldown"):
            if which not in policy:
                continue
            try:
                seconds = parse_duration(policy[which])
            except ValueError as exc:
                problems.append(Problem(str(exc), positions.locate((*where, which))))
                continue
            if seconds != int(seconds):
                problems.append(
                    Problem(
                        f"{which} must be whole seconds (Application Auto Scaling takes seconds)",
                        positions.locate((*where, which)),
                    )
                )
        if isinstance(policy.get("metric"), str):
            policy_key = str(policy.get("name") or policy_name(name, policy["metric"]))
            if policy_key in names:
                problems.append(
                    Problem(
                        f"two target-tracking policies are named `{policy_key}`",
                        positions.locate((*where, "name") if "name" in policy else where),
                        "give each its own `name:` (the default is the service name and the "
                        "metric)",
                    )
                )
            names[policy_key] = i
    scheduled_names: set[str] = set()
    for i, action in enumerate(scaling.get("scheduled") or []):
        if not isinstance(action, dict):
            continue
        where = (*base, "scheduled", i)
        low, high = action.get("min"), action.get("max")
        if isinstance(low, int) and isinstance(high, int) and high < low:
            problems.append(
                Problem(
                    f"scheduled action max ({high}) is below its min ({low})",
                    positions.locate((*where, "max")),
                    f"set max to at least {low}",
                )
            )
        action_name = action.get("name")
        if isinstance(action_name, str):
            if action_name in scheduled_names:
                problems.append(
                    Problem(
                        f"two scheduled actions are named `{action_name}`",
                        positions.locate((*where, "name")),
                        "scheduled action names are unique within a service",
                    )
                )
            scheduled_names.add(action_name)
    return problems


def _daemon_problems(svc: dict[str, Any], base: KeyPath, positions: Positions) -> list[Problem]:
    """What ECS refuses for a DAEMON service (one task on each container instance)."""
    problems: list[Problem] = []
    daemon = "with `scheduling_strategy: DAEMON`"
    if "desired_count" in svc:
        problems.append(
            Problem(
                f"`desired_count` {daemon}: ECS runs one task on each container instance "
                "and sets the count itself",
                positions.locate((*base, "desired_count"), key=True),
                "remove `desired_count`: the count follows the cluster's ACTIVE instances",
            )
        )
    if svc.get("launch_type") == "FARGATE":
        problems.append(
            Problem(
                f"`launch_type: FARGATE` {daemon}: Fargate has no container instances to run "
                "a task on each of",
                positions.locate((*base, "launch_type")),
                "use `launch_type: EC2` (or EXTERNAL), or `scheduling_strategy: REPLICA` "
                "on Fargate",
            )
        )
    if "capacity_provider_strategy" in svc:
        problems.append(
            Problem(
                f"`capacity_provider_strategy` {daemon}: ECS takes no capacity provider "
                "strategy for a DAEMON service",
                positions.locate((*base, "capacity_provider_strategy"), key=True),
                "remove it and write `launch_type: EC2` (without a launch type ECS uses the "
                "cluster's default capacity provider strategy, and refuses that too)",
            )
        )
    placement = svc.get("placement")
    if isinstance(placement, dict) and "strategy" in placement:
        problems.append(
            Problem(
                f"`placement.strategy` {daemon}: ECS takes no placement strategy for a DAEMON "
                "service, which places one task on each instance",
                positions.locate((*base, "placement", "strategy"), key=True),
                "remove `placement.strategy`; `placement.constraints` choose the instances",
            )
        )
    dep = svc.get("deployment")
    high = dep.get("maximum_percent") if isinstance(dep, dict) else None
    if isinstance(high, int) and high != 100:
        problems.append(
            Problem(
                f"`maximum_percent: {high}` {daemon}: ECS takes only 100, since a daemon task "
                "is replaced in place (the old one stops before the new one starts on its "
                "instance)",
                positions.locate((*base, "deployment", "maximum_percent")),
                "remove `maximum_percent` (100 for a DAEMON service); "
                "`minimum_healthy_percent` says how many instances keep serving",
            )
        )
    return problems


def _cycles(services: dict[str, Any], positions: Positions) -> list[Problem]:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    problems: list[Problem] = []

    def visit(key: str, trail: list[str]) -> None:
        state[key] = 1
        for dep in services[key].get("depends_on") or []:
            if dep not in services or dep == key:
                continue
            if state.get(dep) == 1:
                cycle = [*trail[trail.index(dep) :], dep] if dep in trail else [key, dep]
                problems.append(
                    Problem(
                        "depends_on forms a cycle: " + " -> ".join(cycle),
                        positions.locate(("services", key, "depends_on")),
                        "remove one of these dependencies",
                    )
                )
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[key] = 2

    for key in services:
        if key not in state:
            visit(key, [key])
    return problems
