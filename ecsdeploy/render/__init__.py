"""Rendering: deploy.yaml's templates (task definitions, image tags) into concrete data."""
