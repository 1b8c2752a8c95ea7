"""The ``jobprocessor`` command line (CONTRACT §4)."""
