"""Options every command also accepts after its name (`ecsdeploy plan -f x.yaml`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _update(
    field: str, *, append: bool = False
) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value in (None, (), False):
            return
        root = ctx.find_root()
        opts = root.obj
        if append:
            value = (*getattr(opts, field), *value)
        root.obj = dataclasses.replace(opts, **{field: value})

    return callback


def shared_options(fn: F) -> F:
    """The global options, accepted after the command name as well as before it."""
    decorators = [
        click.option(
            "-f", "--file", expose_value=False, callback=_update("file"), help="The deploy.yaml."
        ),
        click.option(
            "-e", "--env", expose_value=False, callback=_update("env"), help="Environment overlay."
        ),
        click.option(
            "--var",
            multiple=True,
            metavar="K=V",
            expose_value=False,
            callback=_update("vars", append=True),
            help="Template variable (repeat).",
        ),
        click.option(
            "--region", expose_value=False, callback=_update("region"), help="AWS region."
        ),
        click.option(
            "--profile", expose_value=False, callback=_update("profile"), help="AWS profile."
        ),
        click.option(
            "--endpoint-url",
            expose_value=False,
            callback=_update("endpoint_url"),
            help="AWS endpoint.",
        ),
        click.option(
            "--revision", expose_value=False, callback=_update("revision"), help="Git revision."
        ),
        click.option(
            "--no-color",
            is_flag=True,
            expose_value=False,
            callback=_update("no_color"),
            help="No colours.",
        ),
        click.option(
            "-v",
            "--verbose",
            is_flag=True,
            expose_value=False,
            callback=_update("verbose"),
            help="More detail.",
        ),
    ]
    for decorate in reversed(decorators):
        fn = decorate(fn)
    return fn
