"""`ecsdeploy ecs-config [CLUSTER]`: the ecs.config lines each cluster's instances need."""

from __future__ import annotations

import os

import click

from ecsdeploy.cli.common import load
from ecsdeploy.cli.options import shared_options
from ecsdeploy.errors import InputError, Problem


@click.command("ecs-config")
@click.argument("cluster", required=False)
@click.option("--show-secrets", is_flag=True, help="Print credentials instead of (sensitive).")
@shared_options
@click.pass_context
def command(ctx: click.Context, cluster: str | None, show_secrets: bool) -> None:
    """Print the /etc/ecs/ecs.config lines for CLUSTER (its key or ECS name), or for all.

    No AWS call: credentials come from the registries' *_env variables or the
    Docker config, exactly as apply would use them.
    """
    from ecsdeploy import ecsconfig
    from ecsdeploy.adapters.credentials import check_variables, resolve
    from ecsdeploy.cli import GlobalOptions
    from ecsdeploy.render import Renderer

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)
    config = load(ctx)
    keys = list(config.clusters)
    if cluster is not None:
        match = [k for k, c in config.clusters.items() if cluster in (k, c.name)]
        if not match:
            names = ", ".join(f"{k} ({c.name})" for k, c in config.clusters.items())
            raise InputError(Problem(f"unknown cluster `{cluster}`", hint=f"defined: {names}"))
        keys = match
    rendered = Renderer(config, revision=opts.revision, region=opts.region).render_all()
    by_cluster = ecsconfig.registries_by_cluster(config, {k: r.images for k, r in rendered.items()})
    check_variables(config, os.environ)
    for i, key in enumerate(keys):
        needed = by_cluster.get(key, [])
        creds = {}
        for reg in needed:
            found = resolve(config.registries[reg], os.environ)
            if found is None:
                raise InputError(
                    Problem(
                        f"registry `{reg}` has ecs_config: true but no credentials",
                        hint="set auth.username_env/password_env, or `docker login` to it",
                    )
                )
            creds[reg] = found
        result = ecsconfig.build(config, key, needed, creds)
        if len(keys) > 1:
            click.echo(("\n" if i else "") + f"# cluster {key} ({result.cluster})")
        lines = result.lines(show_secrets=show_secrets)
        click.echo("\n".join(lines) if lines else "# nothing to manage for this cluster")
