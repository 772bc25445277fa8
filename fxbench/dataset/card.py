"""The dataset card (README.md): the YAML header `datasets.load_dataset` reads, and prose for people."""
from __future__ import annotations

from pathlib import Path

import yaml

from fxbench.dataset.clips import SPLITS
from fxbench.task import TaskConfig


def _configs(task: TaskConfig, manifest: dict) -> list[dict]:
    from fxbench.dataset.build import DRY_CONFIG

    out = []
    for config in (task.task, DRY_CONFIG):
        files = [{"split": s, "path": rel} for s in SPLITS for rel in sorted(manifest["files"])
                 if rel.startswith(f"{config}/{s}-")]
        out.append({"config_name": config, "data_files": files})
    return out


#: Licence of the source audio, which the rendered data inherits. A folder of the user's own
#: recordings has whatever licence they carry, which fxbench cannot know: "other".
LICENCES = {"synth": "mit", "guitarset": "cc-by-4.0"}


def _dataset_info(task: TaskConfig, manifest: dict) -> list[dict]:
    from fxbench.dataset.build import DRY_CONFIG, _features

    task_features, dry_features = _features(task)
    splits = manifest["splits"]
    info = []
    for config, features, key in ((task.task, task_features, "rows"), (DRY_CONFIG, dry_features, "clips")):
        info.append({"config_name": config, "features": features._to_yaml_list(),
                     "splits": [{"name": s, "num_examples": splits[s][key]} for s in SPLITS]})
    return info


def write_card(root: Path, task: TaskConfig, manifest: dict) -> None:
    source_name = manifest["source"].get("name", "")
    header = {
        "configs": _configs(task, manifest),
        "dataset_info": _dataset_info(task, manifest),
        "pretty_name": f"fxbench {task.task}",
        "license": LICENCES.get(source_name, "other"),
        "tags": ["audio", "audio-effects", "parameter-estimation", "fxbench"],
        "task_categories": ["audio-classification"],
        "fxbench": {"fingerprint": manifest["fingerprint"], "fxbench_version": manifest["fxbench_version"],
                    "tasks": {task.task: task.version}, "seed": manifest["seed"]},
    }
    params = "\n".join(f"| `{p.name}` | {p.unit} | {', '.join(f'{v:g}' for v in p.grid)} | "
                       f"[{p.range[0]:g}, {p.range[1]:g}] |" for p in task.parameters)
    splits = "\n".join(f"| {s} | {manifest['splits'][s]['recordings']} | {manifest['splits'][s]['clips']} | "
                       f"{manifest['splits'][s]['rows']} |" for s in SPLITS)
    policy = manifest["clip_policy"]
    src = manifest["source"]
    body = f"""# fxbench: {task.task} (task version {task.version})

{task.description}

Built by fxbench {manifest['fxbench_version']} from source `{src.get('name')}` with seed {manifest['seed']}.
Fingerprint `{manifest['fingerprint']}`. Licence: {LICENCES.get(source_name, "that of the source recordings")}
(the rendered audio inherits the licence of the source audio).

## Load it

```python
import datasets
ds = datasets.load_dataset("path/to/this/folder", "{task.task}")   # train / validation / test
dry = datasets.load_dataset("path/to/this/folder", "dry")           # the dry clips, once each
```

## Effect and parameters

Effect: pedalboard `{task.effect.plugin}` with fixed settings `{task.effect.fixed}`. {task.effect.note}

| parameter | unit | grid | scaled to [0, 1] over |
|---|---|---|---|
{params}

Every dry clip is rendered at all {manifest['grid_size']} grid points; `grid_index` numbers them.

## Splits (by recording: a recording's clips and all their renders sit in one split)

| split | recordings | clips | rows |
|---|---|---|---|
{splits}

## Columns

- `id`: `<clip_id>-g<grid_index>`; `split`; `recording_id`, `clip_id`: where the row came from.
- one column per parameter in its unit, and `<name>_scaled` in [0, 1] (the regression target).
- `mel`: the wet clip's Mel spectrogram, float16, shape ({task.features.n_mels}, {task.n_frames}): {task.sample_rate} Hz,
  n_fft {task.features.n_fft}, hop {task.features.hop_length}, {task.features.n_mels} mels, power in dB, min-max scaled to [0, 1] per clip.
- `audio`: the wet clip as 16-bit PCM samples (divide by 32768), {task.clip_seconds:g} s at {task.sample_rate} Hz, mono.
- config `dry`: `clip_id`, the dry clip's `audio` and `mel`, and the source's `meta` (JSON).

## How clips were made

{policy['clip_seconds']:g}-s clips cut back to back from each recording; clips with RMS at or below
{policy['silence_dbfs']:g} dBFS are skipped; each kept clip is peak-normalised to {policy['peak_dbfs']:g} dBFS and
stored as 16-bit PCM; at most {policy['clips_per_recording']} clips per recording.
"""
    text = "---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n\n" + body
    (root / "README.md").write_text(text, encoding="utf-8")
