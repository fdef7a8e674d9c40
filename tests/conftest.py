"""Shared pytest setup: the real servers live in tests/fixtures/ as plugins."""

pytest_plugins = [
    "tests.fixtures.gitrepo",
    "tests.fixtures.sandbox",
    "tests.fixtures.servers",
]
