"""The plan for people: coloured text like terraform's, and Markdown for pull requests."""

from __future__ import annotations

import json

import click

from ecsdeploy.adapters.ecs import short_arn
from ecsdeploy.config.durations import format_duration
from ecsdeploy.findings import Finding
from ecsdeploy.plan.model import (
    Action,
    CodeDeployStep,
    DeregisterStep,
    EcsConfigStep,
    ImageStep,
    Plan,
    RegisterStep,
    ScalingStep,
    SecretStep,
    ServicePlan,
    ServiceStep,
    Step,
    WaitStep,
)
from ecsdeploy.plan.serialize import to_dict
from ecsdeploy.secrets import redact

_COLORS = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.DELETE: "red",
    Action.READ: "cyan",
}


def _value(v: object) -> str:
    return json.dumps(v) if not isinstance(v, str) else v


def _step_lines(step: Step) -> list[tuple[str, str]]:
    """(symbol, text) lines of one step; continuation lines have symbol ' '."""
    sym = step.action.value
    if isinstance(step, ImageStep):
        how = "re-tag in the registry" if step.method == "promote" else "push from the local engine"
        return [(sym, f"image {step.image}: {step.source} -> {step.target} ({how})")]
    if isinstance(step, RegisterStep):
        if step.reuse_arn:
            head = (
                sym,
                f"task definition {short_arn(step.reuse_arn)} (already registered, reused)",
            )
        elif step.diff.created:
            head = (sym, f"register task definition {step.family} (first revision)")
        else:
            head = (sym, f"register task definition {step.family}")
        lines = [head]
        for raw in step.diff.text.splitlines():
            # The diff's lines are "<symbol or space> <indented text>".
            lines.append((raw[:1] if raw[:1] in "+-~" else " ", "    " + raw[2:]))
        return lines
    if isinstance(step, ServiceStep):
        lines = [(sym, "create service" if step.create else "update service")]
        for c in step.changes:
            if step.create:
                lines.append((" ", f"    {c.field}: {_value(c.after)}"))
            else:
                lines.append((" ", f"    {c.field}: {_value(c.before)} -> {_value(c.after)}"))
        lines += [(" ", f"    {note}") for note in step.notes]
        return lines
    if isinstance(step, CodeDeployStep):
        return _codedeploy_lines(step)
    if isinstance(step, ScalingStep):
        title = (
            f"autoscaling: register scalable target {step.resource_id}"
            if step.create
            else f"autoscaling of {step.resource_id}"
        )
        lines = [(sym, title + " (Application Auto Scaling)")]
        for c in step.changes:
            if step.create:
                lines.append((" ", f"    {c.field}: {_value(c.after)}"))
            elif c.after is None:
                lines.append(("-", f"    {c.field}: {_value(c.before)} (deleted)"))
            else:
                lines.append((" ", f"    {c.field}: {_value(c.before)} -> {_value(c.after)}"))
        lines += [(" ", f"    {note}") for note in step.notes]
        return lines
    if isinstance(step, WaitStep):
        lines = [
            (sym, f"wait up to {format_duration(step.timeout)} for: " + "; ".join(step.checks))
        ]
        if step.strategy == "codedeploy" and step.stages:
            lines.append((" ", "blue/green deployment by CodeDeploy, in stages:"))
            lines += [(" ", f"  {i}. {stage}") for i, stage in enumerate(step.stages, 1)]
        elif step.strategy not in ("rolling", "codedeploy"):
            lines.append((" ", f"{step.strategy.replace('_', '/')} deployment by ECS, in stages:"))
            lines += [(" ", f"  {i}. {stage}") for i, stage in enumerate(step.stages, 1)]
        return lines
    if isinstance(step, DeregisterStep):
        return [(sym, "deregister " + ", ".join(short_arn(a) for a in step.arns))]
    if isinstance(step, EcsConfigStep):
        return _ecs_config_lines(step)
    if isinstance(step, SecretStep):
        what = "create" if step.arn is None else "update"
        return [
            (
                sym,
                f"{what} secret {step.name} (Secrets Manager): credentials of registry "
                f"`{step.registry}` for repositoryCredentials, value (sensitive)",
            )
        ]
    return []


