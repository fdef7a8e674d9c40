"""Configuration: deploy.yaml loaded, validated and turned into the model."""

from __future__ import annotations

from pathlib import Path

from .build import build_config, environment_names, parse_cli_vars
from .loader import SourceDoc, load_document
from .model import Config

__all__ = [
    "Config",
    "SourceDoc",
    "build_config",
    "environment_names",
    "load_config",
    "load_document",
    "parse_cli_vars",
]


def load_config(
    path: Path | str, env: str | None = None, cli_vars: dict[str, str] | None = None
) -> Config:
    """Read, validate and model deploy.yaml with environment `env` overlaid."""
    return build_config(load_document(Path(path)), env, cli_vars)
