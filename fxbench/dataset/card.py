"""The dataset card (README.md): the YAML header `datasets.load_dataset` reads, and prose for people."""
from __future__ import annotations

from pathlib import Path

import yaml

from fxbench.dataset.clips import SPLITS
from fxbench.task import TaskConfig


def _configs(task: TaskConfig, manifest: dict) -> list[dict]:
    from fxbench.dataset.build import DRY_CONFIG

    return [{"config_name": config, "data_files": _files_of(config, manifest["files"])}
            for config in (task.task, DRY_CONFIG)]


def _source_terms(source_name: str) -> tuple[str, str, str]:
    """(licence id, credit line, split policy) of the source a manifest names: the rendered audio inherits
    the source audio's licence. A source not in the registry gets "other" (its licence is unknown here)."""
    from fxbench.sources.registry import source_entry

    entry = source_entry(source_name)
    if entry is None:
        return "other", "", "by the source's own rule"
    return entry.licence, entry.credit, entry.splits


def _licence_text(source_name: str) -> str:
    licence, credit, _ = _source_terms(source_name)
    shown = "that of the source recordings" if licence == "other" else licence
    text = f"Licence: {shown} (the rendered audio inherits the licence of the source audio)."
    return text + (f" Source audio: {credit}; credit it when you use this data." if credit else "")


def _config_info(root: Path, config: str, features, files: dict, counts: dict[str, int]) -> dict:
    """One config's complete `dataset_info`: `datasets` ignores the splits (with a warning on every load)
    unless each has its name, examples and bytes. ``num_bytes`` is the uncompressed size the parquet footers
    record, which for these columns is the arrow size `datasets` counts to a fraction of a percent, read
    without decoding a shard; ``download_size`` is the parquet files' size."""
    import pyarrow.parquet as pq

    def uncompressed(path: Path) -> int:
        meta = pq.read_metadata(path)
        return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))

    splits, download = [], 0
    for entry in _files_of(config, files):
        paths = [root / rel for rel in entry["path"]]
        download += sum(p.stat().st_size for p in paths)
        splits.append({"name": entry["split"], "num_bytes": sum(uncompressed(p) for p in paths),
                       "num_examples": counts[entry["split"]]})
    return {"config_name": config, "features": features._to_yaml_list(), "splits": splits,
            "download_size": download, "dataset_size": sum(s["num_bytes"] for s in splits)}


def _dataset_info(root: Path, task: TaskConfig, manifest: dict) -> list[dict]:
    from fxbench.dataset.build import DRY_CONFIG
    from fxbench.dataset.shards import features_of

    task_features, dry_features = features_of(task)
    splits = manifest["splits"]
    return [_config_info(root, config, features, manifest["files"], {s: splits[s][key] for s in SPLITS})
            for config, features, key in ((task.task, task_features, "rows"), (DRY_CONFIG, dry_features, "clips"))]


SIZE_CATEGORIES = ("n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B",
                   "1B<n<10B", "10B<n<100B", "100B<n<1T", "n>1T")


def size_category(rows: int) -> str:
    """The Hub's `size_categories` bucket of a row count (decades from 1K up)."""
    decade = 0
    while decade < len(SIZE_CATEGORIES) - 1 and rows >= 1000 * 10 ** decade:
        decade += 1
    return SIZE_CATEGORIES[decade]


PAPER_BIBTEX = """@techreport{lee_buck_larlarb_fx_parameters,
  title       = {Parameter Estimation of Digital Audio Effects from Spectrograms},
  author      = {Lee, Richard and Buck, Ethan and Larlarb, Wesley},
  institution = {Stanford University},
  type        = {{CS231n} course project report}
}"""


def _citation(version: str) -> str:
    return f"""## Citation

The task follows *Parameter Estimation of Digital Audio Effects from Spectrograms* (Richard Lee, Ethan Buck and
Wesley Larlarb, Stanford University, CS231n course project report). Cite it, and fxbench, when you use this data:

```bibtex
{PAPER_BIBTEX}

@misc{{fxbench,
  title = {{fxbench: a benchmark for blind estimation of audio-effect parameters from wet guitar audio}},
  note  = {{Version {version}}}
}}
```
"""


def _files_of(config: str, files: dict) -> list[dict]:
    """Each split's shards in name order, which is recording order (`<split>-<group>-<sha>.parquet`)."""
    return [{"split": s, "path": [rel for rel in sorted(files) if rel.startswith(f"{config}/{s}-")]}
            for s in SPLITS if any(rel.startswith(f"{config}/{s}-") for rel in files)]


