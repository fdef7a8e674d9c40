"""Building a command's working context from the global options (config, AWS, renders)."""

from __future__ import annotations

import sys

import click

from ecsdeploy.adapters.aws import AwsSettings
from ecsdeploy.cli.common import load
from ecsdeploy.context import Context, prepare


def make_context(ctx: click.Context, services: tuple[str, ...] = ()) -> Context:
    from ecsdeploy.cli import GlobalOptions

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)
    config = load(ctx)
    settings = AwsSettings(
        region=opts.region or config.region, profile=opts.profile, endpoint_url=opts.endpoint_url
    )
    return prepare(
        config,
        services=list(services) if services else None,
        revision=opts.revision,
        settings=settings,
    )


def use_color(no_color: bool) -> bool:
    return not no_color and sys.stdout.isatty()


def note_resolved(context: Context) -> None:
    """Say (on stderr, once) which registries ECSDEPLOY_RESOLVE sends elsewhere."""
    registries = [context.config.registries[k].url for k in context.stores]
    for line in context.resolver.notes(registries):
        click.echo(f"note: {line}", err=True)
