"""The fixed part of the demo: skills, activities, contracts and day models.

Customer Service is open Monday to Friday 07:00-20:00 and Saturday 09:00-15:00.
Full-time shifts are 8.5 h with a paid 15-minute break and an unpaid 30-minute
lunch (8 h paid); short shifts are 4.25 h with one paid break.
"""

from __future__ import annotations

from dataclasses import dataclass

from wfm.model import ActivityType

SKILLS = ("Phone", "Email", "Chat")


@dataclass(frozen=True)
class ActivitySpec:
    code: str
    name: str
    type: ActivityType
    paid: bool
    plannable: bool
    replaceable: bool
    priority: int
    skill: str | None
    color: str


ACTIVITIES = (
    ActivitySpec("PHONE", "Phone", ActivityType.PRESENCE, True, True, False, 3, "Phone", "#2e7d32"),
    ActivitySpec("EMAIL", "Email", ActivityType.PRESENCE, True, True, False, 2, "Email", "#1565c0"),
    ActivitySpec("CHAT", "Chat", ActivityType.PRESENCE, True, True, False, 2, "Chat", "#6a1b9a"),
    ActivitySpec(
        "BACK", "Back office", ActivityType.PRESENCE, True, True, True, 1, None, "#8d6e63"
    ),
    ActivitySpec("BREAK", "Break", ActivityType.BREAK, True, True, False, 1, None, "#fbc02d"),
    ActivitySpec("LUNCH", "Lunch", ActivityType.BREAK, False, True, False, 1, None, "#f57f17"),
    ActivitySpec(
        "MEET", "Team meeting", ActivityType.MEETING, True, True, True, 1, None, "#00838f"
    ),
    ActivitySpec("TRAIN", "Training", ActivityType.MEETING, True, True, False, 2, None, "#00695c"),
    ActivitySpec("SICK", "Illness", ActivityType.ILLNESS, True, False, False, 9, None, "#c62828"),
    ActivitySpec("VAC", "Vacation", ActivityType.VACATION, True, False, False, 9, None, "#ef6c00"),
    ActivitySpec(
        "UNPAID", "Unpaid leave", ActivityType.ABSENCE, False, False, False, 9, None, "#757575"
    ),
)


@dataclass(frozen=True)
class ContractSpec:
    name: str
    hours_min: float
    hours_target: float
    hours_max: float
    max_consecutive_work_days: int
    min_rest_hours: float
    min_days_off_per_week: int


CONTRACTS = (
    ContractSpec("Full-time 40 h", 36, 40, 44, 6, 11, 2),
    ContractSpec("Part-time 30 h", 26, 30, 32, 5, 11, 2),
    ContractSpec("Part-time 20 h", 16, 20, 24, 5, 11, 2),
)


@dataclass(frozen=True)
class BreakSpec:
    activity: str
    length: int
    earliest: int
    latest: int


FULL_BREAKS = (BreakSpec("BREAK", 15, 90, 150), BreakSpec("LUNCH", 30, 210, 300))
SHORT_BREAKS = (BreakSpec("BREAK", 15, 90, 150),)
WEEKDAYS = "1111100"


@dataclass(frozen=True)
class DayModelSpec:
    code: str
    name: str
    activity: str
    earliest: int
    latest: int
    length: int
    weekdays: str
    breaks: tuple[BreakSpec, ...]


def _h(hours: float) -> int:
    return round(hours * 60)


DAY_MODELS = (
    DayModelSpec("E", "Early", "PHONE", _h(7), _h(8), 510, WEEKDAYS, FULL_BREAKS),
    DayModelSpec("M", "Middle", "PHONE", _h(8.5), _h(10), 510, WEEKDAYS, FULL_BREAKS),
    DayModelSpec("L", "Late", "PHONE", _h(10.5), _h(11.5), 510, WEEKDAYS, FULL_BREAKS),
    DayModelSpec("SM", "Short morning", "PHONE", _h(7), _h(9), 255, WEEKDAYS, SHORT_BREAKS),
    DayModelSpec("SA", "Short afternoon", "PHONE", _h(14), _h(15.75), 255, WEEKDAYS, SHORT_BREAKS),
    DayModelSpec("EM", "Email day", "EMAIL", _h(8), _h(10), 510, WEEKDAYS, FULL_BREAKS),
    DayModelSpec("CH", "Chat day", "CHAT", _h(9), _h(11), 510, WEEKDAYS, FULL_BREAKS),
    DayModelSpec("BO", "Back office day", "BACK", _h(8), _h(9), 510, WEEKDAYS, FULL_BREAKS),
    DayModelSpec("SAT", "Saturday", "PHONE", _h(9), _h(9), 360, "0000010", SHORT_BREAKS),
)

#: Shift sequences: name → (weeks, rows, {(row, week): seven day-model codes or "-"}).
SEQUENCES: dict[str, tuple[int, int, dict[tuple[int, int], tuple[str, ...]]]] = {
    "Phone full-time": (
        4,
        4,
        {
            (row, week): tuple(
                ("E", "M", "L", "M")[(row + week) % 4] if d < 5 else "-" for d in range(7)
            )
            for row in range(4)
            for week in range(4)
        }
        | {
            # One back-office day a month, and a Saturday instead of a Monday.
            (0, 2): ("E", "BO", "E", "E", "E", "-", "-"),
            (1, 2): ("M", "M", "BO", "M", "M", "-", "-"),
            (2, 1): ("-", "L", "L", "L", "L", "SAT", "-"),
            (3, 3): ("-", "M", "M", "BO", "M", "SAT", "-"),
        },
    ),
    "Written channels full-time": (
        1,
        2,
        {
            (0, 0): ("EM", "EM", "BO", "EM", "EM", "-", "-"),
            (1, 0): ("CH", "CH", "CH", "BO", "CH", "-", "-"),
        },
    ),
    "Part-time 30 h": (
        2,
        2,
        {
            (0, 0): ("E", "E", "SM", "E", "-", "-", "-"),
            (1, 0): ("-", "L", "L", "SA", "L", "-", "-"),
            (0, 1): ("-", "L", "L", "SA", "L", "-", "-"),
            (1, 1): ("E", "E", "SM", "E", "-", "-", "-"),
        },
    ),
    "Part-time 20 h": (
        1,
        2,
        {
            (0, 0): ("SM", "SM", "SM", "SM", "-", "-", "-"),
            (1, 0): ("-", "SA", "SA", "SA", "SA", "-", "-"),
        },
    ),
}

FIRST_NAMES = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hugo",
    "Ida",
    "Jonas",
    "Karla",
    "Leon",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Quentin",
    "Rosa",
    "Samuel",
    "Tara",
    "Uwe",
    "Vera",
    "Willem",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Amir",
    "Bea",
    "Carlos",
    "Dana",
    "Erik",
    "Fatima",
    "Georg",
    "Hanna",
    "Ivan",
    "Julia",
]
LAST_NAMES = [
    "Arnold",
    "Berger",
    "Castillo",
    "Dietrich",
    "Eriksen",
    "Fischer",
    "Gallo",
    "Hofmann",
    "Iversen",
    "Jansen",
    "Keller",
    "Lang",
    "Moreau",
    "Nowak",
    "Olsen",
    "Petrov",
    "Quinn",
    "Richter",
    "Schmidt",
    "Tanaka",
    "Ulrich",
    "Vogel",
    "Weber",
    "Xu",
    "Young",
    "Zimmer",
    "Bauer",
    "Costa",
    "Duval",
    "Engel",
]
