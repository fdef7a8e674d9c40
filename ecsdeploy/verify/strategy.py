"""The rules of blue_green, linear and canary deployments: facts -> findings, pure.

These strategies run a second set of tasks in the alternate target group and
move traffic to it by rewriting the weights of a listener rule's forward action,
with an IAM role ECS assumes; lifecycle hooks are Lambda functions ECS invokes
with another role. What ECS refuses (UpdateService fails) or rolls back for is
an error here, found before anything changes. Sources: the ECS developer
guide's "Required resources for Amazon ECS blue/green deployments", its
Application and Network Load Balancer resource pages, its blue/green, linear
and canary pages (each scales the new revision up to 100% before traffic
moves), and "Troubleshooting Amazon ECS blue/green deployments" (the errors
ECS gives for each misconfigured listener rule, target group and role).

Capacity for the second set of tasks is judged with the other capacity rules,
in `rules.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ecsdeploy.config.durations import format_duration
from ecsdeploy.config.model import LoadBalancer, Service
from ecsdeploy.findings import Finding
from ecsdeploy.plan.strategy import shift_bake

from .rules import ListenerRuleFacts, ServiceFacts, TargetGroupFacts, role_name

# The service principal ECS assumes the load balancers' role and the hooks' roles as
# (not ecs-tasks.amazonaws.com, which is the task roles').
ECS_PRINCIPAL = "ecs.amazonaws.com"
TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"
# ECS adds this to the test and the production traffic shift behind a Network Load
# Balancer, for its data plane to follow the new weights.
NLB_SHIFT_DELAY = 600


@dataclass(frozen=True)
class ElbArn:
    """What an Elastic Load Balancing ARN names, read from the ARN itself."""

    kind: str  # "listener-rule", "listener", another resource type, or "" (not ELB's)
    lb_type: str  # "app", "net", "gwy"; "" when the ARN names no listener
    load_balancer: str  # the load balancer's ARN ("" likewise)
    listener: str  # the listener's ARN ("" likewise)


def parse_elb_arn(arn: str) -> ElbArn:
    """`arn:aws:elasticloadbalancing:R:A:listener-rule/app/NAME/LB/LISTENER/RULE` (or
    `listener/net/NAME/LB/LISTENER`) -> its kind, load balancer type and parents."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "elasticloadbalancing":
        return ElbArn("", "", "", "")
    prefix = ":".join(parts[:5])
    path = parts[5].split("/")
    kind = path[0]
    wanted = {"listener": 5, "listener-rule": 6}.get(kind)
    if wanted is None or len(path) != wanted or not all(path):
        return ElbArn(kind, "", "", "")
    lb_type, name, lb_id, listener_id = path[1:5]
    return ElbArn(
        kind,
        lb_type,
        f"{prefix}:loadbalancer/{lb_type}/{name}/{lb_id}",
        f"{prefix}:listener/{lb_type}/{name}/{lb_id}/{listener_id}",
    )


def load_balancer_name(arn: str) -> str:
    """`arn:…:loadbalancer/app/NAME/0123` -> NAME (the ARN itself when it is not one)."""
    path = arn.split(":", 5)[-1].split("/")
    return path[2] if len(path) == 4 and path[0] == "loadbalancer" else arn


def shift_roles(service: Service) -> dict[str, str]:
    """Role name -> where deploy.yaml names it: the load balancers' roles and the hooks'."""
    found: dict[str, str] = {}
    if not service.deployment.traffic_shifting:
        return found
    for lb in service.load_balancers:
        if lb.role:
            found.setdefault(role_name(lb.role), f"{lb.label}.role")
    for i, hook in enumerate(service.deployment.hooks or ()):
        found.setdefault(role_name(hook.role), f"deployment.hooks[{i}].role")
    return found


def listener_rule_arns(service: Service) -> list[str]:
    """The production and test listener rules (or listeners) deploy.yaml names."""
    if not service.deployment.traffic_shifting:
        return []
    arns = [
        arn
        for lb in service.load_balancers
        for arn in (lb.production_listener_rule, lb.test_listener_rule)
        if arn
    ]
    return list(dict.fromkeys(arns))


def hook_functions(service: Service) -> list[str]:
    if not service.deployment.traffic_shifting:
        return []
    return list(dict.fromkeys(h.function for h in service.deployment.hooks or ()))


