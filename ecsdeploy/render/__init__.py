"""Rendering: deploy.yaml's templates (task definitions, image tags) into concrete data."""

from .renderer import ImageRef, RenderedService, Renderer, render_service

__all__ = ["ImageRef", "RenderedService", "Renderer", "render_service"]
