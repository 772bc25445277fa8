"""Where a model is scored: its own test split, or another source's rows (synth -> real transfer).

Scoring on another source is only a transfer score if the model never heard those recordings, so the
evaluation rows are checked against the training data by content (each recording file's sha256 where
the source lists them, and every dry clip's PCM), not by name or path.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from fxbench.dataset.split import SplitData
from fxbench.errors import FxbenchError

EVAL_SPLITS = ("test", "all")
CONDITIONS = ("synth_to_synth", "real_to_real", "synth_to_real", "real_to_synth")  # also the leaderboard's order
PAIRED_SUFFIX = "_paired"
# What the leaderboard ranks apart: each condition on the wet input track, then on the paired one
# (fxbench/inputs.py), which is a different problem and never shares a table with the wet track.
TRACKS = (*CONDITIONS, *(c + PAIRED_SUFFIX for c in CONDITIONS))


def track(condition: str, input: str = "wet") -> str:
    """The leaderboard track of a record: its condition, with ``_paired`` on the paired input track."""
    return condition if input == "wet" else f"{condition}_{input}"


def base_condition(name: str) -> str:
    """A track's evaluation condition (``synth_to_synth_paired`` -> ``synth_to_synth``)."""
    return name[:-len(PAIRED_SUFFIX)] if name.endswith(PAIRED_SUFFIX) else name


@dataclass
class EvalSet:
    """The rows a model is scored on, and where they came from (recorded in the result)."""

    data: SplitData
    source: Optional[str]  # the --eval-source spec; None = the training dataset's own test split
    split: str
    path: Path
    manifest: dict


def source_kind(manifest: dict) -> str:
    """'synth' or 'real', from the registry entry of the source that built a dataset; a source this install
    does not know (a dataset built elsewhere) is real audio unless it is a synthesiser by name."""
    from fxbench.sources.registry import source_entry

    name = str((manifest.get("source") or {}).get("name", ""))
    entry = source_entry(name)
    if entry is not None:
        return entry.kind
    return "synth" if name.startswith("synth") else "real"


def condition(train_manifest: dict, eval_manifest: dict) -> str:
    """`synth_to_real` etc.: the evaluation condition a record is ranked under."""
    return f"{source_kind(train_manifest)}_to_{source_kind(eval_manifest)}"


def check_eval_split(eval_split: str, eval_source: Optional[str]) -> None:
    """Fail before any work on a split that cannot be scored (checked by the CLI and the runner)."""
    if eval_split not in EVAL_SPLITS:
        raise FxbenchError(f"--eval-split must be one of {', '.join(EVAL_SPLITS)}, got {eval_split!r}", exit_code=2)
    if eval_split == "all" and not eval_source:
        raise FxbenchError("--eval-split all scores every row of a source the model never saw, so it needs "
                           "--eval-source S (the training source's own rows include what it trained on)",
                           exit_code=2)


def select_rows(splits: dict[str, SplitData], eval_split: str) -> SplitData:
    """The test split, or every split's rows as one ('all')."""
    if eval_split == "test":
        return splits["test"]
    return SplitData.concat([splits[s] for s in ("train", "validation", "test")], name="all")


def _file_hashes(manifest: dict) -> set[str]:
    """sha256 of each recording file the source read (folder-like sources list them; synth lists none)."""
    files = (manifest.get("source") or {}).get("files") or []
    return {str(f["sha256"]) for f in files if isinstance(f, dict) and f.get("sha256")}


def clip_hashes(path: Path, manifest: dict, splits: tuple[str, ...]) -> dict[str, str]:
    """sha256 of each dry clip's PCM in ``splits`` -> its clip id, read from the dataset's `dry` shards."""
    import pyarrow.parquet as pq

    from fxbench.dataset.audio import decode_audio

    out: dict[str, str] = {}
    for rel in sorted(manifest.get("files", {})):
        if not rel.startswith("dry/") or not any(Path(rel).name.startswith(f"{s}-") for s in splits):
            continue
        table = pq.read_table(Path(path) / rel, columns=["clip_id", "audio"])
        for cid, cell in zip(table.column("clip_id").to_pylist(), table.column("audio").to_pylist()):
            out[hashlib.sha256(decode_audio(cell).astype("<i2").tobytes()).hexdigest()] = str(cid)
    return out


def check_unseen(train_path: Path, train_manifest: dict, eval_set: EvalSet) -> None:
    """Refuse an evaluation that contains audio the model trained on (train or validation split)."""
    seen_files = _file_hashes(train_manifest)
    shared = seen_files & _file_hashes(eval_set.manifest)
    if shared and eval_set.split == "all":
        raise FxbenchError(f"--eval-source {eval_set.source} holds {len(shared)} recording(s) the training source "
                           f"{train_manifest['source'].get('name')} also holds (same file contents); evaluate on "
                           f"recordings the model never saw, or drop --eval-split all", exit_code=2)
    eval_splits = ("train", "validation", "test") if eval_set.split == "all" else ("test",)
    seen = clip_hashes(train_path, train_manifest, ("train", "validation"))
    theirs = clip_hashes(eval_set.path, eval_set.manifest, eval_splits)
    both = sorted(theirs[h] for h in set(seen) & set(theirs))
    if both:
        raise FxbenchError(f"--eval-source {eval_set.source}: {len(both)} evaluation clip(s) were trained on "
                           f"(first {both[0]}; the same audio is in the training or validation split); evaluate "
                           f"on recordings the model never saw", exit_code=2)
