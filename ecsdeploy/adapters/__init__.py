"""Adapters: the only code that talks to AWS, registries, the Docker engine and Git."""
