"""Embedded default source: deterministic synthetic guitar recordings, no download.

A Karplus-Strong string is periodic up to its loop filter: each trip round the loop
scales harmonic m by its own gain.  So instead of a per-sample loop, a note is one
batched inverse FFT of a (blocks x harmonics) gain matrix, a block holding a whole
number of periods.  Pick position, pickup position, per-string damping, note-off
muting, body resonances and detuning stay explicit per-player parameters.

What a model learns here has to carry over to real guitar, so the takes are shaped after
real DI and microphone recordings: phrases and rests (a clip is never loud throughout),
soft pick attacks (an instant onset is a broadband click real strings do not make),
faster decays, and a louder, darker noise floor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator

import numpy as np
import pedalboard as pb

from .base import Recording
from .registry import register_source

OPEN = (40, 45, 50, 55, 59, 64)  # standard tuning, MIDI E2..E4
KEYS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
STYLES = ("strum", "arpeggio", "lead")
TRIADS = {"maj": (0, 4, 7), "min": (0, 3, 7)}
PROGRESSIONS = {
    "major": (((0, "maj"), (7, "maj"), (9, "min"), (5, "maj")), ((0, "maj"), (5, "maj"), (7, "maj"), (5, "maj")),
              ((9, "min"), (5, "maj"), (0, "maj"), (7, "maj")), ((0, "maj"), (9, "min"), (2, "min"), (7, "maj"))),
    "minor": (((0, "min"), (8, "maj"), (3, "maj"), (10, "maj")), ((0, "min"), (5, "min"), (7, "min"), (0, "min")),
              ((0, "min"), (10, "maj"), (8, "maj"), (10, "maj"))),
}
SCALES = {"major": ((0, 2, 4, 5, 7, 9, 11), (0, 2, 4, 7, 9)), "minor": ((0, 2, 3, 5, 7, 8, 10), (0, 3, 5, 7, 10))}
STRUMS = ("D.D.D.D.", "D.DUD.DU", "D.DU.UDU", "DUDUDUDU", "D..UD.DU", "D.D..UDU")  # eighth notes
ARPS = ((0, 2, 3, 4, 5, 4, 3, 2), (0, 3, 2, 4, 3, 5, 4, 3), (0, 2, 4, 3, 5, 3, 4, 2), (0, 4, 3, 5, 1, 4, 3, 5))
LEAD_DURS = (1, 2, 2, 3, 4, 4, 6, 8)  # in sixteenths
NOISE_FLOOR_DB = (-80.0, -45.0)  # RMS of the recording chain's floor, dB re the peak


@dataclass(frozen=True)
class _Player:
    """A guitarist + guitar: everything that should stay constant across their takes."""

    instrument: str
    style_p: tuple[float, float, float]
    tempo: float
    pick_pos: float  # fraction of string length from the bridge (comb-filters the pluck)
    pickup_pos: float
    tilt: float  # harmonic roll-off exponent
    bright_hz: float  # pick hardness
    damp: tuple[float, float, float]  # loss (nepers/s) = d0 + d1 f + d2 f^2
    string_loss: tuple[float, ...]  # per-string loop-gain factor
    tuning: tuple[float, ...]  # per-string detuning, cents
    release_s: float  # note-off (finger mute) decay time
    vel: tuple[float, float]
    strum_ms: float
    jitter_ms: float
    swing: float
    legato: float
    busy: float  # how often the lead player picks short notes
    body: tuple[tuple[float, float, float], ...]  # peak filters (Hz, dB, Q)
    lowpass_hz: float
    rest_p: float  # share of phrases left as rests (strings ring out or are muted)
    phrase_db: float  # spread of phrase-to-phrase loudness, dB
    click: float  # pick-noise level (a DI's pick click is faint, a miked acoustic's is not)
    let_ring: float  # chance a phrase's last notes ring on into the rest
    attack_ms: float  # pick release time: a soft pick or a finger is slower and darker


def _player(seed: int, player: int) -> _Player:
    """Seeded from (seed, player) only, so a player sounds the same in every recording."""
    r = np.random.default_rng([seed, 2, player])
    u = lambda a, b: float(r.uniform(a, b))  # noqa: E731
    electric = bool(r.random() < 0.6)
    if electric:  # pickup resonance instead of a body
        body = ((u(100, 160), u(0, 3), 0.8), (u(2500, 5000), u(4, 9), u(1.5, 3.0)))
    else:  # air mode, top plate, upper-mid radiation
        body = ((u(90, 115), u(6, 10), u(2, 4)), (u(180, 250), u(4, 8), u(2, 3)),
                (u(380, 520), u(1, 4), u(1.5, 3)), (u(2000, 3200), u(1, 4), 1.0))
    style_p = 0.5 * r.dirichlet((1.0, 1.0, 1.0)) + 0.5 / 3
    return _Player(
        instrument="electric" if electric else "acoustic", style_p=tuple(style_p.tolist()),
        tempo=u(80, 150), pick_pos=u(0.08, 0.3), pickup_pos=u(0.06, 0.25), tilt=u(0.6, 1.0),
        bright_hz=u(4000, 12000), damp=(u(0.4, 2.5) * (1.0 if electric else 1.5), u(5e-4, 3e-3), u(5e-7, 4e-6)),
        string_loss=tuple(r.uniform(0.8, 1.25, 6).tolist()), tuning=tuple(r.normal(0, u(1, 5), 6).tolist()),
        release_s=u(0.04, 0.12), vel=(u(0.5, 0.85), u(0.05, 0.2)), strum_ms=u(4, 15), jitter_ms=u(2, 10),
        swing=u(0, 0.12) * (r.random() < 0.4), legato=u(0.45, 1.0), busy=u(0, 1),
        body=body, lowpass_hz=u(2500, 9000) if electric else u(6000, 14000),
        rest_p=u(0.1, 0.4), phrase_db=u(2, 8), click=u(0.005, 0.05) if electric else u(0.03, 0.15),
        let_ring=u(0.4, 0.9), attack_ms=u(0.3, 3.0),
    )


def _voicing(root: int, quality: str, start: int) -> list[tuple[int, int]]:
    """First playable voicing at or above fret `start`: root in the bass, ascending strings."""
    tones = {(root + i) % 12 for i in TRIADS[quality]}
    for p in [(start + i) % 12 for i in range(12)]:
        frets = ([0] if p < 3 else []) + list(range(max(p, 1), p + 4)) + ([] if p < 3 else [0])
        bass = next((s for s in (0, 1, 2) if any((OPEN[s] + f) % 12 == root for f in frets)), None)
        if bass is None:
            continue
        voice = [(bass, OPEN[bass] + next(f for f in frets if (OPEN[bass] + f) % 12 == root))]
        for s in range(bass + 1, 6):
            up = [OPEN[s] + f for f in frets if (OPEN[s] + f) % 12 in tones and OPEN[s] + f > voice[-1][1]]
            if up:
                voice.append((s, up[0]))
        if len(voice) >= 4 and len({m % 12 for _, m in voice}) == 3:
            return voice
    raise AssertionError("unreachable: an E-shape barre always fits")


def _compose(r: np.random.Generator, pl: _Player, style: str, key: int, mode: str,
             tempo: int, seconds: float) -> list[list[Any]]:
    """Events [onset_s, string, midi, velocity, off_s], written until `seconds`."""
    beat, ev = 60.0 / tempo, []
    vel = lambda accent: float(np.clip(r.normal(pl.vel[0], pl.vel[1]) * accent, 0.15, 1.0))  # noqa: E731
    jit = lambda: float(r.normal(0, pl.jitter_ms * 1e-3))  # noqa: E731
    t0 = float(r.uniform(0.0, 0.04))
    if style == "lead":
        scale = SCALES[mode][int(r.integers(2))]
        notes = [m for m in range(40, 87) if (m - key) % 12 in scale]
        lead_p = np.where(np.array(LEAD_DURS) <= 2, 1 + pl.busy, 2 - pl.busy)  # busy players play short notes
        lead_p /= lead_p.sum()
        i, hand, t = int(np.argmin([abs(m - r.uniform(52, 74)) for m in notes])), float(r.uniform(0, 10)), t0
        while t < seconds:
            sixteenths = int(r.choice(LEAD_DURS, p=lead_p))
            dur = sixteenths * beat / 4
            cands = [s for s in range(6) if 0 <= notes[i] - OPEN[s] <= 22]
            s = min(cands, key=lambda s: abs(notes[i] - OPEN[s] - hand) + 0.3 * s)
            hand = 0.7 * hand + 0.3 * (notes[i] - OPEN[s])
            off = t + dur - min(0.15, (1 - pl.legato) * dur)  # phrasing gaps stay short
            ev.append([t + jit(), s, notes[i], vel(1.15 if sixteenths >= 4 else 1.0), off])
            i = int(np.clip(i + r.choice((-3, -2, -1, -1, 1, 1, 2, 3, 0)), 0, len(notes) - 1))
            t += dur
        return ev
    prog = PROGRESSIONS[mode][int(r.integers(len(PROGRESSIONS[mode])))]
    seg_beats = 4 if tempo >= 100 else 2
    pattern = STRUMS[int(r.integers(len(STRUMS)))] if style == "strum" else ARPS[int(r.integers(len(ARPS)))]
    start_fret, t, c = int(r.integers(0, 8)), t0, 0
    while t < seconds:
        root, quality = prog[c % len(prog)]
        voice = _voicing((key + root) % 12, quality, start_fret)
        off = t + seg_beats * beat + 0.01
        for slot in range(2 * seg_beats):
            ts = t + (slot + pl.swing * (slot % 2)) * beat / 2 + jit()
            accent = 1.15 if slot % 4 == 0 else (0.95 if slot % 2 == 0 else 0.8)
            if style == "arpeggio":
                s, m = voice[round(pattern[slot % 8] * (len(voice) - 1) / 5)]
                ev.append([ts, s, m, vel(accent), off])
                continue
            stroke = pattern[slot % 8]
            if stroke == ".":
                continue
            v = vel(accent)
            notes = voice if stroke == "D" else voice[::-1][: int(r.integers(3, 5))]
            spread = pl.strum_ms * 1e-3 * (1.4 - 0.6 * v) * (1.0 if stroke == "D" else 0.6)
            for j, (s, m) in enumerate(notes):
                ev.append([ts + j * spread * r.uniform(0.7, 1.3), s, m, v * r.uniform(0.8, 1.05), off])
        t, c = t + seg_beats * beat, c + 1
    return ev


def _phrase(r: np.random.Generator, pl: _Player, events: list[list[Any]], seconds: float) -> list[list[Any]]:
    """Real takes breathe: phrases of 1-4 s with their own loudness, and rests between them where the last
    notes ring out or are muted. Without rests every frame is loud, which real recordings never are."""
    out, t, playing = [], 0.0, bool(r.random() < 0.85)
    while t < seconds:
        span = float(r.uniform(1.0, 4.0) if playing else r.uniform(0.1, 0.8))
        end = t + span
        if playing:
            gain = 10 ** (r.normal(0, pl.phrase_db) / 20)
            ring = bool(r.random() < pl.let_ring)
            for e in events:
                if t <= e[0] < end:
                    off = e[4] if e[4] < end else (e[4] + float(r.uniform(0.5, 2.0)) if ring else end)
                    out.append([e[0], e[1], e[2], float(np.clip(e[3] * gain, 0.1, 1.0)), off])
        t, playing = end, (not playing) or bool(r.random() > pl.rest_p)
    return out


def _smooth_table(n: int) -> np.ndarray:
    """smooth[b]: b has no prime factor above 13, so an irfft of length b is fast (no Bluestein)."""
    r = np.arange(n)
    for p in (2, 3, 5, 7, 11, 13):
        for _ in range(int(np.log(n) / np.log(p)) + 1):
            r = np.where(r % p == 0, r // p, r)
    return r == 1


_SMOOTH_COUNT = np.concatenate(([0], np.cumsum(_smooth_table(1 << 14))))


@lru_cache(maxsize=8192)
def _loop(period: float, sr: int) -> tuple[int, int]:
    """Fit q whole periods into a block of b samples (6-46 ms) with b fast for the FFT.

    Rounding b detunes the note by up to 3 cents: the intonation error of a real fret.
    """
    q = np.arange(max(1, int(np.ceil(0.006 * sr / period))), max(1, int(0.046 * sr / period)) + 1)
    for cents in (1.0, 3.0):
        lo = np.ceil(q * period * (1 - cents * 5.78e-4)).astype(int)
        hi = np.floor(q * period * (1 + cents * 5.78e-4)).astype(int)
        ok = _SMOOTH_COUNT[hi + 1] > _SMOOTH_COUNT[lo]  # a fast length inside [lo, hi]
        if ok.any():
            i = int(np.argmax(ok))
            return int(q[i]), int(lo[i] + np.argmax(np.diff(_SMOOTH_COUNT[lo[i]: hi[i] + 2])))
    return int(q[0]), int(round(q[0] * period))


def _pluck(out: np.ndarray, r: np.random.Generator, pl: _Player, sr: int, i0: int, n_on: int,
           n_len: int, string: int, midi: int, v: float) -> None:
    """Add one string note to `out`; consecutive blocks are cross-faded so gains glide, not step."""
    q, b = _loop(sr / (440.0 * 2 ** ((midi - 69 + pl.tuning[string] / 100) / 12)), sr)
    f0 = q * sr / b
    harm = np.arange(1, int(0.25 * sr / f0) + 1)
    fm = harm * f0
    shorter = 2 ** ((midi - OPEN[string]) / 12)  # fretting moves the bridge-side points up the string
    amp = np.sin(np.pi * harm * min(0.45, pl.pick_pos * shorter * r.uniform(0.9, 1.1))) / harm ** pl.tilt
    amp *= np.exp(-fm / (pl.bright_hz * (0.6 + 0.6 * v)))  # harder picking, brighter pluck
    if pl.instrument == "electric":
        amp *= np.sin(np.pi * harm * min(0.45, pl.pickup_pos * shorter))
    amp *= v * b / 2 / np.sqrt(np.sum(amp ** 2))  # every string and fret speaks alike; b / 2 undoes irfft
    amp *= np.interp(fm, *_body_gain(pl, sr))  # body / pickup resonances, exact for steady harmonics
    wound = 1.5 if string < 3 else 1.0
    loss = pl.string_loss[string] * (pl.damp[0] + pl.damp[1] * fm + wound * pl.damp[2] * fm ** 2)  # nepers/s
    n_rows = -(-n_len // b) + 1
    t = np.arange(n_rows, dtype=np.float32)[:, None] * np.float32(b / sr)
    log_g = -t * loss.astype(np.float32)
    k_off = int(np.ceil(n_on / b))
    if k_off < n_rows:  # note-off: the fretting hand mutes, highs first
        mute = (6.9 / pl.release_s) * (1 + fm / 1500)
        log_g[k_off:] -= (t[k_off:] - np.float32(n_on / sr)) * mute.astype(np.float32)
    spec = np.zeros((n_rows, b // 2 + 1), np.complex64)
    phase = np.exp(1j * r.uniform(-0.4, 0.4, harm.size))
    spec[:, q: q * harm.size + 1: q] = np.exp(log_g) * (amp * phase).astype(np.complex64)
    w = np.fft.irfft(spec, b, axis=1)
    ramp = 1 - (1 - np.arange(b, dtype=np.float32) / b) ** 2  # ease-out: the highs decay fast early on
    note = ((w[1:] - w[:-1]) * ramp + w[:-1]).ravel()[:n_len]
    attack = min(n_len, max(2, int(pl.attack_ms * 1e-3 * sr)))  # the pick leaves the string over a few ms
    note[:attack] *= np.sin(0.5 * np.pi * np.arange(attack, dtype=np.float32) / attack) ** 2
    out[i0: i0 + n_len] += note
    burst = min(int(0.004 * sr), n_len)  # pick noise
    out[i0: i0 + burst] += np.diff(r.random(burst + 1) - 0.5) * pl.click * v * np.exp(-np.arange(burst) / (0.001 * sr))


@lru_cache(maxsize=64)
def _body_gain(pl: _Player, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude response of the player's body (or pickup) filters on a 5-Hz grid."""
    chain = [pb.HighpassFilter(70.0), *(pb.PeakFilter(f, g, q) for f, g, q in pl.body), pb.LowpassFilter(pl.lowpass_hz)]
    n = 1 << int(np.ceil(np.log2(sr / 5)))
    x = np.zeros((1, n), np.float32)
    x[0, 0] = 1.0
    return np.fft.rfftfreq(n, 1 / sr), np.abs(np.fft.rfft(pb.Pedalboard(chain)(x, sr)[0]))


