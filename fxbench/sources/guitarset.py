"""GuitarSet's mono microphone takes, split by player so no guitarist is in two splits.

Reading, probing and hashing are FolderSource's; this module adds GuitarSet's file
names (player, style, progression, tempo, key, comp/solo) and fixed player splits,
as RemFX did, so test scores measure generalisation to an unseen player.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fxbench.errors import FxbenchError
from fxbench.sources.base import Recording
from fxbench.sources.folder import FolderSource, list_audio_files
from fxbench.sources.registry import register_source

AUDIO_DIR = "audio_mono-mic"
SPLITS = ("train", "validation", "test")
DEFAULT_SPLIT_PLAYERS: dict[str, list[str]] = {"train": ["00", "01", "02", "03"], "validation": ["04"],
                                               "test": ["05"]}
STYLES = {"BN": "bossa nova", "Funk": "funk", "Jazz": "jazz", "Rock": "rock", "SS": "singer-songwriter"}
NAME_RE = re.compile(r"(?P<player>\d{2})_(?P<style>BN|Funk|Jazz|Rock|SS)(?P<progression>[1-3])"
                     r"-(?P<tempo>\d{2,3})-(?P<key>[A-G][b#]?)_(?P<mode>comp|solo)_mic")
EXPECTED = "PLAYER_STYLE{1-3}-TEMPO-KEY_{comp|solo}_mic.wav, e.g. 00_BN1-129-Eb_comp_mic.wav"
HOW_TO_GET = ("download GuitarSet (https://guitarset.weebly.com or `pip install mirdata`; "
              "`mirdata.initialize('guitarset').download()`) and pass --source guitarset:PATH "
              f"where PATH/{AUDIO_DIR}/*.wav exist")


def parse_name(filename: str) -> dict[str, Any] | None:
    """GuitarSet's fields from a file name (extension ignored), or None if it is not one."""
    m = NAME_RE.fullmatch(Path(filename).name.rsplit(".", 1)[0])
    if m is None:
        return None
    return {"player": m["player"], "style": STYLES[m["style"]], "style_code": m["style"],
            "progression": int(m["progression"]), "tempo": int(m["tempo"]), "key": m["key"], "mode": m["mode"]}