def _error(service: Service, rule: str, message: str, why: str, fix: str | None) -> Finding:
    return Finding("error", service.key, message, why, fix, rule)


def _of(lb: LoadBalancer) -> str:
    return "" if lb.label == "load_balancer" else f" ({lb.label})"


# --- the rules ----------------------------------------------------------------------------


def strategy_findings(service: Service, facts: ServiceFacts) -> list[Finding]:
    """What blue_green, linear and canary need of AWS; nothing for a rolling deployment."""
    if not service.deployment.traffic_shifting:
        return []
    found = rolling_settings_findings(service)
    for lb in service.load_balancers:
        found += _entry_findings(service, lb, facts)
    found += _duplicate_findings(service, facts)
    found += _role_findings(service, facts)
    found += _function_findings(service, facts)
    return found


def rolling_settings_findings(service: Service) -> list[Finding]:
    """A note when deploy.yaml sets the rolling percentages for a strategy they do not pace."""
    dep = service.deployment
    if (dep.minimum_healthy_percent, dep.maximum_percent) == (100, 200):
        return []
    return [
        Finding(
            "note",
            service.key,
            f"minimum_healthy_percent {dep.minimum_healthy_percent} and maximum_percent "
            f"{dep.maximum_percent} pace rolling deployments; a {dep.strategy} deployment "
            "starts the new revision's full count beside the old one whatever they say",
            "ECS scales the new revision up to 100% before it moves any traffic and stops the "
            "old tasks only after the bake time, so the cluster needs room for both sets at "
            "once, not the share these settings suggest",
            "remove them from deploy.yaml unless the service goes back to `strategy: rolling`",
            "rolling-settings",
        )
    ]


def _entry_findings(service: Service, lb: LoadBalancer, facts: ServiceFacts) -> list[Finding]:
    found: list[Finding] = []
    primary = facts.target_groups.get(lb.target_group)
    alternate: TargetGroupFacts | None = None
    if lb.alternate_target_group:
        alternate = facts.target_groups.get(lb.alternate_target_group)
        if alternate is None:
            like = f"like {primary.name} " if primary is not None else ""
            found.append(
                _error(
                    service,
                    "alternate-target-group",
                    f"alternate target group {lb.alternate_target_group!r}{_of(lb)} does not exist",
                    "ECS registers the new revision's tasks in the alternate target group "
                    "before it moves any traffic: without it the service update fails",
                    f"create it {like}(same VPC, protocol, port and target type, behind the "
                    f"same load balancer), or fix {lb.label}.alternate_target_group",
                )
            )
        elif primary is not None:
            found += _alternate_findings(service, lb, primary, alternate)
    pair = (
        (primary, alternate)
        if primary is not None and alternate is not None and primary.arn != alternate.arn
        else None
    )
    rules: dict[str, ListenerRuleFacts | None] = {}
    for which, arn in (
        ("production", lb.production_listener_rule),
        ("test", lb.test_listener_rule),
    ):
        if arn:
            problems, rule = _rule_findings(service, lb, which, arn, primary, pair, facts)
            found += problems
            rules[which] = rule
    production = rules.get("production")
    # A test rule deploy.yaml names that is wrong is said above; which target groups it
    # would forward to is unknown then.
    test_known = not lb.test_listener_rule or rules.get("test") is not None
    if pair is not None and production is not None and test_known:
        found += _traffic_findings(service, lb, production, rules.get("test"), pair)
    test = rules.get("test")
    if (
        production is not None
        and test is not None
        and production.listener == test.listener
        and lb.checks.test_http is not None
    ):
        found.append(
            Finding(
                "note",
                service.key,
                f"the test listener rule{_of(lb)} is on the same listener as the production "
                "listener rule: checks.test_http reaches the new revision only if its request "
                "meets the test rule's conditions",
                "on one listener the load balancer sends each request to the first rule whose "
                "conditions it meets; a request that does not meet the test rule's (a header, "
                "a path) goes to the production rule, and checks the old revision",
                "give the test rule a listener of its own (e.g. port 8443), or make sure "
                "test_http's URL meets the test rule's conditions",
                "test-listener",
            )
        )
    return found


