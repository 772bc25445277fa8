"""Sample-rate reduction: down to a lower rate and back to the task's rate (the paper's supplement).

The round trip keeps the clip's length and the spectrogram's shape, so the only trace of the
effective rate is the missing band above its Nyquist frequency (plus the resampler's roll-off).
torchaudio's polyphase windowed-sinc resampler is used, as in the paper: with its kernels made once, a
2-s round trip takes 1-2.3 ms on one core here, against 20-55 ms for pedalboard's default ``Resample``
quality; tasks/samplerate.yaml gives the settings and the measured stop band.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from fxbench.render import Effect, register_effect


@register_effect("TorchaudioResample")
def torchaudio_resample(settings: dict, sample_rate: int) -> Effect:
    """Settings: ``rate_khz`` (the effective rate), ``lowpass_filter_width``, ``rolloff``."""
    import torch
    import torchaudio.transforms as AT

    from fxbench.errors import FxbenchError

    rate_hz = Fraction(str(settings["rate_khz"])) * 1000
    if rate_hz.denominator != 1 or not 0 < rate_hz <= sample_rate:
        raise FxbenchError(f"TorchaudioResample: rate_khz {settings['rate_khz']} must be a whole number of Hz "
                           f"between 0 and {sample_rate / 1000} kHz; fix the grid in the task file")
    target = int(rate_hz)
    opts = {"lowpass_filter_width": int(settings.get("lowpass_filter_width", 16)),
            "rolloff": float(settings.get("rolloff", 0.95)), "resampling_method": "sinc_interp_hann"}
    unknown = set(settings) - {"rate_khz", "lowpass_filter_width", "rolloff"}
    if unknown:
        raise FxbenchError(f"TorchaudioResample: unknown setting {sorted(unknown)[0]!r}; allowed: rate_khz, "
                           f"lowpass_filter_width, rolloff")

    # The two windowed-sinc kernels are made once per effect, not per clip (a tenth of a samplerate build's
    # time); the transform applies them exactly as torchaudio.functional.resample does, to the same bits.
    down, up = (AT.Resample(a, b, dtype=torch.float32, **opts) for a, b in ((sample_rate, target),
                                                                             (target, sample_rate)))

    def apply(audio: np.ndarray) -> np.ndarray:
        if target == sample_rate:
            return audio
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
            out = up(down(x))[0, :audio.shape[0]].numpy()
        return np.pad(out, (0, audio.shape[0] - out.shape[0])) if out.shape[0] < audio.shape[0] else out

    return apply
