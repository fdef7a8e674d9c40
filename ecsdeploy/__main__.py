"""Entry point for `python -m ecsdeploy`."""

from ecsdeploy.cli import main

if __name__ == "__main__":
    main()
