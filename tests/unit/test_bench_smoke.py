"""The benchmarks' pure figures run at a tiny size, so the bench code cannot rot (no timing assertions)."""

from __future__ import annotations

from bench import pure
from bench.run import table


def test_preview_figure_runs_at_a_tiny_size():
    figure = pure.preview(count=50, repeats=1)
    assert figure.ratio is not None and figure.details["count"] == 50


def test_conflict_sweep_figure_runs_and_agrees_with_pairwise():
    figure = pure.conflict_sweep(sizes=(20, 200), repeats=1)
    assert set(figure.details["by_bookings"]) == {20, 200}
    assert "conflict sweep" in table([figure])
