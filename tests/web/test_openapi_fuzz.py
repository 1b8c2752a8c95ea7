"""Schemathesis over the OpenAPI document: no input makes the API answer 5xx, and every
answer has the status, content type and shape the document promises. Both databases.

The document is read once from an application on a scratch database; each test then
sends the generated requests to an application on its own fresh database.
"""

from __future__ import annotations

import tempfile
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from jobprocessor.service import JobService
from jobprocessor.settings import Settings
from jobprocessor.web import create_app
from support import ALICE
from web_support import People

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(Settings(database_url=f"sqlite:///{scratch}/schema.sqlite3"))
        document = app.openapi()
        app.state.web.service.close()
    return document


SCHEMA = schemathesis.openapi.from_dict(_document())
OPERATIONS = {
    f"{op.method.upper()} {op.path}": op
    for op in (result.ok() for result in SCHEMA.get_all_operations())
}


@pytest.mark.parametrize("mode", list(GenerationMode))
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_no_input_breaks_the_api(
    operation: str, mode: GenerationMode, app: FastAPI, people: People, service: JobService
) -> None:
    for n in (1, 2, 3):
        job = service.submit(ALICE, "diag.count", {"n": n})
    service.cancel(ALICE, job.id)  # a finished job too, so that restart and delete can succeed
    auth = people.auth("admin")

    @given(case=OPERATIONS[operation].as_strategy(generation_mode=mode))
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )
    def send(case: Any) -> None:
        case.call_and_validate(app=app, headers=auth, checks=CHECKS)

    send()