def _add_room(y: np.ndarray, r: np.random.Generator, pl: _Player, sr: int) -> None:
    """Small-room reverb at a low wet level.  The tail is dark and diffuse, so it is
    computed at a quarter of the rate (box-car down, linear interpolation up)."""
    rt60 = r.uniform(0.25, 0.6)
    wet = r.uniform(0.08, 0.2) if pl.instrument == "electric" else r.uniform(0.12, 0.3)
    d = max(1, round(sr / 11025))
    m = len(y) // d
    t = np.arange(int(0.3 * sr / d)) * (d / sr)
    tail = np.convolve((r.random(t.size) - 0.5) * np.exp(-6.9 * t / rt60) * (t > 0.01), (0.25, 0.5, 0.25), "same")
    ir = wet * tail / np.sqrt(np.sum(tail ** 2))
    for delay in r.uniform(0.002, 0.01, 4):  # early reflections
        ir[int(delay * sr / d)] += wet * r.uniform(0.3, 0.8)
    n_fft = min(1 << int(np.ceil(np.log2(m + t.size))), 3 << int(np.ceil(np.log2((m + t.size) / 3))))
    xd = sum(y[j: m * d: d].astype(np.float64) for j in range(d)) / d  # numpy's float64 rfft is the fast one
    w = np.fft.irfft(np.fft.rfft(xd, n_fft) * np.fft.rfft(ir, n_fft), n_fft)[:m].astype(np.float32)
    prev = np.concatenate(([0.0], w[:-1])).astype(np.float32)
    step = w - prev
    for j in range(d):
        y[j: m * d: d] += prev + step * np.float32(j / d)