def _values(p) -> str:
    if p.is_presence:
        return f"1 where stage `{p.stage}` was applied, 0 where bypassed"
    return ', '.join(f'{v:g}' for v in p.grid) if p.grid is not None else f"drawn, {p.sampling} over the range"


def _effect(task: TaskConfig) -> str:
    if not task.effect.chain:
        return f"`{task.effect.plugin}` with fixed settings `{task.effect.fixed}`"
    stages = "; ".join(f"`{s.name}`: `{s.plugin}`, fixed `{s.fixed}`"
                       + (f", applied with probability {s.p_active:g}" if s.p_active < 1 else "")
                       + (f", varied uniformly `{ {k: list(v) for k, v in s.vary.items()} }`" if s.vary else "")
                       for s in task.effect.chain)
    return f"a chain, in this order: {stages}. A bypassed stage's knobs are drawn but unheard, so they are " \
           f"scored only on the rows where the stage was applied"


def _renders(task: TaskConfig, manifest: dict) -> str:
    if task.is_sampled:
        return (f"Every dry clip is rendered {manifest['grid_size']} times, each at its own draw of every parameter "
                f"(seeded by the dataset seed and the clip id); `grid_index` numbers the draws of a clip.")
    return f"Every dry clip is rendered at all {manifest['grid_size']} grid points; `grid_index` numbers them."


def _task_section(task: TaskConfig, manifest: dict, level: str = "##") -> str:
    """Effect, parameters and splits of one task: the part of a card that differs between tasks."""
    params = "\n".join(f"| `{p.name}` | {p.unit} | {_values(p)} | "
                       f"[{p.range[0]:g}, {p.range[1]:g}]{' (log axis)' if p.sampling == 'log' else ''} |"
                       for p in task.parameters)
    splits = "\n".join(f"| {s} | {manifest['splits'][s]['recordings']} | {manifest['splits'][s]['clips']} | "
                       f"{manifest['splits'][s]['rows']} |" for s in SPLITS)
    gain = f" after {task.effect.input_gain_db:+g} dB input gain" if task.effect.input_gain_db else ""
    return f"""{level} Effect and parameters

Effect: {_effect(task)}{gain}. {task.effect.note}

| parameter | unit | grid | scaled to [0, 1] over |
|---|---|---|---|
{params}

{_renders(task, manifest)}

{level} Splits (by recording: a recording's clips and all their renders sit in one split)

| split | recordings | clips | rows |
|---|---|---|---|
{splits}
"""


def _columns_and_clips(task: TaskConfig, policy: dict, source_name: str) -> str:
    return f"""## Columns

- `id`: 16 hex digits, a hash of the clip and grid point keyed by the fingerprint: stable for this build; it
  does not spell the grid point, but anyone with the clip id can recompute it for each grid point, so it is
  no secret; `split`; `recording_id`, `clip_id`: where the row came from; `grid_index`: {"the draw (its number among the clip's renders)" if task.is_sampled else "the grid point"}.
- one column per parameter in its unit, and `<name>_scaled` in [0, 1] (the regression target).
- `mel`: the wet clip's Mel spectrogram, float16, shape ({task.features.n_mels}, {task.n_frames}): {task.sample_rate} Hz,
  n_fft {task.features.n_fft}, hop {task.features.hop_length}, {task.features.n_mels} mels, power in dB, min-max scaled to [0, 1] per clip.
- `audio`: the wet clip, a `datasets.Audio` feature: 16-bit mono FLAC (lossless), {task.clip_seconds:g} s at {task.sample_rate} Hz.
  `row["audio"]` decodes it (`datasets` needs `torchcodec` for that); the `mel` was computed from exactly these samples.
- config `dry`: `clip_id`, the dry clip's `audio` (FLAC, named `<clip_id>.flac`) and `mel`, and the source's
  `meta` (JSON).

## How clips were made

{policy['clip_seconds']:g}-s clips cut back to back from each recording; clips with RMS at or below
{policy['silence_dbfs']:g} dBFS are skipped; each kept clip is peak-normalised to {policy['peak_dbfs']:g} dBFS and
stored as 16-bit PCM (lossless FLAC); at most {policy['clips_per_recording']} clips per recording ({_why_per_recording(source_name)}).
Recordings (never clips) are assigned to splits, the same for every task: {_source_terms(source_name)[2]}.
"""


def _why_per_recording(source_name: str) -> str:
    from fxbench.sources.registry import source_entry

    entry = source_entry(source_name)
    if entry is not None and entry.kind == "synth":
        return "synthetic recordings are cheap, so many short ones give more voices per split"
    return "real recordings are long and few, so each gives several clips"



