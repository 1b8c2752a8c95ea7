"""Job types: the ``@job`` decorator, parameter validation and app loading.

A job type's parameters are the keyword arguments of its function after ``ctx``.
A pydantic model is built from that signature once, at registration, so that
submission validates settings exactly as the function will receive them.
"""

from __future__ import annotations

import importlib
import inspect
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from jobprocessor.errors import InvalidInput
from jobprocessor.model import Category
from jobprocessor.queues import MAX_LIMIT, check_priority, check_queue_name, check_timeout

JobFunction = Callable[..., Any]

DEFAULT_CANCEL_GRACE = 10.0


@dataclass(frozen=True)
class JobType:
    """A registered kind of job."""

    name: str
    function: JobFunction
    category: str
    title: str
    cancel_grace: float
    lock: str | None
    retries: int
    params_model: type[BaseModel]
    description: str
    queue: str = ""
    priority: int = 0
    limit: int | None = None
    limit_key: str | None = None
    timeout: float | None = None

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """Check ``params`` and return them as JSON-ready original settings.

        Raises InvalidInput naming each field at fault; nothing is stored before this.
        """
        if not isinstance(params, dict):
            raise InvalidInput("params must be a JSON object", fields={"params": "not an object"})
        try:
            model = self.params_model.model_validate(params)
        except ValidationError as error:
            fields = {
                ".".join(str(p) for p in e["loc"]) or "params": e["msg"] for e in error.errors()
            }
            detail = "; ".join(f"{name}: {msg}" for name, msg in fields.items())
            raise InvalidInput(f"invalid params for {self.name}: {detail}", fields=fields) from None
        settings = model.model_dump(mode="json")
        bad = _nul_path(settings)
        if bad is not None:
            field = bad or "params"
            raise InvalidInput(
                f"invalid params for {self.name}: {field}: NUL characters are not allowed",
                fields={field: "NUL character"},
            )
        return settings

    def load(self, stored: dict[str, Any]) -> dict[str, Any]:
        """Turn stored settings back into the typed values the function expects."""
        model = self.params_model.model_validate(stored)
        return {name: getattr(model, name) for name in type(model).model_fields}

    def format_title(self, params: dict[str, Any]) -> str:
        return format_template(self.title, params, fallback=self.name)

    def lock_key(self, params: dict[str, Any]) -> str | None:
        if self.lock is None:
            return None
        return format_template(self.lock, params, fallback=self.lock)

    def limit_of(self, params: dict[str, Any]) -> tuple[str, int] | None:
        """The limit a job with these settings counts against: (key, places), or None.

        A lock is a limit of 1 on its value; a limit without ``limit_key`` holds for
        the whole type (key ``type:NAME``). Keys are shared across types, as lock
        values always were: jobs of two types with one key count against each other.
        """
        lock = self.lock_key(params)
        if lock is not None:
            return lock, 1
        if self.limit is None:
            return None
        if self.limit_key is None:
            return f"type:{self.name}", self.limit
        return format_template(self.limit_key, params, fallback=self.limit_key), self.limit

    def params_schema(self) -> dict[str, Any]:
        """The JSON Schema of the parameters, for forms and the API."""
        return self.params_model.model_json_schema()


