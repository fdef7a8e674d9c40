"""What the commands share: loading the configuration from the global options."""

from __future__ import annotations

from pathlib import Path

import click

from ecsdeploy.config import Config, load_config, parse_cli_vars


def service_key(config: Config, service: str) -> str:
    """The deploy.yaml key of a service given by its key or its ECS name (InputError)."""
    from ecsdeploy.errors import InputError, Problem

    if service in config.services:
        return service
    found = next((k for k, s in config.services.items() if s.name == service), None)
    if found is None:
        raise InputError(
            Problem(f"unknown service `{service}`", hint="defined: " + ", ".join(config.services))
        )
    return found


def load(ctx: click.Context, env: str | None = None, *, use_env: bool = True) -> Config:
    """The configuration named by -f, with -e (or `env`) overlaid and --var applied."""
    from ecsdeploy.cli import GlobalOptions

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)
    cli_vars = parse_cli_vars(opts.vars)
    chosen = env if env is not None else (opts.env if use_env else None)
    return load_config(Path(opts.file), chosen, cli_vars)
