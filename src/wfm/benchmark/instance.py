"""An instance of the Curtois & Qu shift scheduling benchmark, read from its text format.

The format has sections (``SECTION_HORIZON``, ``SECTION_SHIFTS``, ``SECTION_STAFF``,
``SECTION_DAYS_OFF``, ``SECTION_SHIFT_ON_REQUESTS``, ``SECTION_SHIFT_OFF_REQUESTS``,
``SECTION_COVER``) of comma-separated lines; ``#`` starts a comment line. Parsing checks
every reference (a shift, an employee, a day inside the horizon) so that the solver
can trust the instance, and a bad line raises ``InstanceError`` naming the line number
and the field, so that whoever imports a file can fix it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from wfm.errors import WfmError

T = TypeVar("T")

SECTIONS = (
    "SECTION_HORIZON",
    "SECTION_SHIFTS",
    "SECTION_STAFF",
    "SECTION_DAYS_OFF",
    "SECTION_SHIFT_ON_REQUESTS",
    "SECTION_SHIFT_OFF_REQUESTS",
    "SECTION_COVER",
)


class InstanceError(WfmError):
    """A benchmark file that cannot be read; the message names the line and the field."""

    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(f"line {line}: {field}: {message}")
        self.line = line
        self.field = field


@dataclass(frozen=True, slots=True)
class Shift:
    """A shift type: its length and the shift types that may not be worked the next day."""

    id: str
    minutes: int
    cannot_follow: frozenset[str]


@dataclass(frozen=True, slots=True)
class Staff:
    """An employee and the hard rules of their contract."""

    id: str
    #: The most assignments of each shift type; 0 forbids the type.
    max_shifts: Mapping[str, int]
    max_total_minutes: int
    min_total_minutes: int
    max_consecutive_shifts: int
    min_consecutive_shifts: int
    min_consecutive_days_off: int
    max_weekends: int


@dataclass(frozen=True, slots=True)
class Request:
    """A wish to work (on) or not to work (off) a shift on a day, and what missing it costs."""

    employee: str
    day: int
    shift: str
    weight: int


@dataclass(frozen=True, slots=True)
class Cover:
    """How many employees should work a shift on a day, and the cost per person under/over."""

    day: int
    shift: str
    requirement: int
    under_weight: int
    over_weight: int


@dataclass(frozen=True, slots=True)
class Instance:
    """A whole benchmark instance; day 0 is a Monday."""

    days: int
    shifts: tuple[Shift, ...]
    staff: tuple[Staff, ...]
    #: Days each employee may not work (employees without any are absent).
    days_off: Mapping[str, frozenset[int]]
    on_requests: tuple[Request, ...]
    off_requests: tuple[Request, ...]
    cover: tuple[Cover, ...]

    @property
    def weeks(self) -> int:
        return self.days // 7

    def shift(self, shift_id: str) -> Shift:
        """The shift type of that id (KeyError if there is none)."""
        for shift in self.shifts:
            if shift.id == shift_id:
                return shift
        raise KeyError(shift_id)


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    fields: list[str]


def parse_instance(text: str) -> Instance:
    """Read an instance from the benchmark's text format (raises ``InstanceError``)."""
    sections = _sections(text)
    horizon = sections.get("SECTION_HORIZON", [])
    if len(horizon) != 1 or len(horizon[0].fields) != 1:
        number = horizon[1].number if len(horizon) > 1 else (horizon[0].number if horizon else 0)
        raise InstanceError(number, "horizon", "expected one line with the number of days")
    days = _int(horizon[0], 0, "horizon", minimum=1)
    if days % 7:
        raise InstanceError(horizon[0].number, "horizon", f"{days} is not a whole number of weeks")
    shifts = _unique(_shift(line) for line in sections.get("SECTION_SHIFTS", []))
    if not shifts:
        raise InstanceError(0, "SECTION_SHIFTS", "no shift types")
    shift_ids = {s.id for s, _ in shifts}
    for shift, line in shifts:
        for other in sorted(shift.cannot_follow - shift_ids):
            raise InstanceError(line.number, "cannot follow", f"unknown shift {other!r}")
    staff = _unique(_staff(line, shift_ids) for line in sections.get("SECTION_STAFF", []))
    if not staff:
        raise InstanceError(0, "SECTION_STAFF", "no employees")
    employees = {s.id for s, _ in staff}
    days_off: dict[str, frozenset[int]] = {}
    for line in sections.get("SECTION_DAYS_OFF", []):
        employee = _employee(line, employees)
        if employee in days_off:
            raise InstanceError(line.number, "employee", f"{employee!r} has a second line")
        days_off[employee] = frozenset(
            _int(line, i, "day", minimum=0, maximum=days - 1) for i in range(1, len(line.fields))
        )
    return Instance(
        days=days,
        shifts=tuple(s for s, _ in shifts),
        staff=tuple(s for s, _ in staff),
        days_off=MappingProxyType(days_off),
        on_requests=_requests(sections, "SECTION_SHIFT_ON_REQUESTS", employees, shift_ids, days),
        off_requests=_requests(sections, "SECTION_SHIFT_OFF_REQUESTS", employees, shift_ids, days),
        cover=_cover(sections.get("SECTION_COVER", []), shift_ids, days),
    )


