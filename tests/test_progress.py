"""Progress bars keep their elapsed time and eta on an 80-column terminal."""
from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from fxbench.progress import progress_bar

TIMES = re.compile(r"\d+:\d\d eta (\d+:\d\d|-:--)(\s|$)")


@pytest.mark.parametrize("description, info", [
    ("train CNN", "train 0.0123  val 0.0456  best 0.0400@3"),
    ("reconstruct SmpRegressor on a long task name", "x" * 200),
    ("build small_bitcrush", ""),
])
def test_bar_fits_80_columns_and_keeps_elapsed_and_eta(description, info):
    out = io.StringIO()
    with progress_bar(description, total=30, to=Console(file=out, width=80)) as advance:
        advance(3, info=info)
    lines = out.getvalue().splitlines()
    assert lines and all(len(line) <= 80 for line in lines), lines
    line = lines[-1]
    assert TIMES.search(line) and "3/30" in line, line
    assert line.startswith("⠋ " + description[:8]), line


def test_finished_bar_shows_zero_eta_and_the_info():
    out = io.StringIO()
    with progress_bar("predict", total=2, to=Console(file=out, width=80)) as advance:
        advance(2, info="done")
    line = out.getvalue().splitlines()[-1]
    assert "2/2" in line and re.search(r"\d+:\d\d eta 0:00 done$", line.rstrip()), line


def test_disabled_bar_draws_nothing():
    out = io.StringIO()
    with progress_bar("train", total=3, enabled=False, to=Console(file=out, width=80)) as advance:
        advance(1, info="x")
    assert out.getvalue() == ""