def _nul_path(value: Any, path: str = "") -> str | None:
    """Where a NUL character hides in JSON-ready settings (no database stores it)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items: Iterable[tuple[str, Any]] = ((str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return None
    for key, item in items:
        if "\x00" in key:
            return f"{path}.{key}".lstrip(".")
        found = _nul_path(item, f"{path}.{key}".lstrip("."))
        if found is not None:
            return found
    return None


def format_template(template: str, params: dict[str, Any], *, fallback: str) -> str:
    """Format a title or lock template over parameters; never raises."""
    try:
        return string.Formatter().vformat(template, (), params)
    except (KeyError, IndexError, ValueError, AttributeError):
        return fallback


class Registry:
    """The job types known to this process."""

    def __init__(self) -> None:
        self._types: dict[str, JobType] = {}

    def add(self, job_type: JobType) -> None:
        existing = self._types.get(job_type.name)
        # Re-importing a module (e.g. under two names) registers the same function again.
        if existing is not None and _qualified(existing.function) != _qualified(job_type.function):
            raise ValueError(f"job type {job_type.name!r} is registered twice")
        self._types[job_type.name] = job_type

    def get(self, name: str) -> JobType:
        try:
            return self._types[name]
        except KeyError:
            known = ", ".join(sorted(self._types)) or "none (load an app with --app)"
            raise InvalidInput(
                f"unknown job type {name!r}; known types: {known}", fields={"type": "unknown"}
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def names(self) -> list[str]:
        return sorted(self._types)

    def all(self) -> list[JobType]:
        return [self._types[n] for n in self.names()]


def _qualified(function: JobFunction) -> str:
    return f"{function.__module__}.{function.__qualname__}"


#: The process-wide registry that ``@job`` writes to.
registry = Registry()


def job(
    name: str,
    *,
    category: str,
    title: str | None = None,
    cancel_grace: float = DEFAULT_CANCEL_GRACE,
    lock: str | None = None,
    retries: int = 0,
    queue: str | None = None,
    priority: int = 0,
    limit: int | None = None,
    limit_key: str | None = None,
    timeout: float | None = None,
) -> Callable[[JobFunction], JobFunction]:
    """Register a function as a job type (docs/reference/job-types.md).

    The function takes a ``JobContext`` first, then its parameters as keyword
    arguments with annotations; what it returns must be JSON-serialisable.
    Scheduling (docs/reference/scheduling.md): ``queue`` (default: the category),
    ``priority`` (-100..100, higher sooner), ``limit`` jobs at once across all workers
    (per ``limit_key`` value if given; ``lock`` is ``limit=1`` on its value) and a
    ``timeout`` in seconds.
    """
    if not name or not isinstance(name, str):
        raise ValueError("a job type needs a non-empty name")
    if category not in {c.value for c in Category} and not category.isidentifier():
        raise ValueError(f"category {category!r} must be an identifier such as 'report'")
    if cancel_grace < 0 or retries < 0:
        raise ValueError("cancel_grace and retries must not be negative")
    _check_scheduling(name, queue or category, priority, limit, limit_key, lock, timeout)

    def register(function: JobFunction) -> JobFunction:
        job_type = JobType(
            name=name,
            function=function,
            category=category,
            title=title or name,
            cancel_grace=float(cancel_grace),
            lock=lock,
            retries=int(retries),
            params_model=_params_model(name, function),
            description=inspect.getdoc(function) or "",
            queue=queue or category,
            priority=priority,
            limit=limit,
            limit_key=limit_key,
            timeout=float(timeout) if timeout is not None else None,
        )
        registry.add(job_type)
        return function

    return register


def _check_scheduling(
    name: str,
    queue: str,
    priority: int,
    limit: int | None,
    limit_key: str | None,
    lock: str | None,
    timeout: float | None,
) -> None:
    """A job type's scheduling options, checked when it registers (a ValueError)."""
    try:
        check_queue_name(queue)
        check_priority(priority)
        if timeout is not None:
            check_timeout(timeout)
    except InvalidInput as error:
        raise ValueError(f"job {name!r}: {error}") from None
    if lock is not None and (limit is not None or limit_key is not None):
        raise ValueError(f"job {name!r}: lock is limit=1 on its value; give one or the other")
    if limit_key is not None and limit is None:
        raise ValueError(f"job {name!r}: limit_key needs a limit")
    if limit is not None and (isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT):
        raise ValueError(f"job {name!r}: limit must be a whole number from 1 to {MAX_LIMIT}")


def _params_model(name: str, function: JobFunction) -> type[BaseModel]:
    """A pydantic model of the function's parameters after ``ctx``."""
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    if not parameters:
        raise TypeError(f"job {name!r}: the function must take a JobContext as first argument")
    hints = get_type_hints(function, include_extras=True)
    fields: dict[str, Any] = {}
    for parameter in parameters[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"job {name!r}: *args and **kwargs cannot be parameters")
        annotation = hints.get(parameter.name, Any)
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (annotation, default)
    model_name = "Params_" + "".join(c if c.isalnum() else "_" for c in name)
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=False)
    model: type[BaseModel] = create_model(model_name, __config__=config, **fields)
    return model


def load_apps(modules: Iterable[str]) -> list[str]:
    """Import the named modules so that their ``@job`` types register.

    Raises InvalidInput with the module's name if one cannot be imported, or fails
    while importing (e.g. it registers a job type another app registered already).
    """
    loaded = []
    for module in modules:
        module = module.strip()
        if not module:
            continue
        try:
            importlib.import_module(module)
        except Exception as error:  # a missing module, or one that fails while importing
            detail = str(error)
            if not isinstance(error, ImportError):
                detail = f"{type(error).__name__}: {detail}"
            raise InvalidInput(
                f"cannot import app module {module!r}: {detail}", fields={"app": module}
            ) from None
        loaded.append(module)
    return loaded
