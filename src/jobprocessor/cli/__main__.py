"""``python -m jobprocessor.cli``: the same as the ``jobprocessor`` command."""

from jobprocessor.cli.main import main

main()
