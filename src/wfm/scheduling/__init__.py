"""Scheduling logic with no job or database concerns: sequences, solver, refinement."""