def _add_noise(y: np.ndarray, r: np.random.Generator, rms: float, sr: int) -> None:
    """The recording chain's floor: room tone rolling off above a few kHz, a quieter white preamp hiss
    (14-24 dB down) and a little mains hum. Shaped in the frequency domain: one FFT, no filter loop."""
    n = len(y)
    spec = r.standard_normal(n // 2 + 1) + 1j * r.standard_normal(n // 2 + 1)
    f = np.fft.rfftfreq(n, 1 / sr)
    corner = r.uniform(500, 4000)
    room = np.fft.irfft(spec / np.sqrt(1 + (f / corner) ** 2), n)
    room *= 1 / max(float(np.sqrt(np.mean(room ** 2))), 1e-12)
    white = r.standard_normal(n) * 10 ** (-r.uniform(20, 35) / 20)
    hum_share = float(r.uniform(0.1, 0.5))
    per = int(round(sr / (50, 60)[int(r.integers(2))]))
    ph = 2 * np.pi * np.arange(per) / per
    hum = np.sin(ph) + 0.5 * np.sin(2 * ph + r.uniform(0, 6.3)) + 0.3 * np.sin(3 * ph + r.uniform(0, 6.3))
    hum *= hum_share / np.sqrt((1 + 0.25 + 0.09) / 2)
    floor = (room + white) * np.sqrt(1 - hum_share ** 2) + np.tile(hum, -(-n // per))[:n]
    y += (floor * (rms / max(float(np.sqrt(np.mean(floor ** 2))), 1e-12))).astype(np.float32)


def synth_recording(seed: int, index: int, seconds: float, sample_rate: int, n_players: int) -> Recording:
    """Recording `index` depends only on (seed, index) and its player's traits: renderable alone, anywhere."""
    sr, n = sample_rate, int(round(seconds * sample_rate))
    p = index % n_players
    pl, r = _player(seed, p), np.random.default_rng([seed, 1, index])
    style = STYLES[int(r.choice(3, p=pl.style_p))]
    key, mode = int(r.integers(12)), ("major", "minor")[int(r.integers(2))]
    tempo = int(np.clip(round(pl.tempo + r.uniform(-15, 15)), 70, 160))
    events = _phrase(r, pl, sorted(_compose(r, pl, style, key, mode, tempo, seconds), key=lambda e: e[0]), seconds)
    last: dict[int, list[Any]] = {}
    for e in events:  # a string sounds one note at a time: a new pluck mutes the old one
        if e[1] in last:
            last[e[1]][4] = min(last[e[1]][4], e[0])
        last[e[1]] = e
    y = np.zeros(n, np.float32)
    for t_on, s, m, v, t_off in events:
        i0 = max(0, int(round(t_on * sr)))
        if i0 >= n:
            continue
        n_on = max(1, int((t_off - t_on) * sr))
        n_len = min(n - i0, n_on + int(1.3 * pl.release_s * sr))
        _pluck(y, r, pl, sr, i0, n_on, n_len, s, m, v)
    _add_room(y, r, pl, sr)
    peak = float(r.uniform(0.45, 0.9))
    y *= np.float32(peak / max(float(np.max(np.abs(y))), 1e-9))
    rms = peak * 10 ** (r.uniform(*NOISE_FLOOR_DB) / 20)  # noise floor, dB re the peak
    _add_noise(y, r, rms, sr)
    y *= np.float32(min(1.0, 0.99 / float(np.max(np.abs(y)))))
    meta = {"player": f"p{p:02d}", "key": KEYS[key], "mode": mode, "style": style, "tempo": tempo,
            "instrument": pl.instrument, "index": index,
            "noise_floor_dbfs": round(float(20 * np.log10(rms)), 2)}  # RMS of the added floor, re full scale
    return Recording(f"synth-p{p:02d}-r{index:04d}", y, sr, meta)


@register_source("synth", kind="synth", licence="mit",
                 description="synthetic guitar takes by a few players, generated here (default; no download)")
def open_synth(task: Any, seed: int, arg: None, clips_per_recording: int) -> "SynthSource":
    """A quarter more recordings than the clip budget needs: each split's budget is then always met,
    whatever the blocks gave it (unused recordings are never synthesised)."""
    return SynthSource(seed=seed, n_recordings=math.ceil(task.dataset.clips / clips_per_recording * 1.25) + 10,
                       seconds=clips_per_recording * task.clip_seconds, sample_rate=task.sample_rate)


class SynthSource:
    """Deterministic synthetic guitar takes by a few 'players': the default, download-free source."""

    name = "synth"
    version = 2  # bump whenever the generated audio changes

    def __init__(self, seed: int = 0, n_recordings: int = 30, seconds: float = 4.0,
                 sample_rate: int = 44100, n_players: int = 6) -> None:
        self.seed, self.n_recordings, self.seconds = seed, n_recordings, seconds
        self.sample_rate, self.n_players = sample_rate, n_players

    def spec(self) -> dict[str, Any]:
        """Everything that shapes the audio, so the dataset fingerprint changes whenever it does."""
        return {"name": self.name, "version": self.version, "seed": self.seed, "n_recordings": self.n_recordings,
                "seconds": self.seconds, "sample_rate": self.sample_rate, "n_players": self.n_players}

    def _ids(self) -> list[tuple[str, int]]:
        return sorted((f"synth-p{i % self.n_players:02d}-r{i:04d}", i) for i in range(self.n_recordings))

    def recording_ids(self) -> list[str]:
        return [rid for rid, _ in self._ids()]

    @staticmethod
    def split_key(recording_id: str) -> int:
        """Splits are assigned in order of recording number, which (unlike the id's sort order) does not
        depend on how many recordings a task asks for: recording r0042 lands in the same split for all."""
        return int(recording_id.rsplit("-r", 1)[1])

    def load(self, recording_id: str) -> Recording:
        index = int(recording_id.rsplit("-r", 1)[1])
        if not 0 <= index < self.n_recordings or recording_id not in self.recording_ids():
            raise KeyError(recording_id)
        return synth_recording(self.seed, index, self.seconds, self.sample_rate, self.n_players)

    def recordings(self) -> Iterator[Recording]:
        """Sorted by id (player-major), as the Source protocol asks; each rendered lazily."""
        for rid, _ in self._ids():
            yield self.load(rid)
