"""Job types: ``@job``, parameter validation from the signature, templates, app loading."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from jobprocessor.context import JobContext
from jobprocessor.errors import InvalidInput
from jobprocessor.registry import Registry, job, load_apps, registry


@job(
    "test_registry.plan",
    category="scheduling",
    title="Plan {unit} from {start}",
    lock="planning-unit:{unit}",
    cancel_grace=3.5,
    retries=2,
)
def plan(ctx: JobContext, unit: int, start: datetime.date, days: int = 7, note: str = "") -> None:
    """Plans a unit."""


@job("test_registry.simple", category="report")
def simple(ctx: JobContext, name: str = "x") -> None:
    pass


@job("test_registry.noparams", category="diagnostics", title="Nothing")
def noparams(ctx: JobContext) -> None:
    pass


@job("test_registry.custom", category="custom_kind", title="{missing} title")
def custom(ctx: JobContext, flag: bool = False) -> None:
    pass


# -- the params model -------------------------------------------------------------


def test_job_type_is_registered_with_its_options() -> None:
    job_type = registry.get("test_registry.plan")
    assert job_type.name == "test_registry.plan"
    assert job_type.function is plan
    assert job_type.category == "scheduling"
    assert job_type.cancel_grace == 3.5
    assert job_type.retries == 2
    assert job_type.description == "Plans a unit."
    assert "test_registry.plan" in registry
    assert "test_registry.plan" in registry.names()


def test_params_are_validated_with_defaults_filled_in() -> None:
    job_type = registry.get("test_registry.plan")
    stored = job_type.validate({"unit": 5, "start": "2026-01-31"})
    assert stored == {"unit": 5, "start": "2026-01-31", "days": 7, "note": ""}


def test_pydantic_types_are_converted_and_stored_as_json() -> None:
    job_type = registry.get("test_registry.plan")
    stored = job_type.validate({"unit": "12", "start": datetime.date(2026, 2, 1), "days": 3})
    assert stored["unit"] == 12
    assert stored["start"] == "2026-02-01"  # JSON-ready: a string, not a date
    loaded = job_type.load(stored)
    assert loaded == {"unit": 12, "start": datetime.date(2026, 2, 1), "days": 3, "note": ""}
    assert isinstance(loaded["start"], datetime.date)


def test_an_invalid_date_names_the_field() -> None:
    job_type = registry.get("test_registry.plan")
    with pytest.raises(InvalidInput) as caught:
        job_type.validate({"unit": 1, "start": "not a date"})
    assert "start" in str(caught.value)
    assert "test_registry.plan" in str(caught.value)
    assert set(caught.value.fields) == {"start"}


def test_a_missing_required_field_is_named() -> None:
    job_type = registry.get("test_registry.plan")
    with pytest.raises(InvalidInput) as caught:
        job_type.validate({"start": "2026-01-01"})
    assert "unit" in str(caught.value)
    assert set(caught.value.fields) == {"unit"}


def test_a_wrong_type_is_named() -> None:
    job_type = registry.get("test_registry.plan")
    with pytest.raises(InvalidInput) as caught:
        job_type.validate({"unit": "five", "start": "2026-01-01", "days": "many"})
    assert set(caught.value.fields) == {"unit", "days"}
    assert "unit" in str(caught.value)
    assert "days" in str(caught.value)


def test_extra_keys_are_refused_and_named() -> None:
    job_type = registry.get("test_registry.simple")
    with pytest.raises(InvalidInput) as caught:
        job_type.validate({"name": "a", "colour": "red"})
    assert "colour" in str(caught.value)
    assert set(caught.value.fields) == {"colour"}


def test_a_type_without_parameters_refuses_any() -> None:
    job_type = registry.get("test_registry.noparams")
    assert job_type.validate({}) == {}
    with pytest.raises(InvalidInput, match="n"):
        job_type.validate({"n": 1})


@pytest.mark.parametrize("params", [[1, 2], "x", None, 3])
def test_params_must_be_an_object(params: Any) -> None:
    with pytest.raises(InvalidInput, match="JSON object") as caught:
        registry.get("test_registry.simple").validate(params)
    assert caught.value.fields == {"params": "not an object"}


def test_params_schema_describes_the_fields() -> None:
    schema = registry.get("test_registry.plan").params_schema()
    assert set(schema["properties"]) == {"unit", "start", "days", "note"}
    assert set(schema["required"]) == {"unit", "start"}
    assert schema["properties"]["start"]["format"] == "date"
    assert schema["properties"]["days"]["default"] == 7
    assert schema["additionalProperties"] is False


# -- title and lock templates ------------------------------------------------------------


def test_title_template_is_formatted_over_the_params() -> None:
    job_type = registry.get("test_registry.plan")
    params = job_type.validate({"unit": 4, "start": "2026-03-01"})
    assert job_type.format_title(params) == "Plan 4 from 2026-03-01"


def test_title_defaults_to_the_name_and_a_broken_template_falls_back() -> None:
    assert (
        registry.get("test_registry.simple").format_title({"name": "x"}) == "test_registry.simple"
    )
    # A template naming a field that does not exist never raises.
    assert (
        registry.get("test_registry.custom").format_title({"flag": True}) == "test_registry.custom"
    )


def test_lock_template_gives_the_lock_key() -> None:
    job_type = registry.get("test_registry.plan")
    assert job_type.lock_key({"unit": 9, "start": "2026-01-01"}) == "planning-unit:9"
    assert registry.get("test_registry.simple").lock_key({"name": "x"}) is None


def test_custom_category_that_is_an_identifier_is_accepted() -> None:
    assert registry.get("test_registry.custom").category == "custom_kind"


# -- registration errors ------------------------------------------------------------------


def test_unknown_type_message_lists_the_known_types() -> None:
    with pytest.raises(InvalidInput) as caught:
        registry.get("test_registry.nope")
    message = str(caught.value)
    assert "'test_registry.nope'" in message
    assert "test_registry.plan" in message
    assert "test_registry.simple" in message
    assert caught.value.fields == {"type": "unknown"}


def test_unknown_type_in_an_empty_registry_says_how_to_load_apps() -> None:
    with pytest.raises(InvalidInput, match="--app"):
        Registry().get("anything")


def test_a_second_function_under_one_name_is_refused() -> None:
    @job("test_registry.dup", category="diagnostics")
    def first(ctx: JobContext) -> None:
        pass

    with pytest.raises(ValueError, match=r"test_registry\.dup.*registered twice"):

        @job("test_registry.dup", category="diagnostics")
        def second(ctx: JobContext) -> None:
            pass

    assert registry.get("test_registry.dup").function is first


def test_the_same_function_may_register_again() -> None:
    # Importing an app module twice (e.g. as __main__ and by name) is not an error.
    job("test_registry.simple", category="report")(simple)
    assert registry.get("test_registry.simple").function is simple


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "", "category": "report"}, "non-empty name"),
        ({"name": "test_registry.bad", "category": "not a category"}, "category"),
        ({"name": "test_registry.bad", "category": "report", "cancel_grace": -1}, "negative"),
        ({"name": "test_registry.bad", "category": "report", "retries": -1}, "negative"),
    ],
)
def test_bad_decorator_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        job(**kwargs)
    assert "test_registry.bad" not in registry


def test_a_function_without_ctx_is_refused() -> None:
    def no_ctx() -> None:
        pass

    with pytest.raises(TypeError, match="JobContext"):
        job("test_registry.noctx", category="report")(no_ctx)
    assert "test_registry.noctx" not in registry


def test_var_keyword_parameters_are_refused() -> None:
    def with_kwargs(ctx: JobContext, **options: Any) -> None:
        pass

    with pytest.raises(TypeError, match=r"\*\*kwargs"):
        job("test_registry.kwargs", category="report")(with_kwargs)
    assert "test_registry.kwargs" not in registry


# -- loading apps ------------------------------------------------------------------------


def test_load_apps_imports_modules_and_skips_blanks() -> None:
    assert load_apps(["jobprocessor.diagnostics", " ", ""]) == ["jobprocessor.diagnostics"]
    assert "diag.count" in registry


def test_load_apps_with_a_missing_module_names_it() -> None:
    with pytest.raises(InvalidInput) as caught:
        load_apps(["jobprocessor.diagnostics", "test_registry_no_such_module"])
    assert "test_registry_no_such_module" in str(caught.value)
    assert caught.value.fields == {"app": "test_registry_no_such_module"}
