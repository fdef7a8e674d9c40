"""`ecsdeploy demo`: the complete workflow on the embedded sandbox."""

from __future__ import annotations

import click

from ecsdeploy.cli.context import use_color
from ecsdeploy.cli.options import shared_options


@click.command("demo")
@click.option("--speed", default=20.0, show_default=True, help="Sandbox clock speed.")
@shared_options
@click.pass_context
def command(ctx: click.Context, speed: float) -> int:
    """Walk through validate, plan, apply, a change and a rolled-back release, locally.

    Needs no AWS account and no Docker: the sandbox runs in this process.
    """
    from ecsdeploy.cli import GlobalOptions, cli
    from ecsdeploy.demo import run_demo

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)

    def invoke(argv: list[str]) -> int:
        click.echo(click.style(f"\n$ ecsdeploy {' '.join(_short(a) for a in argv)}", bold=True))
        try:
            cli.main(args=[*(["--no-color"] if opts.no_color else []), *argv])
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    return run_demo(invoke, color=use_color(opts.no_color), speed=speed)


def _short(arg: str) -> str:
    for name in ("deploy.yaml", "plan.json"):  # in the demo's temporary folder
        if arg.endswith(name):
            return name
    if len(arg) == 40 and all(c in "0123456789abcdef" for c in arg):
        return arg[:7]
    return arg
