"""Forms generated from a job type's parameter JSON Schema, and their answers read back.

A page never repeats what a job type already declares: each parameter becomes a
field of the kind its schema asks for (dates as date inputs, enums as selects,
booleans as check boxes, lists as multi-selects, numbers with their bounds), and
the application adds what a schema cannot know: labels, help, choices from its
data (employees, activities...) and sensible first values. The answers go back to
the job type's own validation at submission; this module only turns form text
into the JSON shapes the schema describes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Widget = Literal["date", "number", "select", "multi", "checkbox", "text"]
FormValue = str | list[str] | bool


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a select; ``group`` is its optgroup (and what it depends on)."""

    value: str
    label: str
    group: str = ""


@dataclass(slots=True)
class FormField:
    """One parameter as a form field, with what it shows now and its error."""

    name: str
    label: str
    widget: Widget
    required: bool
    value: FormValue
    #: Empty is an answer (None): an optional field without a default value.
    nullable: bool = False
    help: str = ""
    choices: list[Choice] = field(default_factory=list)
    #: The JSON type answers are turned into: "integer", "number" or "string".
    json_type: str = "string"
    minimum: str | None = None
    maximum: str | None = None
    #: Name of the field whose value picks this field's group of choices (e.g. "kind").
    depends_on: str = ""
    error: str = ""

    @property
    def step(self) -> str:
        return "1" if self.json_type == "integer" else "any"

    @property
    def groups(self) -> list[tuple[str, list[Choice]]]:
        """The choices by optgroup, in order of first appearance."""
        grouped: dict[str, list[Choice]] = {}
        for choice in self.choices:
            grouped.setdefault(choice.group, []).append(choice)
        return list(grouped.items())

    def selected(self, value: str) -> bool:
        if isinstance(self.value, list):
            return value in self.value
        return value == self.value


class Hints(Protocol):
    """What the application knows about its parameters beyond the schema."""

    def label(self, name: str, schema: Mapping[str, Any]) -> str: ...

    def help(self, name: str, schema: Mapping[str, Any]) -> str: ...

    def choices(self, name: str, schema: Mapping[str, Any]) -> list[Choice] | None: ...

    def initial(self, name: str, schema: Mapping[str, Any]) -> FormValue | None: ...

    def depends_on(self, name: str) -> str: ...


