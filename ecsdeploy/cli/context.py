"""Building a command's working context from the global options (config, AWS, renders)."""

from __future__ import annotations

import os
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
    _check_region(opts.region, "--region")
    if not opts.region and not config.region:
        _check_region(os.environ.get("AWS_REGION"), "AWS_REGION")
    settings = AwsSettings(
        region=opts.region or config.region, profile=opts.profile, endpoint_url=opts.endpoint_url
    )
    return prepare(
        config,
        services=list(services) if services else None,
        revision=opts.revision,
        settings=settings,
    )


def _check_region(region: str | None, where: str) -> None:
    """A region given outside deploy.yaml (whose schema checks its own) must be one,
    before templates render it and before any AWS call."""
    from ecsdeploy.errors import InputError, Problem
    from ecsdeploy.render.regions import is_region

    if region and not is_region(region):
        raise InputError(
            Problem(f"{where} {region!r} is not a valid AWS region name", hint="e.g. us-east-1")
        )


def use_color(no_color: bool) -> bool:
    return not no_color and sys.stdout.isatty()


def note_resolved(context: Context) -> None:
    """Say (on stderr, once) which registries ECSDEPLOY_RESOLVE sends elsewhere."""
    registries = [context.config.registries[k].url for k in context.stores]
    for line in context.resolver.notes(registries):
        click.echo(f"note: {line}", err=True)