def _codedeploy_lines(step: CodeDeployStep) -> list[tuple[str, str]]:
    """A CodeDeploy deployment: the group, what changes, and the AppSpec it sends."""
    target = step.target
    lines = [
        (
            step.action.value,
            f"deploy through CodeDeploy (application {target.application}, deployment group "
            f"{target.deployment_group})",
        )
    ]
    for c in step.changes:
        lines.append((" ", f"    {c.field}: {_value(c.before)} -> {_value(c.after)}"))
    resources = step.appspec.get("Resources") or [{}]
    props = dict((resources[0].get("TargetService") or {}).get("Properties") or {})
    if props.get("TaskDefinition") is None:
        props["TaskDefinition"] = "(the revision registered above)"
    elif isinstance(props["TaskDefinition"], str):
        props["TaskDefinition"] = short_arn(props["TaskDefinition"])
    lines.append((" ", "    AppSpec TargetService: " + json.dumps(props, sort_keys=True)))
    rollback = step.request.get("autoRollbackConfiguration") or {}
    if rollback.get("enabled"):
        lines.append(
            (" ", "    rolls back on: " + ", ".join(str(e) for e in rollback.get("events") or []))
        )
    return lines


def _ecs_config_lines(step: EcsConfigStep) -> list[tuple[str, str]]:
    """The roll-out of a cluster's ecs.config: which instances, how, and the lines (masked)."""
    count = len(step.instances)
    how = "drain, " if step.drain else ""
    lines = [
        (
            step.action.value,
            f"ecs.config on cluster {step.cluster}: {count} of {step.total} "
            f"{'instance' if step.total == 1 else 'instances'} out of date, one at a time "
            f"({how}update through SSM, restart the ECS agent)",
        ),
        (" ", "    instances: " + ", ".join(step.instances)),
    ]
    lines += [(" ", f"    {line}") for line in step.lines]
    return lines


def _finding_label(plan: Plan, f: Finding) -> str:
    if plan.blocks(f):
        return "blocking"
    if f.blocks(allow_downtime=plan.allow_downtime):  # on a service the plan leaves alone
        return "error (not blocking: nothing changes for this service)"
    if f.blocking:  # a downtime error the plan accepts
        return "error, accepted (--allow-downtime)"
    return f.severity


def _findings_of(plan: Plan, sp: ServicePlan) -> list[Finding]:
    """The findings a reader of the plan needs. A service that opted out of the
    downtime checks (`zero_downtime: false`) is not told again in every plan: those
    notes stay in `ecsdeploy verify` and in the JSON."""
    return [
        f
        for f in plan.findings
        if f.service == sp.key and not (f.downtime and f.severity == "note")
    ]


def verdict(plan: Plan) -> str | None:
    """The line that says apply will refuse this plan, or None."""
    n = len(plan.blocking)
    if not n:
        return None
    return f"apply will refuse this plan: {n} blocking finding{'' if n == 1 else 's'}."


def _header(plan: Plan) -> str:
    parts = [f"revision {plan.revision[:12]}" if plan.revision else "no revision"]
    if plan.environment:
        parts.append(f"environment {plan.environment}")
    if plan.region:
        parts.append(f"region {plan.region}")
    return "ecsdeploy plan: " + ", ".join(parts)


def _service_title(sp: ServicePlan) -> str:
    return f"service {sp.key} ({sp.name} in cluster {sp.cluster})"


