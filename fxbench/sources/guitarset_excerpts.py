"""Eight GuitarSet takes shipped inside the package: real guitar with no download, CC-BY-4.0.

The split is GuitarSet's own by player (``guitarset``: 00-03 train, 04 validation, 05 test) restricted
to the three players present, so no guitarist is in two splits: player 03 trains (three different
pieces, the most varied and longest material), 04 validates (one take, enough for model selection) and
05 tests (comp and solo of two styles, so the score covers both playing modes). The spec hashes the
audio (as FolderSource does), so the fingerprint is the same wherever the package is installed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fxbench.sources.guitarset import CITATION, GuitarSetSource
from fxbench.sources.registry import register_source

DATA = Path(__file__).resolve().parent / "data" / "guitarset-excerpts"
SPLIT_PLAYERS = {"train": ["03"], "validation": ["04"], "test": ["05"]}


class GuitarSetExcerptsSource(GuitarSetSource):
    """GuitarSetSource on the packaged excerpts, with the players split above."""

    name = "guitarset-excerpts"
    version = 1  # bump whenever the excerpts or their split change

    def __init__(self, sample_rate: int = 44100, min_seconds: float = 2.0) -> None:
        super().__init__(DATA, sample_rate=sample_rate, split_players=SPLIT_PLAYERS, min_seconds=min_seconds)

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "guitarset_version": GuitarSetSource.version}


@register_source("guitarset-excerpts", kind="real", licence="cc-by-4.0", credit=CITATION, public_audio=True,
                 description="8 GuitarSet takes (players 03-05, ~4 min) shipped with fxbench: real audio, no download",
                 splits="fixed, by player: train 03, validation 04, test 05")
def open_guitarset_excerpts(task: Any, seed: int, arg: None, clips_per_recording: int) -> GuitarSetExcerptsSource:
    """Real audio for a quick run or a test, wherever fxbench is installed."""
    return GuitarSetExcerptsSource(sample_rate=task.sample_rate, min_seconds=task.clip_seconds)
