"""Result records -> LEADERBOARD.md (and a CSV of the standings): standings.py computes, markdown.py renders,
write.py writes the files; fxbench/plots.py draws the summary chart from the same standings."""
from fxbench.evaluation import CONDITIONS
from fxbench.leaderboard.markdown import OTHER_NOTE, esc, render_leaderboard
from fxbench.leaderboard.standings import (N_BOOT, bootstrap_cis, frame, load_records, standings,
                                           standings_csv)
from fxbench.leaderboard.write import write_leaderboard

__all__ = ["CONDITIONS", "N_BOOT", "OTHER_NOTE", "bootstrap_cis", "esc", "frame", "load_records",
           "render_leaderboard", "standings", "standings_csv", "write_leaderboard"]
