"""Errors a wfm job raises when its settings do not fit the data (checked at run start)."""

from __future__ import annotations


class WfmError(Exception):
    """The job cannot do its work with these settings on this data; the message says why.

    Raised before anything is written, so the job fails and leaves the data as it was.
    """
