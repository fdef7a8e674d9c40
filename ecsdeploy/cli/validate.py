"""`ecsdeploy validate`: schema, references and every template, with no AWS call."""

from __future__ import annotations

from pathlib import Path

import click

from ecsdeploy.cli.common import load
from ecsdeploy.cli.options import shared_options
from ecsdeploy.config import environment_names, load_document
from ecsdeploy.render import Renderer


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@click.command("validate")
@shared_options
@click.pass_context
def command(ctx: click.Context) -> None:
    """Check deploy.yaml and render every template (no AWS call).

    Without -e, the base configuration and every environment are checked.
    Warnings (a secret written as a literal) go to stderr and do not fail.
    """
    from ecsdeploy.cli import GlobalOptions

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)
    if opts.env is not None:
        envs: list[str | None] = [opts.env]
    else:
        envs = [None, *environment_names(load_document(Path(opts.file)))]
    warned: list[str] = []
    for env in envs:
        config = load(ctx, env)
        rendered = Renderer(config, revision=opts.revision, region=opts.region).render_all()
        label = f"environment {env}" if env else "deploy.yaml"
        click.echo(
            f"ok: {label}: {_plural(len(rendered), 'service')}, "
            f"{_plural(len(config.images), 'image')}, "
            f"{_plural(len(config.clusters), 'cluster')}"
        )
        for service in rendered.values():
            for problem in service.warnings:
                text = str(problem)
                if text not in warned:  # a template shared by environments warns once
                    warned.append(text)
                    click.echo(f"warning: {text}", err=True)
    suffix = f" ({_plural(len(warned), 'warning')})" if warned else ""
    click.echo(f"{opts.file} is valid{suffix}.")