def text(plan: Plan, *, color: bool) -> str:
    def paint(s: str, fg: str | None = None, bold: bool = False) -> str:
        return click.style(s, fg=fg, bold=bold) if color else s

    out = [_header(plan), ""]
    for sp in plan.services:
        if sp.waits:
            out.append(
                f"  {_service_title(sp)}: no changes; its release is waited for, checked "
                "and recorded (a rollout under way, or an apply stopped before judging it)"
            )
            for step in sp.steps:
                for symbol, line in _step_lines(step):
                    out.append(paint(f"  {symbol} {line}", "cyan"))
        elif not sp.changed:
            out.append(f"  {_service_title(sp)}: no changes")
        else:
            out.append(paint(f"~ {_service_title(sp)}", "yellow", bold=True))
            for step in sp.steps:
                for symbol, line in _step_lines(step):
                    action = {a.value: a for a in Action}.get(symbol)
                    fg = _COLORS.get(action) if action is not None else None
                    out.append(paint(f"  {symbol} {line}", fg) if fg else f"  {symbol} {line}")
        for w in sp.warnings:
            label = "warning" if w.severity == "warning" else "note"
            out.append(
                paint(f"  ! {label}: {w.message}", "magenta" if label == "warning" else None)
            )
            if w.fix:
                out.append(f"      fix: {w.fix}")
        for f in _findings_of(plan, sp):
            label = _finding_label(plan, f)
            mark = "x" if label == "blocking" else "!"
            fg = {"blocking": "red", "warning": "magenta"}.get(label)
            out.append(paint(f"  {mark} {label}: {f.message}", fg, bold=label == "blocking"))
            if label == "blocking":
                out.append(f"      why: {f.why}")
            if f.fix:
                out.append(f"      fix: {f.fix}")
        out.append("")
    out.append(paint(plan.summary(), bold=True))
    refused = verdict(plan)
    if refused:
        out.append(paint(refused[0].upper() + refused[1:], "red", bold=True))
    return redact("\n".join(out) + "\n")


def markdown(plan: Plan) -> str:
    changed = [sp for sp in plan.services if sp.changed]
    out = [f"### {_header(plan)}", "", f"**{plan.summary()}**", ""]
    refused = verdict(plan)
    if refused:
        out += [f"> [!CAUTION]\n> **{refused[0].upper() + refused[1:]}** See below.", ""]
    out += ["| service | cluster | steps | findings |", "|---|---|---|---|"]
    for sp in plan.services:
        steps = ", ".join(f"`{s.action.value}` {s.kind.value}" for s in sp.steps) or "no changes"
        mine = _findings_of(plan, sp)
        blocking = sum(1 for f in mine if _finding_label(plan, f) == "blocking")
        noted = len(sp.warnings) + len(mine)
        cell = f"**{blocking} blocking**" if blocking else (str(noted) if noted else "")
        if blocking and noted > blocking:
            cell += f", {noted - blocking} other"
        out.append(f"| `{sp.key}` | `{sp.cluster}` | {steps} | {cell} |")
    out.append("")
    noted_services = [
        sp for sp in plan.services if not sp.changed and (sp.warnings or _findings_of(plan, sp))
    ]
    for sp in changed + noted_services:
        out += [f"<details><summary>{_service_title(sp)}</summary>", "", "```diff"]
        for step in sp.steps:
            for symbol, line in _step_lines(step):
                # diff highlighting needs the symbol in column 0; `~` reads as a change.
                mark = {"+": "+", "-": "-", "~": "!", "?": "#"}.get(symbol, " ")
                out.append(f"{mark} {line}")
        out += ["```", ""]
        for w in sp.warnings:
            out.append(f"- **{w.severity}:** {w.message}" + (f" — fix: {w.fix}" if w.fix else ""))
        for f in _findings_of(plan, sp):
            label = _finding_label(plan, f)
            line = f"- **{label}:** {f.message}"
            if label == "blocking":
                line += f" — why: {f.why}"
            out.append(line + (f" — fix: {f.fix}" if f.fix else ""))
        out += ["", "</details>", ""]
    return redact("\n".join(out))


def as_json(plan: Plan) -> str:
    """The plan as data, like the file of `plan --out` but with secret-looking
    environment values masked."""
    return redact(json.dumps(to_dict(plan), indent=2, sort_keys=False))
