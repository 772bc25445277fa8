"""The naive reference pipeline, as a user would write it by hand: one clip at a time from the same synth
source, each bitcrush render and its Mel one by one, rows appended to a list, one parquet write at the end.
Run as its own process (imports included), as `fxbench data build` is. Usage: naive_pipeline.py OUT N_CLIPS
"""
import sys

import numpy as np
import pandas as pd
import pedalboard
import torch
import torchaudio

from fxbench.dataset.clips import ClipPolicy, cut_clips
from fxbench.sources import open_source
from fxbench.task import load_task


def main(out: str, n_clips: int) -> None:
    task = load_task("bitcrush")
    src = open_source("synth", task, 0)
    mel = torchaudio.transforms.MelSpectrogram(44100, n_fft=1024, hop_length=512, n_mels=128)
    rows, done = [], 0
    for rid in sorted(src.recording_ids(), key=src.split_key):
        for clip in cut_clips(src.load(rid), ClipPolicy.for_task(task)):
            if done == n_clips:
                break
            dry = clip.pcm.astype(np.float32) / 32768
            for bits in range(17):
                wet = dry if bits == 16 else pedalboard.Bitcrush(bit_depth=bits)(dry[None], 44100)[0]
                s = torchaudio.transforms.AmplitudeToDB()(mel(torch.from_numpy(wet.copy())))
                s = ((s - s.min()) / (s.max() - s.min())).numpy()
                rows.append({"bit_depth": bits, "mel": s.astype(np.float16).ravel().tolist(),
                             "audio": (wet * 32767).astype(np.int16).tolist()})
            done += 1
    pd.DataFrame(rows).to_parquet(out)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