def _alternate_findings(
    service: Service, lb: LoadBalancer, primary: TargetGroupFacts, alternate: TargetGroupFacts
) -> list[Finding]:
    found: list[Finding] = []
    name = alternate.name
    if alternate.arn == primary.arn:
        return [
            _error(
                service,
                "alternate-target-group",
                f"alternate target group {lb.alternate_target_group!r}{_of(lb)} is the target "
                f"group {primary.name} itself",
                "ECS needs a second target group for the new tasks while the old ones keep "
                "serving from the first, and refuses the same target group twice",
                f"create a second target group like {primary.name}, behind the same load "
                f"balancer, and name it in {lb.label}.alternate_target_group",
            )
        ]
    differences = [
        f"{what} {getattr(alternate, attr)} (not {getattr(primary, attr)})"
        for what, attr in (
            ("VPC", "vpc_id"),
            ("protocol", "protocol"),
            ("target type", "target_type"),
        )
        if getattr(alternate, attr) != getattr(primary, attr)
    ]
    if differences:
        found.append(
            _error(
                service,
                "alternate-target-group",
                f"alternate target group {name}{_of(lb)} differs from target group "
                f"{primary.name}: {', '.join(differences)}",
                "the two target groups swap roles with every deployment: ECS registers the "
                "same tasks in either and moves the traffic between them, so both must take "
                "the tasks' addresses the same way (target type, VPC) and speak the "
                "application's protocol",
                f"recreate {name} with the settings of {primary.name} (--protocol "
                f"{primary.protocol} --port {primary.port} --vpc-id {primary.vpc_id} "
                f"--target-type {primary.target_type})",
            )
        )
    settings = [
        f"{what} {getattr(alternate, attr)} (not {getattr(primary, attr)})"
        for what, attr in (("port", "port"), ("health check path", "health_check_path"))
        if getattr(alternate, attr) != getattr(primary, attr)
    ]
    if settings:
        found.append(
            Finding(
                "warning",
                service.key,
                f"alternate target group {name}{_of(lb)} is set up unlike target group "
                f"{primary.name}: {', '.join(settings)}",
                "each deployment judges the new revision by the health check of the target "
                "group it lands in, and the two swap roles every time: one release would be "
                "checked one way, the next another",
                f"give {name} the port and health check of {primary.name}",
                "alternate-target-group-settings",
            )
        )
    if not alternate.health_check_enabled:
        found.append(
            Finding(
                "error",
                service.key,
                f"alternate target group {name}{_of(lb)} has its health check disabled",
                "the new revision's tasks land in it: the load balancer sends them traffic as "
                "soon as they are registered, and ECS cannot tell a broken release from a good "
                "one before moving production traffic",
                f"enable the health check of {name} (the same as {primary.name}'s)",
                "health-check",
                downtime=True,
            )
        )
    if (
        primary.load_balancers
        and alternate.load_balancers
        and not set(primary.load_balancers) & set(alternate.load_balancers)
    ):
        found.append(
            _error(
                service,
                "alternate-target-group",
                f"alternate target group {name}{_of(lb)} is behind load balancer "
                f"{_names(alternate.load_balancers)}, target group {primary.name} behind "
                f"{_names(primary.load_balancers)}",
                "ECS moves the production listener rule's traffic from one target group to "
                "the other, and a listener rule forwards only to target groups of its own "
                "load balancer",
                f"use an alternate target group behind the load balancer of {primary.name}",
            )
        )
    return found


def _names(load_balancers: tuple[str, ...] | list[str]) -> str:
    return ", ".join(load_balancer_name(a) for a in load_balancers)


