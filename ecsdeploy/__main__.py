"""Entry point for `python -m ecsdeploy`."""

from ecsdeploy.cli import entry

if __name__ == "__main__":
    entry()
