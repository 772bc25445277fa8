"""A folder of the user's own dry recordings: one audio file = one recording.

Files are probed and hashed once per instance: the hashes go into ``spec()`` so the
dataset fingerprint follows the audio itself, not the folder's location. Unusable
files are skipped with a one-line warning rather than failing a long build.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pedalboard.io import AudioFile, StreamResampler

from fxbench.checksums import sha256_file
from fxbench.errors import FxbenchError
from fxbench.sources.base import Recording
from fxbench.sources.registry import register_source

AUDIO_EXTENSIONS = ("wav", "flac", "mp3", "ogg", "aiff", "aif")
_MP3_DECODER_DELAY = 529  # samples every mp3 decoder adds on top of the encoder delay


@dataclass(frozen=True)
class FileInfo:
    """What one probe of a file found; `trim`/`frames` select the real audio (mp3 gapless)."""

    rel: str
    size: int
    sha256: str
    sample_rate: int
    channels: int
    frames: int
    trim: int = 0


def list_audio_files(root: Path) -> list[str]:
    """Audio files under `root`, recursively, as sorted POSIX paths relative to it."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.suffix[1:].lower() in AUDIO_EXTENSIONS)


def _mp3_gapless(path: Path, decoded_frames: int) -> tuple[int, int] | None:
    """(start, length) of the real audio from the LAME tag's encoder delay and padding, if the file has
    one and the decoder left them in (pedalboard 0.9 does): else None, and the decoded audio is kept."""
    from mutagen import MutagenError
    from mutagen.mp3 import MP3
    from mutagen.mp3._util import XingHeader, XingHeaderError  # mutagen's LAME tag parser; MP3 keeps no delay

    try:
        info = MP3(str(path)).info
        if info.layer != 3:
            return None
        with open(path, "rb") as f:
            f.seek(info.frame_offset + XingHeader.get_offset(info))
            xing = XingHeader(f)
    except (MutagenError, XingHeaderError, OSError):
        return None
    lame = xing.lame_header
    if lame is None or xing.frames < 0:
        return None  # no delay/padding, or no frame count to check what the decoder did
    per_frame = 1152 if info.version == 1 else 576  # MPEG-1 layer III vs MPEG-2/2.5
    if decoded_frames != xing.frames * per_frame:
        return None  # decoder already trimmed (or counts differently): trust it
    length = xing.frames * per_frame - lame.encoder_delay_start - lame.encoder_padding_end
    skip = lame.encoder_delay_start + _MP3_DECODER_DELAY
    return skip, max(0, min(length, decoded_frames - skip))


@register_source("folder", kind="real", licence="other", takes_path=True,
                 description="every audio file under a folder of your own dry recordings (one file = one recording)",
                 path_hint="e.g. --source folder:~/guitar-di")
def open_folder(task: Any, seed: int, arg: str, clips_per_recording: int) -> "FolderSource":
    """The licence is whatever the user's recordings carry, which fxbench cannot know: 'other'."""
    return FolderSource(Path(arg).expanduser(), sample_rate=task.sample_rate, min_seconds=task.clip_seconds)


class FolderSource:
    """Every audio file under a folder, as mono float32 at `sample_rate`."""

    name = "folder"
    version = 1  # bump whenever decoding, downmixing or resampling changes

    def __init__(self, path: str | Path, sample_rate: int = 44100, min_seconds: float = 2.0,
                 files: list[str] | None = None) -> None:
        """`files` restricts the source to these relative paths (used by GuitarSetSource)."""
        self.root = Path(path).expanduser()
        self.sample_rate, self.min_seconds = int(sample_rate), float(min_seconds)
        if not self.root.is_dir():
            what = "is a file, not a folder" if self.root.exists() else "does not exist"
            raise FxbenchError(f"source folder {path} {what}; pass an existing folder of audio files", exit_code=2)
        self.files = list_audio_files(self.root) if files is None else sorted(files)
        if not self.files:
            raise FxbenchError(f"no audio files ({', '.join(AUDIO_EXTENSIONS[:5])}) under {path}; "
                               f"put your dry recordings there (subfolders are searched too)", exit_code=2)
        self.warnings: list[str] = []
        self.skipped: list[tuple[str, str]] = []  # (relative path, reason)
        self._kept: dict[str, FileInfo] | None = None

    def _probe(self, rel: str) -> FileInfo | str:
        """FileInfo for a usable file, else the reason it is skipped."""
        path = self.root / rel
        size = path.stat().st_size
        if size == 0:
            return "empty file (0 bytes)"
        try:
            with AudioFile(str(path)) as f:
                sr, channels, frames = int(f.samplerate), int(f.num_channels), int(f.frames)
        except Exception as e:  # noqa: BLE001 - pedalboard raises several types for bad files
            return "unreadable: " + " ".join(str(e).split())[:160]
        trim = 0
        if rel.lower().endswith(".mp3"):
            gapless = _mp3_gapless(path, frames)
            if gapless:
                trim, frames = gapless
        if frames <= 0:
            return "no audio frames"
        if frames < self.min_seconds * sr:
            return f"{frames / sr:.2f} s long, shorter than min_seconds={self.min_seconds:g} s (one clip)"
        return FileInfo(rel, size, sha256_file(path), sr, channels, frames, trim)

    def scan(self) -> dict[str, FileInfo]:
        """Probe and hash every file once; fills `warnings` and `skipped`."""
        if self._kept is None:
            kept: dict[str, FileInfo] = {}
            for rel in self.files:
                found = self._probe(rel)
                if isinstance(found, str):
                    self.skipped.append((rel, found))
                    self.warnings.append(f"skipped {rel}: {found}")
                else:
                    kept[rel] = found
            if not kept:
                rel, why = self.skipped[0]
                raise FxbenchError(f"all {len(self.files)} audio files under {self.root} were skipped "
                                   f"(first: {rel}: {why}); give files that play and last at least "
                                   f"{self.min_seconds:g} s", exit_code=2)
            self._kept = kept
        return self._kept

    def spec(self) -> dict[str, Any]:
        """Content hashes, not paths: moving the folder keeps the fingerprint, editing a file changes it."""
        return {"name": self.name, "version": self.version, "sample_rate": self.sample_rate,
                "min_seconds": self.min_seconds,
                "files": [{"file": i.rel, "bytes": i.size, "sha256": i.sha256} for i in self.scan().values()]}

    def recording_ids(self) -> list[str]:
        return sorted(self.scan())

    def load(self, recording_id: str) -> Recording:
        info = self.scan()[recording_id]  # KeyError for an unknown id, like SynthSource
        try:
            with AudioFile(str(self.root / info.rel)) as f:
                x = f.read(f.frames)
        except Exception as e:  # noqa: BLE001
            raise FxbenchError(f"cannot read {self.root / info.rel}: {e}; was it changed during the build?") from e
        y = x.mean(axis=0) if x.shape[0] > 1 else x[0]
        y = np.nan_to_num(np.ascontiguousarray(y[info.trim:info.trim + info.frames], dtype=np.float32))
        if info.sample_rate != self.sample_rate:
            rs = StreamResampler(info.sample_rate, self.sample_rate, 1)  # latency-compensated sinc, as resampled_to
            y = np.concatenate([rs.process(y[None]), rs.process()], axis=1)[0]
        meta = {"file": info.rel, "original_sample_rate": info.sample_rate, "original_channels": info.channels,
                "format": info.rel.rsplit(".", 1)[-1].lower()}
        return Recording(recording_id, np.ascontiguousarray(y, dtype=np.float32), self.sample_rate, meta)