def _sections(text: str) -> dict[str, list[_Line]]:
    sections: dict[str, list[_Line]] = {}
    current: list[_Line] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("SECTION_"):
            if line not in SECTIONS:
                raise InstanceError(number, "section", f"unknown section {line!r}")
            if line in sections:
                raise InstanceError(number, "section", f"{line} appears twice")
            current = sections[line] = []
            continue
        if current is None:
            raise InstanceError(number, "section", "data before the first SECTION_ line")
        current.append(_Line(number, [f.strip() for f in line.split(",")]))
    for name in ("SECTION_HORIZON", "SECTION_SHIFTS", "SECTION_STAFF", "SECTION_COVER"):
        if name not in sections:
            raise InstanceError(0, name, "missing section")
    return sections


def _unique(items: Iterator[tuple[T, _Line]]) -> list[tuple[T, _Line]]:
    seen: set[str] = set()
    out: list[tuple[T, _Line]] = []
    for item, line in items:
        key = line.fields[0]
        if key in seen:
            raise InstanceError(line.number, "id", f"{key!r} appears twice")
        seen.add(key)
        out.append((item, line))
    return out


def _fields(line: _Line, count: int, section: str) -> None:
    if len(line.fields) != count:
        raise InstanceError(
            line.number, section, f"expected {count} fields, found {len(line.fields)}"
        )


def _id(line: _Line, index: int, field: str) -> str:
    value = line.fields[index]
    if not value:
        raise InstanceError(line.number, field, "empty")
    return value


def _int(
    line: _Line, index: int, field: str, *, minimum: int = 0, maximum: int | None = None
) -> int:
    text = line.fields[index]
    try:
        value = int(text)
    except ValueError:
        raise InstanceError(line.number, field, f"{text!r} is not a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise InstanceError(line.number, field, f"{value} is out of range ({bounds})")
    return value


def _shift(line: _Line) -> tuple[Shift, _Line]:
    _fields(line, 3, "shift")
    follow = frozenset(s.strip() for s in line.fields[2].split("|") if s.strip())
    return Shift(_id(line, 0, "shift id"), _int(line, 1, "minutes", minimum=1), follow), line


def _staff(line: _Line, shift_ids: set[str]) -> tuple[Staff, _Line]:
    _fields(line, 8, "staff")
    max_shifts: dict[str, int] = {}
    for part in line.fields[1].split("|"):
        shift, sep, count = part.partition("=")
        if not sep or shift not in shift_ids:
            raise InstanceError(line.number, "max shifts", f"{part!r} is not SHIFT=COUNT")
        max_shifts[shift] = _int(_Line(line.number, [count]), 0, "max shifts")
    for shift in sorted(shift_ids - max_shifts.keys()):
        raise InstanceError(line.number, "max shifts", f"no maximum for shift {shift!r}")
    staff = Staff(
        id=_id(line, 0, "employee id"),
        max_shifts=MappingProxyType(max_shifts),
        max_total_minutes=_int(line, 2, "max total minutes"),
        min_total_minutes=_int(line, 3, "min total minutes"),
        max_consecutive_shifts=_int(line, 4, "max consecutive shifts", minimum=1),
        min_consecutive_shifts=_int(line, 5, "min consecutive shifts"),
        min_consecutive_days_off=_int(line, 6, "min consecutive days off"),
        max_weekends=_int(line, 7, "max weekends"),
    )
    if staff.min_total_minutes > staff.max_total_minutes:
        raise InstanceError(line.number, "min total minutes", "above the max total minutes")
    return staff, line


def _employee(line: _Line, employees: set[str]) -> str:
    employee = line.fields[0]
    if employee not in employees:
        raise InstanceError(line.number, "employee", f"unknown employee {employee!r}")
    return employee


def _requests(
    sections: dict[str, list[_Line]],
    name: str,
    employees: set[str],
    shift_ids: set[str],
    days: int,
) -> tuple[Request, ...]:
    out: list[Request] = []
    for line in sections.get(name, []):
        _fields(line, 4, "request")
        out.append(
            Request(
                employee=_employee(line, employees),
                day=_int(line, 1, "day", maximum=days - 1),
                shift=_known(line, 2, shift_ids),
                weight=_int(line, 3, "weight"),
            )
        )
    return tuple(out)


def _known(line: _Line, index: int, shift_ids: set[str]) -> str:
    shift = line.fields[index]
    if shift not in shift_ids:
        raise InstanceError(line.number, "shift", f"unknown shift {shift!r}")
    return shift


def _cover(lines: list[_Line], shift_ids: set[str], days: int) -> tuple[Cover, ...]:
    out: dict[tuple[int, str], Cover] = {}
    for line in lines:
        _fields(line, 5, "cover")
        cover = Cover(
            day=_int(line, 0, "day", maximum=days - 1),
            shift=_known(line, 1, shift_ids),
            requirement=_int(line, 2, "requirement"),
            under_weight=_int(line, 3, "weight for under"),
            over_weight=_int(line, 4, "weight for over"),
        )
        if (cover.day, cover.shift) in out:
            raise InstanceError(line.number, "cover", f"day {cover.day} {cover.shift} twice")
        out[(cover.day, cover.shift)] = cover
    return tuple(out.values())
