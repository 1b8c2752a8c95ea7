"""The web side: the REST API (``/api/v1``), the JobProcessor console and metrics.

Every route calls the service layer; none touches the store.
"""

from jobprocessor.web.app import create_app

__all__ = ["create_app"]