def _rule_findings(
    service: Service,
    lb: LoadBalancer,
    which: str,
    arn: str,
    primary: TargetGroupFacts | None,
    pair: tuple[TargetGroupFacts, TargetGroupFacts] | None,
    facts: ServiceFacts,
) -> tuple[list[Finding], ListenerRuleFacts | None]:
    """One listener rule: its ARN, that it exists, its load balancer and its actions.

    Returns the findings and the rule when the traffic checks can go on with it.
    """
    key = f"{lb.label}.{which}_listener_rule"
    what = f"the {which} listener rule{_of(lb)}"
    parsed = parse_elb_arn(arn)
    wrong: str | None = None
    fix = ""
    if parsed.kind == "listener" and parsed.lb_type == "app":
        wrong = f"{key} is the ARN of an Application Load Balancer listener, not of a listener rule"
        fix = (
            f"give the ARN of the rule that forwards to the target groups (aws elbv2 "
            f"describe-rules --listener-arn {arn})"
        )
    elif parsed.kind == "listener-rule" and parsed.lb_type != "app":
        wrong = f"{key} is a listener rule of a load balancer that is not an Application one"
        fix = "give the ARN of the Network Load Balancer's listener"
    elif parsed.kind not in ("listener", "listener-rule") or not parsed.lb_type:
        wrong = f"{key} is not the ARN of a listener rule or of a listener: {arn}"
        fix = (
            "give arn:aws:elasticloadbalancing:…:listener-rule/app/… (an Application Load "
            "Balancer's rule) or …:listener/net/… (a Network Load Balancer's listener)"
        )
    if wrong is not None:
        return [
            _error(
                service,
                "listener-rule",
                wrong,
                "ECS moves traffic with an Application Load Balancer's listener rule or a "
                "Network Load Balancer's listener, and refuses any other ARN: the service "
                "update fails",
                fix,
            )
        ], None
    rule = facts.listener_rules.get(arn)
    if rule is None:
        return [
            _error(
                service,
                "listener-rule",
                f"{what} does not exist: {arn}",
                f"ECS moves the {which} traffic by changing this rule's forward action: with "
                "no such rule the service update fails",
                f"fix {key} (aws elbv2 describe-rules --listener-arn … lists a listener's rules)",
            )
        ], None
    found: list[Finding] = []
    if (
        primary is not None
        and primary.load_balancers
        and rule.load_balancer not in (primary.load_balancers)
    ):
        found.append(
            _error(
                service,
                "listener-rule",
                f"{what} is on load balancer {load_balancer_name(rule.load_balancer)}, target "
                f"group {primary.name} behind {_names(primary.load_balancers)}",
                "a listener rule forwards only to target groups of its own load balancer: ECS "
                "could not move this rule's traffic to the service's tasks",
                f"give the rule of a listener of {_names(primary.load_balancers)}",
            )
        )
    if rule.other_actions or not rule.forwards:
        others = ", ".join(rule.other_actions)
        found.append(
            _error(
                service,
                "listener-rule",
                f"{what} has {others} actions beside its forward action"
                if rule.forwards
                else f"{what} does not forward to target groups"
                + (f" (its actions: {others})" if others else ""),
                "ECS moves traffic by rewriting the target group weights of the rule's forward "
                "action, and does not support rules that mix forward with other actions "
                "(authenticate, redirect, fixed-response): the deployment fails",
                "use a rule whose only action forwards to the service's target groups",
            )
        )
        return found, None
    if pair is not None:
        expected = {pair[0].arn, pair[1].arn}
        unexpected = [a for a in rule.forwards if a not in expected]
        if unexpected:
            found.append(
                _error(
                    service,
                    "listener-rule-target-groups",
                    f"{what} also forwards to {_tg_names(unexpected)}, neither "
                    f"{pair[0].name} nor its alternate {pair[1].name}",
                    "ECS expects the rule to forward to the service's two target groups "
                    "only, and rolls the deployment back when it finds another one",
                    f"remove {_tg_names(unexpected)} from the rule's forward action",
                )
            )
    return found, rule


def _tg_names(arns: list[str]) -> str:
    def name(arn: str) -> str:
        return arn.split("targetgroup/", 1)[1].split("/")[0] if "targetgroup/" in arn else arn

    names = [name(a) for a in arns]
    return ("target group " if len(names) == 1 else "target groups ") + ", ".join(names)


