"""``python -m generator`` is the ``promotion`` command."""

from .cli import run

if __name__ == "__main__":
    run()
