"""``python -m wfm.benchmark solve``: an instance through the jobs, the roster as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import nrp_checker
import pytest

from wfm.benchmark.cli import main

INSTANCES = Path("/work/shared/nrp/instances")


def test_solve_writes_the_roster_and_prints_the_objective(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "roster.json"
    path = INSTANCES / "Instance1.txt"
    argv = ["solve", str(path), "--time-limit", "60", "--database-url", database_url]
    assert main([*argv, "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("objective 607 (optimal")
    roster = json.loads(out.read_text())
    assert sorted(roster) == list("ABCDEFGH")
    assert nrp_checker.violations(path.read_text(), roster) == []
    assert nrp_checker.objective(path.read_text(), roster) == 607


def test_a_bad_file_is_named_with_its_line_and_nothing_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text((INSTANCES / "Instance1.txt").read_text().replace("A,0", "A,14"))
    assert main(["solve", str(bad), "--out", str(tmp_path / "r.json")]) == 2
    assert "line 24: day: 14 is out of range" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()
