"""The `audio` cells of a dataset: 16-bit PCM as FLAC bytes, the `datasets.Audio` storage the Hub viewer plays.

FLAC is lossless, so decoding gives back the very int16 samples the renderer made (and the Mel features were
computed from); pedalboard's encoder is deterministic, so the same samples give the same bytes and a rebuild
gives byte-identical shards.
"""
from __future__ import annotations

import io
from typing import Any, Optional

import numpy as np

# libFLAC's own default level: nearly as small as pedalboard's default (the slowest), at a fraction of its
# time. It fixes the shards' bytes, so a change to it goes with a FORMAT_VERSION bump.
FLAC_LEVEL = 5


def encode_flac(pcm: np.ndarray, sample_rate: int) -> bytes:
    """Mono int16 samples -> a 16-bit FLAC file's bytes."""
    from pedalboard.io import AudioFile

    pcm = np.asarray(pcm)
    if pcm.dtype != np.int16 or pcm.ndim != 1:
        raise ValueError(f"encode_flac takes mono int16 samples, got {pcm.dtype} of shape {pcm.shape}")
    buf = io.BytesIO()
    with AudioFile(buf, "w", sample_rate, num_channels=1, bit_depth=16, format="flac", quality=FLAC_LEVEL) as f:
        f.write(pcm[None])
    return buf.getvalue()


def audio_cell(pcm: np.ndarray, sample_rate: int, path: Optional[str] = None) -> dict[str, Any]:
    """One `datasets.Audio` value as stored: {"bytes": FLAC, "path": a file name or None}."""
    return {"bytes": encode_flac(pcm, sample_rate), "path": path}


def decode_audio(cell: Any) -> np.ndarray:
    """An `audio` cell (the stored {"bytes", "path"} dict, or the FLAC bytes themselves) -> its int16 samples.
    Reads the file's own integers, not floats scaled back, so the result is exact."""
    from pedalboard.io import AudioFile

    data = cell.get("bytes") if isinstance(cell, dict) else cell
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"an audio cell holds FLAC bytes; got {type(data).__name__} (a dataset of an older "
                         f"format? rebuild it)")
    with AudioFile(io.BytesIO(bytes(data))) as f:
        if f.num_channels != 1:
            raise ValueError(f"audio cell has {f.num_channels} channels; fxbench stores mono")
        pcm = f.read_raw(f.frames)
    if pcm.dtype != np.int16:
        raise ValueError(f"audio cell holds {pcm.dtype} samples; fxbench stores 16-bit PCM")
    return np.ascontiguousarray(pcm[0])


def sample_rate_of(cell: Any) -> int:
    """The sample rate the FLAC bytes of a cell declare."""
    from pedalboard.io import AudioFile

    data = cell.get("bytes") if isinstance(cell, dict) else cell
    with AudioFile(io.BytesIO(bytes(data))) as f:
        return int(f.samplerate)