class Answers(Protocol):
    """Submitted form data (Starlette's FormData fits)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...

    def __contains__(self, key: object) -> bool: ...


def properties(schema: Mapping[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """(name, resolved schema, required) of each parameter, in declaration order."""
    definitions = schema.get("$defs", {})
    required = set(schema.get("required", []))
    return [
        (name, resolve(prop, definitions), name in required)
        for name, prop in schema.get("properties", {}).items()
    ]


def resolve(prop: Mapping[str, Any], definitions: Mapping[str, Any]) -> dict[str, Any]:
    """A parameter's schema with ``$ref`` followed and ``X | None`` reduced to X
    (``nullable`` set), keeping the outer title, description and default."""
    outer = {k: v for k, v in prop.items() if k not in ("$ref", "anyOf")}
    inner: dict[str, Any] = {}
    if "$ref" in prop:
        inner = dict(definitions.get(str(prop["$ref"]).rsplit("/", 1)[-1], {}))
    elif "anyOf" in prop:
        variants = [v for v in prop["anyOf"] if v.get("type") != "null"]
        if len(variants) == 1:
            inner = resolve(variants[0], definitions)
        outer["nullable"] = len(variants) < len(prop["anyOf"])
    if "items" in inner or "items" in outer:
        items = inner.get("items", outer.get("items", {}))
        inner["items"] = resolve(items, definitions)
    return {**inner, **outer}


def build_fields(
    schema: Mapping[str, Any],
    hints: Hints,
    answers: Answers | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[FormField]:
    """The form of a job type: first values from the hints and the schema's defaults,
    or the submitted answers (shown again, with the errors, when they were refused)."""
    errors = errors or {}
    fields = []
    for name, prop, required in properties(schema):
        widget, json_type, choices = _widget(name, prop, hints)
        item = prop.get("items", {}) if widget == "multi" else prop
        form_field = FormField(
            name=name,
            label=hints.label(name, prop),
            widget=widget,
            required=required,
            value=_initial(name, prop, widget, hints),
            nullable=bool(prop.get("nullable")) or ("default" in prop and prop["default"] is None),
            help=hints.help(name, prop),
            choices=choices,
            json_type=json_type,
            minimum=_bound(item, "minimum", "exclusiveMinimum"),
            maximum=_bound(item, "maximum", "exclusiveMaximum"),
            depends_on=hints.depends_on(name),
            error=errors.get(name, ""),
        )
        if answers is not None:
            form_field.value = _answer(form_field, answers)
        fields.append(form_field)
    return fields


def params_from_form(fields: list[FormField], answers: Answers) -> dict[str, Any]:
    """The parameters as JSON values: empty answers are left out (the default holds, or
    validation says the field is required); numbers that do not parse stay text, for
    validation to refuse by name."""
    params: dict[str, Any] = {}
    for form_field in fields:
        if form_field.widget == "checkbox":
            params[form_field.name] = form_field.name in answers
        elif form_field.widget == "multi":
            picked = [str(v) for v in answers.getlist(form_field.name) if str(v).strip()]
            if picked or form_field.required:
                params[form_field.name] = [_typed(v, form_field.json_type) for v in picked]
        else:
            text = str(answers.get(form_field.name) or "").strip()
            if text:
                params[form_field.name] = _typed(text, form_field.json_type)
    return params


def choice_errors(fields: list[FormField], params: Mapping[str, Any]) -> dict[str, str]:
    """Answers that are not among a field's choices (of the group its ``depends_on``
    field picks): a form sent by hand, or a value of another kind."""
    by_name = {f.name: f for f in fields}
    errors = {}
    for form_field in fields:
        if form_field.widget not in ("select", "multi") or not form_field.choices:
            continue
        answer = params.get(form_field.name)
        if answer is None:
            continue
        allowed = form_field.choices
        source = by_name.get(form_field.depends_on)
        if source is not None:
            picked = next(
                (c.label for c in source.choices if c.value == str(params.get(source.name))), ""
            )
            allowed = [c for c in allowed if c.group == picked]
        values = {c.value for c in allowed}
        wrong = [str(a) for a in (answer if isinstance(answer, list) else [answer])]
        wrong = [a for a in wrong if a not in values]
        if wrong:
            where = f" of the {source.label.lower()} chosen" if source is not None else ""
            errors[form_field.name] = f"{', '.join(wrong)} is not one of the choices{where}"
    return errors


def field_errors(fields: Mapping[str, str], names: list[str]) -> tuple[dict[str, str], list[str]]:
    """Validation errors by form field ("employees.0" belongs to "employees"), and those
    that belong to none."""
    by_field: dict[str, str] = {}
    other: list[str] = []
    for location, message in fields.items():
        message = message.removeprefix("Value error, ")
        name = location.split(".", 1)[0]
        if name in names:
            by_field[name] = f"{by_field[name]}; {message}" if name in by_field else message
        else:
            other.append(f"{location}: {message}" if location else message)
    return by_field, other


def _widget(name: str, prop: Mapping[str, Any], hints: Hints) -> tuple[Widget, str, list[Choice]]:
    kind = str(prop.get("type", "string"))
    if kind == "boolean":
        return "checkbox", kind, []
    if kind == "array":
        item = prop.get("items", {})
        return "multi", str(item.get("type", "string")), _choices(name, item, hints) or []
    if kind == "string" and prop.get("format") == "date":
        return "date", kind, []
    choices = _choices(name, prop, hints)
    if choices is not None:
        return "select", kind, choices
    return ("number" if kind in ("integer", "number") else "text"), kind, []


def _choices(name: str, prop: Mapping[str, Any], hints: Hints) -> list[Choice] | None:
    known = hints.choices(name, prop)
    if known is not None:
        return known
    if "enum" in prop:
        return [Choice(str(v), str(v)) for v in prop["enum"]]
    return None


def _initial(name: str, prop: Mapping[str, Any], widget: Widget, hints: Hints) -> FormValue:
    value = hints.initial(name, prop)
    if value is not None:
        return value
    default = prop.get("default")
    if widget == "checkbox":
        return bool(default)
    if widget == "multi":
        return [str(v) for v in default or []]
    return "" if default is None else str(default)


def _answer(form_field: FormField, answers: Answers) -> FormValue:
    if form_field.widget == "checkbox":
        return form_field.name in answers
    if form_field.widget == "multi":
        return [str(v) for v in answers.getlist(form_field.name)]
    return str(answers.get(form_field.name) or "")


def _bound(prop: Mapping[str, Any], inclusive: str, exclusive: str) -> str | None:
    """The bound as an input's min/max attribute (an exclusive one only for integers)."""
    if inclusive in prop:
        return f"{prop[inclusive]:g}"
    if exclusive in prop and prop.get("type") == "integer":
        step = 1 if exclusive == "exclusiveMinimum" else -1
        return f"{prop[exclusive] + step:g}"
    return None


def _typed(text: str, json_type: str) -> Any:
    converters: dict[str, Callable[[str], Any]] = {"integer": int, "number": float}
    convert = converters.get(json_type)
    if convert is None:
        return text
    try:
        return convert(text)
    except ValueError:
        return text
