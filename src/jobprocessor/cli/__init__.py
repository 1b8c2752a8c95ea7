"""The ``jobprocessor`` command line (docs/reference/cli.md)."""