def _write(root: Path, header: dict, body: str) -> None:
    text = "---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n\n" + body
    (root / "README.md").write_text(text, encoding="utf-8")


def _seed_text(seed: int | None) -> str:
    """A blind folder withholds its seed: with it, anyone could rebuild the test split with its labels."""
    return "a withheld seed" if seed is None else f"seed {seed}"


def write_card(root: Path, task: TaskConfig, manifest: dict) -> None:
    source_name = manifest["source"].get("name", "")
    header = {
        "configs": _configs(task, manifest),
        "dataset_info": _dataset_info(root, task, manifest),
        "pretty_name": f"fxbench {task.task}",
        "license": _source_terms(source_name)[0],
        "tags": ["audio", "audio-effects", "parameter-estimation", "fxbench"],
        "task_categories": ["audio-classification"],
        "size_categories": [size_category(sum(manifest["splits"][s]["rows"] for s in SPLITS))],
        "fxbench": {"fingerprint": manifest["fingerprint"], "fxbench_version": manifest["fxbench_version"],
                    "tasks": {task.task: task.version}, "seed": manifest["seed"]},
    }
    src = manifest["source"]
    body = f"""# fxbench: {task.task} (task version {task.version})

{task.description}

Built by fxbench {manifest['fxbench_version']} from source `{src.get('name')}` with {_seed_text(manifest['seed'])}.
Fingerprint `{manifest['fingerprint']}`. {_licence_text(source_name)}

## Load it

```python
import datasets
ds = datasets.load_dataset("path/to/this/folder", "{task.task}")   # train / validation / test
dry = datasets.load_dataset("path/to/this/folder", "dry")           # the dry clips, once each
```

{_task_section(task, manifest)}
{_columns_and_clips(task, manifest['clip_policy'], source_name)}
{_citation(manifest['fxbench_version'])}"""
    _write(root, header, body)


def write_multi_card(root: Path, tasks: list[TaskConfig], manifest: dict) -> None:
    """The card of a several-task repository: one config per task plus the shared `dry` config."""
    from fxbench.dataset.build import DRY_CONFIG
    from fxbench.dataset.shards import features_of

    per_task = manifest["tasks"]
    source_name = manifest["source"]
    configs = [{"config_name": t.task, "data_files": _files_of(t.task, manifest["files"])} for t in tasks]
    configs.append({"config_name": DRY_CONFIG, "data_files": _files_of(DRY_CONFIG, manifest["files"])})
    files = manifest["files"]
    info = [_config_info(root, t.task, features_of(t)[0], files,
                         {s: per_task[t.task]["splits"][s]["rows"] for s in SPLITS}) for t in tasks]
    info.append(_config_info(root, DRY_CONFIG, features_of(tasks[0])[1], files, manifest["dry_clips"]))
    rows = sum(per_task[t.task]["splits"][s]["rows"] for t in tasks for s in SPLITS)
    header = {
        "configs": configs, "dataset_info": info, "pretty_name": "fxbench",
        "license": _source_terms(source_name)[0],
        "tags": ["audio", "audio-effects", "parameter-estimation", "fxbench"],
        "task_categories": ["audio-classification"],
        "size_categories": [size_category(rows)],
        "fxbench": {"fxbench_version": manifest["fxbench_version"], "seed": manifest["seed"],
                    "tasks": {t.task: t.version for t in tasks},
                    "fingerprints": {t.task: per_task[t.task]["fingerprint"] for t in tasks}},
    }
    loads = "\n".join(f'ds = datasets.load_dataset("path/to/this/folder", "{t.task}")' for t in tasks)
    sections = "\n".join(f"## {t.task} (task version {t.version}, fingerprint `{per_task[t.task]['fingerprint'][:12]}`)"
                         f"\n\n{t.description}\n\n{_task_section(t, per_task[t.task], '###')}" for t in tasks)
    body = f"""# fxbench: {', '.join(t.task for t in tasks)}

Built by fxbench {manifest['fxbench_version']} from source `{source_name}` with seed {manifest['seed']}: one
config per task, each exactly what `fxbench data build --task <task>` writes on its own (same fingerprint,
same shards), and one `dry` config holding every dry clip once for all tasks. {_licence_text(source_name)}

## Load it

```python
import datasets
{loads}
dry = datasets.load_dataset("path/to/this/folder", "dry")   # every dry clip, once
```

{sections}
{_columns_and_clips(tasks[0], per_task[tasks[0].task]['clip_policy'], source_name)}
{_citation(manifest['fxbench_version'])}"""
    _write(root, header, body)
