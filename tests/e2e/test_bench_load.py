"""The sustained-load figure (bench/load.py) runs on a real stack at a tiny size, so it cannot rot.

No timing is asserted: the figure's goals are judged by `make bench`, not by the tests.
"""

from __future__ import annotations


def test_sustained_load_figure_runs_at_a_tiny_size():
    from bench import load

    figure = load.sustained_load(minutes=0.1, clients=2, events=200)
    assert figure.details["requests"] > 0 and figure.details["exit_code"] == 0
    assert figure.details["errors"] == [], figure.details["errors"]
    assert len(figure.details["rss_mb"]) >= 2 and figure.details["lateness_s"]