def _traffic_findings(
    service: Service,
    lb: LoadBalancer,
    production: ListenerRuleFacts,
    test: ListenerRuleFacts | None,
    pair: tuple[TargetGroupFacts, TargetGroupFacts],
) -> list[Finding]:
    """Which target group carries the production traffic now, and that ECS finds both."""
    found: list[Finding] = []
    primary, alternate = pair
    ours = {tg.arn: tg.name for tg in pair}
    serving = [(ours[a], w) for a, w in production.forwards.items() if a in ours and w > 0]
    if len(serving) != 1:
        shares = ", ".join(f"{n} weight {w}" for n, w in serving)
        found.append(
            _error(
                service,
                "listener-rule-target-groups",
                f"the production listener rule{_of(lb)} sends traffic to {len(serving)} target "
                f"groups ({shares}); ECS expects exactly one"
                if serving
                else f"the production listener rule{_of(lb)} sends traffic to neither "
                f"{primary.name} nor {alternate.name} (every weight is 0)",
                "before a deployment one target group carries all production traffic and the "
                "other none: ECS rolls back a deployment that finds the traffic split",
                f"set the weight of the target group serving now to 1 and the other's to 0 "
                f"(aws elbv2 modify-rule --rule-arn {production.arn} --actions …)",
            )
        )
    if parse_elb_arn(production.arn).lb_type != "app":
        return found  # a Network Load Balancer's listener forwards to one target group
    missing = [
        tg
        for tg in pair
        if tg.arn not in production.forwards and (test is None or tg.arn not in test.forwards)
    ]
    if missing and test is None:
        names = " and ".join(tg.name for tg in missing)
        found.append(
            _error(
                service,
                "listener-rule-target-groups",
                f"the production listener rule{_of(lb)} does not forward to {names}, and "
                "there is no test listener rule",
                "with an Application Load Balancer ECS refuses a production listener rule "
                "that does not list both target groups unless a test listener rule lists the "
                "other (testListenerRule is then required): the service update fails",
                f"add {names} to the rule's forward action with weight 0, or set "
                f"{lb.label}.test_listener_rule to a rule forwarding to {names}",
            )
        )
    elif missing:
        names = " and ".join(tg.name for tg in missing)
        found.append(
            _error(
                service,
                "listener-rule-target-groups",
                f"neither the production nor the test listener rule{_of(lb)} forwards to {names}",
                "ECS rolls the deployment back when a target group of the service is "
                "associated with neither listener rule: it could not move traffic to it",
                f"add {names} to the production rule's forward action with weight 0, or to "
                "the test rule's",
            )
        )
    return found


def _duplicate_findings(service: Service, facts: ServiceFacts) -> list[Finding]:
    """A target group named by two load balancer entries (either as target or alternate)."""
    seen: dict[str, str] = {}
    found: list[Finding] = []
    for lb in service.load_balancers:
        for key, ref in (
            ("target_group", lb.target_group),
            ("alternate_target_group", lb.alternate_target_group),
        ):
            tg = facts.target_groups.get(ref) if ref else None
            if tg is None:
                continue
            where = f"{lb.label}.{key}"
            first = seen.setdefault(tg.arn, where)
            if first != where and not first.startswith(f"{lb.label}."):
                found.append(
                    _error(
                        service,
                        "alternate-target-group",
                        f"target group {tg.name} is named by both {first} and {where}",
                        "ECS refuses a service whose load balancer entries share a target "
                        "group (Duplicate targetGroupArn): each entry moves its own traffic "
                        "between its own two target groups",
                        f"give {where} a target group of its own",
                    )
                )
    return found


def _role_findings(service: Service, facts: ServiceFacts) -> list[Finding]:
    found: list[Finding] = []
    for name, where in shift_roles(service).items():
        if name not in facts.shift_roles:
            continue  # not looked up
        trusted = facts.shift_roles[name]
        hook = where.startswith("deployment.hooks")
        rule = "hook-role" if hook else "load-balancer-role"
        does = (
            "invokes the lifecycle hook's Lambda function"
            if hook
            else "changes the listener rules and registers the tasks in the target groups"
        )
        if trusted is None:
            policy = (
                "a policy allowing lambda:InvokeFunction on the hook's function"
                if hook
                else "the managed policy AmazonECSInfrastructureRolePolicyForLoadBalancers"
            )
            found.append(
                _error(
                    service,
                    rule,
                    f"IAM role {name} ({where}) does not exist",
                    f"ECS assumes this role when it {does}: the service update fails without it",
                    f"create the role, trusted by {ECS_PRINCIPAL}, with {policy}; or fix {where}",
                )
            )
        elif ECS_PRINCIPAL not in trusted and "*" not in trusted:
            listed = ", ".join(sorted(trusted)) or "no AWS service"
            fix = (
                f"add a statement allowing the service principal {ECS_PRINCIPAL} to "
                "sts:AssumeRole to the role's trust policy"
            )
            if TASKS_PRINCIPAL in trusted:
                fix += f" ({TASKS_PRINCIPAL} is the principal of task roles, not of this one)"
            found.append(
                _error(
                    service,
                    rule,
                    f"IAM role {name} ({where}) does not trust {ECS_PRINCIPAL} (its trust "
                    f"policy lets {listed} assume it)",
                    f"ECS assumes this role when it {does}: it cannot, and the deployment rolls "
                    "back",
                    fix,
                )
            )
    return found


