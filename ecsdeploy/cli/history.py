"""`ecsdeploy history SERVICE`: a service's releases, newest first (read-only)."""

from __future__ import annotations

import json

import click

from ecsdeploy.cli.context import make_context, use_color
from ecsdeploy.cli.options import shared_options
from ecsdeploy.errors import ExitStatus

COLORS = {"succeeded": "green", "rolled_back": "yellow", "failed": "red"}


@click.command("history")
@click.argument("service")
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(min=1), help="Releases shown."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A table for people, or JSON.",
)
@shared_options
@click.pass_context
def command(ctx: click.Context, service: str, limit: int, fmt: str) -> int:
    """Each release of SERVICE (its key in deploy.yaml, or its ECS name), newest first:
    revision, outcome, Git revision, images, when and by whom.

    Read from the records ecsdeploy keeps on the task-definition revisions it
    registers; a deregistered revision keeps its record. Revisions registered by
    other tools show no outcome.
    """
    from ecsdeploy.cli import GlobalOptions
    from ecsdeploy.cli.common import load, service_key
    from ecsdeploy.operations.history import history

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)
    config = load(ctx)
    key = service_key(config, service)
    found = history(make_context(ctx, (key,)), key, limit=limit)
    if fmt == "json":
        click.echo(json.dumps(found.as_dict(), indent=2))
        return int(ExitStatus.OK)
    color = use_color(opts.no_color)
    click.echo(
        f"service {found.service} ({found.name} in cluster {found.cluster}), "
        f"family {found.family}, newest first:"
    )
    rows = [("REVISION", "OUTCOME", "GIT", "REGISTERED", "FINISHED", "BY", "IMAGES")]
    for r in found.releases:
        rows.append(
            (
                f"{r.revision}{' (running)' if r.running else ''}"
                f"{' (deregistered)' if r.status == 'INACTIVE' else ''}",
                r.outcome or "-",
                (r.git_revision or "-")[:12],
                (r.registered_at or "-").replace("T", " ")[:19],
                (r.finished_at or "-").replace("T", " ")[:19],
                (r.registered_by or "-").rsplit("/", 1)[-1].rsplit(":", 1)[-1],
                ", ".join(i.rsplit("/", 1)[-1] for i in r.images),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for n, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        outcome = row[1]
        if color and n > 0 and outcome in COLORS:
            cells[1] = click.style(cells[1], fg=COLORS[outcome])
        click.echo("  ".join([*cells, row[-1]]).rstrip())
    return int(ExitStatus.OK)
