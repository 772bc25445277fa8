"""The leaderboard's files: LEADERBOARD.md, and on request the summary chart and the standings as CSV."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from fxbench.leaderboard.canonical import find_digests
from fxbench.leaderboard.markdown import render_leaderboard
from fxbench.leaderboard.standings import frame, standings_csv
from fxbench.results import atomic_write_text, scan_records

NOTES_FILE = "notes.md"  # beside the results folder: findings that numbers alone don't tell
AUDIBILITY_FILE = "identifiability.json"  # beside it too: `fxbench tasks --details --json`, per task


def write_leaderboard(results_dir: Path, output: Path, *, chart: Optional[Path] = None,
                      csv: Optional[Path] = None) -> tuple[Path, int, list[str]]:
    """Render every record under ``results_dir`` into ``output`` atomically; return (path, n records,
    the one-line reason of each file rejected, which the page lists apart).

    ``notes.md`` next to the results folder, when present, becomes the page's "Notes" section, and
    ``identifiability.json`` there each task's audibility line.
    Everything is computed before anything is written, and the page is written last, so a failure
    leaves the old page untouched.
    """
    found, bad = scan_records(results_dir)
    records = frame([r for _, r in found], [p.as_posix() for p, _ in found], find_digests(results_dir))
    rejected = [why for _, why in bad]
    notes_path = Path(results_dir).parent / NOTES_FILE
    notes = notes_path.read_text(encoding="utf-8") if notes_path.is_file() else ""
    audibility: dict[str, str] = {}
    measures = Path(results_dir).parent / AUDIBILITY_FILE
    if measures.is_file():
        from fxbench.identifiability import read_measures

        audibility, why = read_measures(measures)
        if why:
            rejected.append(why)
    text = render_leaderboard(records, Path(results_dir).as_posix(), notes, rejected, audibility)
    table = standings_csv(records) if csv is not None else None
    if chart is not None:
        from fxbench.plots import summary_chart_png

        summary_chart_png(records, Path(chart))
    if table is not None:
        atomic_write_text(Path(csv), table)
    atomic_write_text(output, text)
    return Path(output), len(records), rejected