def _function_findings(service: Service, facts: ServiceFacts) -> list[Finding]:
    found: list[Finding] = []
    for i, hook in enumerate(service.deployment.hooks or ()):
        if facts.hook_functions.get(hook.function) is not False:
            continue
        stages = ", ".join(hook.stages)
        found.append(
            _error(
                service,
                "hook-function",
                f"Lambda function {hook.function} (deployment.hooks[{i}].lambda) does not exist",
                f"ECS invokes it at {stages}: a hook it cannot invoke fails, and the deployment "
                "rolls back",
                f"create the function (in the service's region, or give its ARN), or fix "
                f"deployment.hooks[{i}].lambda",
            )
        )
    return found


# --- how long the deployment takes --------------------------------------------------------


def duration_findings(service: Service, facts: ServiceFacts) -> list[Finding]:
    """A warning when the deployment cannot end (bake time included) before deployment.timeout.

    The least it takes: the new tasks turning healthy, the traffic steps (linear:
    a step bake time between each two steps; canary: the canary bake time), the
    bake time, and the old targets draining; behind a Network Load Balancer ECS
    adds 10 minutes to the test and to the production traffic shift.
    """
    dep = service.deployment
    refs = [
        ref
        for lb in service.load_balancers
        for ref in (lb.target_group, lb.alternate_target_group)
        if ref
    ]
    groups = [tg for tg in dict.fromkeys(facts.target_groups.get(r) for r in refs) if tg]
    parts: list[tuple[float, str]] = []
    if groups:
        slow = max(groups, key=lambda g: g.healthy_threshold * g.interval)
        parts.append(
            (
                slow.healthy_threshold * slow.interval,
                f"{slow.healthy_threshold} x {slow.interval}s to turn healthy",
            )
        )
    if dep.linear is not None:
        steps = math.ceil(100 / dep.linear.step_percent - 1e-9)
        if steps > 1:
            parts.append(
                (
                    (steps - 1) * dep.linear.step_bake_time,
                    f"{steps - 1} x {dep.linear.step_bake_time:g}s between {steps} traffic steps",
                )
            )
    if dep.canary is not None:
        parts.append((dep.canary.bake_time, f"{dep.canary.bake_time:g}s canary bake time"))
    if dep.bake_time:
        parts.append((dep.bake_time, f"{dep.bake_time:g}s bake time"))
    nlb = [
        lb
        for lb in service.load_balancers
        if lb.production_listener_rule
        and parse_elb_arn(lb.production_listener_rule).lb_type == "net"
    ]
    if nlb:
        shifts = 2 if any(lb.test_listener_rule for lb in nlb) else 1
        parts.append((shifts * NLB_SHIFT_DELAY, f"{shifts * NLB_SHIFT_DELAY}s for the NLB"))
    if groups:
        drain = max(tg.deregistration_delay for tg in groups)
        parts.append((drain, f"{drain}s to drain"))
    estimate = sum(seconds for seconds, _ in parts)
    # apply waits deployment.timeout plus the bakes (they are waited by design).
    bakes = (dep.bake_time or 0.0) + shift_bake(service)
    if estimate <= dep.timeout + bakes:
        return []
    return [
        Finding(
            "warning",
            service.key,
            f"the {dep.strategy} deployment takes at least about {estimate:g}s "
            f"({' + '.join(text for _, text in parts)}), more than deployment.timeout "
            f"{dep.timeout:g}s plus the {bakes:g}s of bake times",
            "apply waits until ECS reports the deployment successful, which is after the bake "
            "time, when the old tasks stop; it would give up on a deployment that is only "
            "slow, and roll it back",
            "raise deployment.timeout to "
            f"{format_duration(math.ceil((estimate - bakes) / 60) * 60)} or more",
            "deployment-duration",
        )
    ]