def _normalise_splits(split_players: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """{'train': ['00', ...], ...} with two-digit players; a player in two splits is an error."""
    given = DEFAULT_SPLIT_PLAYERS if split_players is None else split_players
    if sorted(given) != sorted(SPLITS) or not all(given[s] for s in SPLITS):
        raise FxbenchError(f"split_players needs non-empty 'train', 'validation' and 'test' player lists, "
                           f"got {given!r}", exit_code=2)
    out = {s: sorted(f"{int(p):02d}" for p in given[s]) for s in SPLITS}
    seen: dict[str, str] = {}
    for s in SPLITS:
        for p in out[s]:
            if p in seen:
                raise FxbenchError(f"GuitarSet player {p} is in both {seen[p]!r} and {s!r}; "
                                   f"give each player one split", exit_code=2)
            seen[p] = s
    return out


CITATION = ('Q. Xi, R. M. Bittner, J. Pauwels, X. Ye, J. P. Bello, "GuitarSet: A Dataset for Guitar '
            'Transcription", ISMIR 2018 (CC-BY-4.0)')


@register_source("guitarset", kind="real", licence="cc-by-4.0", takes_path=True, path_hint=HOW_TO_GET,
                 public_audio=True,
                 description="a local copy of GuitarSet's audio_mono-mic takes (acoustic guitar, 6 players)",
                 splits="fixed, by player: train 00-03, validation 04, test 05", credit=CITATION)
def open_guitarset(task: Any, seed: int, arg: str, clips_per_recording: int) -> "GuitarSetSource":
    """Split by player, as RemFX did, so test scores measure generalisation to an unseen guitarist."""
    return GuitarSetSource(Path(arg).expanduser(), sample_rate=task.sample_rate, min_seconds=task.clip_seconds)


class GuitarSetSource:
    """GuitarSet audio_mono-mic takes; recording ids are mirdata's track ids (00_BN1-129-Eb_comp)."""

    name = "guitarset"
    version = 1  # bump whenever naming, meta or splitting changes

    def __init__(self, path: str | Path, sample_rate: int = 44100,
                 split_players: dict[str, list[str]] | None = None, min_seconds: float = 2.0) -> None:
        root = Path(path).expanduser()
        audio = root / AUDIO_DIR if (root / AUDIO_DIR).is_dir() else root
        if not (audio.is_dir() and audio.name == AUDIO_DIR):
            raise FxbenchError(f"no {AUDIO_DIR} folder under {path}; {HOW_TO_GET}", exit_code=2)
        files = list_audio_files(audio)
        if not files:
            raise FxbenchError(f"{audio} has no audio files; {HOW_TO_GET}", exit_code=2)
        self.split_players = _normalise_splits(split_players)
        split_of_player = {p: s for s, players in self.split_players.items() for p in players}
        self._warnings: list[str] = []
        self._tracks: dict[str, tuple[str, dict[str, Any]]] = {}  # track id -> (file, fields)
        left_out: dict[str, int] = {}
        for rel in files:
            fields = parse_name(rel)
            if fields is None:
                raise FxbenchError(f"unexpected GuitarSet file name {audio / rel}; expected {EXPECTED} "
                                   f"(move other files out of {audio})", exit_code=2)
            track = Path(rel).name.rsplit(".", 1)[0][:-len("_mic")]
            if track in self._tracks:
                raise FxbenchError(f"GuitarSet track {track} appears twice under {audio} ({self._tracks[track][0]} "
                                   f"and {rel}); keep one copy", exit_code=2)
            if fields["player"] not in split_of_player:
                left_out[fields["player"]] = left_out.get(fields["player"], 0) + 1
                continue
            self._tracks[track] = (rel, fields)
        for p, n in sorted(left_out.items()):
            self._warnings.append(f"left out player {p}'s {n} recordings: the player is in no split of "
                                  f"split_players {self.split_players}")
        if not self._tracks:
            raise FxbenchError(f"no GuitarSet recordings under {audio} belong to a player of "
                               f"split_players {self.split_players}", exit_code=2)
        self._split_of_player = split_of_player
        self.folder = FolderSource(audio, sample_rate, min_seconds, files=[f for f, _ in self._tracks.values()])
        self.sample_rate, self.min_seconds = self.folder.sample_rate, self.folder.min_seconds
        self._ids: list[str] | None = None

    @property
    def warnings(self) -> list[str]:
        return self._warnings + self.folder.warnings

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """Files FolderSource could not use (players left out by split_players are in `warnings`)."""
        return self.folder.skipped

    def recording_ids(self) -> list[str]:
        """Track ids whose file is usable; every split must keep at least one."""
        if self._ids is None:
            kept = self.folder.scan()
            ids = sorted(t for t, (rel, _) in self._tracks.items() if rel in kept)
            for s in SPLITS:
                if not any(self._split_of(t) == s for t in ids):
                    raise FxbenchError(f"GuitarSet split {s!r} has no usable recordings under {self.folder.root} "
                                       f"(players {', '.join(self.split_players[s])}); {HOW_TO_GET}",
                                       exit_code=2)
            self._ids = ids
        return self._ids

    def _split_of(self, track: str) -> str:
        return self._split_of_player[self._tracks[track][1]["player"]]

    def fixed_splits(self) -> dict[str, str]:
        """Recording id -> split by player, used instead of the builder's seeded shuffle."""
        return {t: self._split_of(t) for t in self.recording_ids()}

    def spec(self) -> dict[str, Any]:
        return {**self.folder.spec(), "name": self.name, "version": self.version,
                "folder_version": self.folder.version, "split_players": self.split_players}

    def load(self, recording_id: str) -> Recording:
        rel, fields = self._tracks[recording_id]  # KeyError for an unknown id
        rec = self.folder.load(rel)
        return Recording(recording_id, rec.audio, rec.sample_rate, {**fields, **rec.meta})
