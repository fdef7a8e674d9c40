"""`ecsdeploy verify`: the zero-downtime and consistency pre-flight, read-only."""

from __future__ import annotations

import json

import click

from ecsdeploy.cli.context import make_context, note_resolved, use_color
from ecsdeploy.cli.options import shared_options
from ecsdeploy.errors import ExitStatus

COLORS = {"error": "red", "warning": "magenta", "note": None}


@click.command("verify")
@click.option(
    "--service", "services", multiple=True, metavar="S", help="Only this service (repeat)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output for people or machines.",
)
@shared_options
@click.pass_context
def command(ctx: click.Context, services: tuple[str, ...], fmt: str) -> int:
    """Check, before anything changes, that a deploy keeps serving and cannot fail half-way.

    Exit 0 when nothing blocks (warnings and notes allowed), 4 on an error.
    """
    from ecsdeploy.cli import GlobalOptions
    from ecsdeploy.verify import blocking, run
    from ecsdeploy.verify.rules import counts, summary

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)
    context = make_context(ctx, services)
    note_resolved(context)
    findings = run(context, services=list(services) if services else None)
    failed = bool(blocking(findings))
    if fmt == "json":
        data = {
            "ok": not failed,
            "counts": counts(findings),
            "findings": [f.as_dict() for f in findings],
        }
        click.echo(json.dumps(data, indent=2))
    else:
        color = use_color(opts.no_color)

        def paint(text: str, fg: str | None) -> str:
            return click.style(text, fg=fg, bold=fg == "red") if color and fg else text

        for key in [k for k in context.config.service_order() if k in context.rendered]:
            if services and key not in services:
                continue
            svc = context.config.services[key]
            cluster = context.config.clusters[svc.cluster].name
            mine = [f for f in findings if f.service == key]
            head = f"service {key} ({svc.name} in cluster {cluster})"
            if not mine:
                click.echo(f"{head}: all checks passed")
                continue
            click.echo(f"{head}:")
            for f in mine:
                click.echo("  " + paint(f"{f.severity}: {f.message}", COLORS[f.severity]))
                click.echo(f"    why: {f.why}")
                if f.fix:
                    click.echo(f"    fix: {f.fix}")
        click.echo("")
        click.echo(summary(findings))
    return int(ExitStatus.REFUSED if failed else ExitStatus.OK)
