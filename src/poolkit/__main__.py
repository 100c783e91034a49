"""``python -m poolkit``: the same command line as the ``poolkit`` script."""

from .cli import main

if __name__ == "__main__":
    main()
