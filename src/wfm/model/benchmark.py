"""A planning unit imported from the Curtois & Qu benchmark, and its best roster.

The instance text is kept whole: its rules (per-employee limits by shift type,
minimum runs of days off, weekends) have no counterpart yet in the contracts and day
models of the WFM model, so ``wfm.create_optimized_schedule`` reads them from here
for such a unit, and saves the roster it finds here too (as JSON, with its
objective), replacing the previous one only when a solve ends normally.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wfm.model.base import Base


class BenchmarkInstance(Base):
    """The benchmark instance behind a planning unit, and the roster saved for it."""

    __tablename__ = "wfm_benchmark_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    planning_unit_id: Mapped[int] = mapped_column(
        ForeignKey("wfm_planning_units.id", ondelete="CASCADE"), unique=True
    )
    name: Mapped[str] = mapped_column(String(100))
    #: The file as imported, in the benchmark's text format.
    text: Mapped[str] = mapped_column(Text)
    days: Mapped[int] = mapped_column(Integer)
    #: ``{"employee id": ["D", "", ...]}`` as JSON, or None before the first solve.
    roster: Mapped[str | None] = mapped_column(Text, default=None)
    objective: Mapped[int | None] = mapped_column(Integer, default=None)
