"""Where a planning unit imported from the Curtois & Qu benchmark came from, and its score.

The import turns the instance into the WFM model (day models, contracts, wishes,
requirements, days off; see ``wfm.benchmark.importing``); this row records the file
as imported, so that a roster can be checked against the original, and the
benchmark objective of the roster saved to the Schedule level.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wfm.model.base import Base


class BenchmarkInstance(Base):
    """The benchmark instance behind a planning unit, and the objective of its saved roster."""

    __tablename__ = "wfm_benchmark_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    planning_unit_id: Mapped[int] = mapped_column(
        ForeignKey("wfm_planning_units.id", ondelete="CASCADE"), unique=True
    )
    name: Mapped[str] = mapped_column(String(100))
    #: The file as imported, in the benchmark's text format (a record: the optimizer
    #: reads the WFM model).
    text: Mapped[str] = mapped_column(Text)
    days: Mapped[int] = mapped_column(Integer)
    #: The benchmark objective of the roster in the Schedule level, or None before a solve.
    objective: Mapped[int | None] = mapped_column(Integer, default=None)
