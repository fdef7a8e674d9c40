"""`ecsdeploy render`: the rendered task definitions as JSON, for review or `jq`."""

from __future__ import annotations

import json

import click

from ecsdeploy.cli.common import load
from ecsdeploy.cli.options import shared_options
from ecsdeploy.render import Renderer


@click.command("render")
@click.argument("services", nargs=-1, metavar="[SERVICE]...")
@shared_options
@click.pass_context
def command(ctx: click.Context, services: tuple[str, ...]) -> None:
    """Print the rendered task definitions as JSON, keyed by service (no AWS call)."""
    from ecsdeploy.cli import GlobalOptions

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)
    config = load(ctx)
    renderer = Renderer(config, revision=opts.revision, region=opts.region)
    rendered = renderer.render_all(list(services) if services else None)
    out = {key: r.task_definition for key, r in rendered.items()}
    click.echo(json.dumps(out, indent=2, ensure_ascii=False))
