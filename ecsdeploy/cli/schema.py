"""`ecsdeploy schema`: print the JSON Schema of deploy.yaml."""

from __future__ import annotations

import click

from ecsdeploy.cli.options import shared_options
from ecsdeploy.config.schema import schema_text


@click.command("schema")
@shared_options
def command() -> None:
    """Print the JSON Schema of deploy.yaml (point your editor at it)."""
    click.echo(schema_text(), nl=False)
