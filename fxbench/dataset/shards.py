"""Parquet shards: the schema of a task's rows and dry clips, and one shard per group of recordings.

A build cuts each split's recordings (in id order) into groups of about SHARD_CLIPS clips' worth,
and each group becomes one shard, written by whichever process rendered it: encoding parquet costs as much
as rendering, so it must run in the workers, not in one main process. Shard boundaries depend only on the
recording order, so the files are the same bytes for any number of workers.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from fxbench.task import TaskConfig

SHARD_CLIPS = 16  # clips per shard
ROW_GROUP_ROWS = 64  # rows buffered before a row group is written
BIG_COLUMNS = ("mel", "audio")


def features_of(task: TaskConfig):
    """`datasets.Features` of the task config and of the dry config."""
    import datasets as hf

    shape = (task.features.n_mels, task.n_frames)
    cols = {"id": hf.Value("string"), "split": hf.Value("string"), "recording_id": hf.Value("string"),
            "clip_id": hf.Value("string"), "grid_index": hf.Value("int32")}
    for p in task.parameters:
        cols[p.name] = hf.Value("float32")
        cols[f"{p.name}_scaled"] = hf.Value("float32")
    cols["mel"] = hf.Array2D(shape, "float16")
    cols["audio"] = hf.Audio(sampling_rate=task.sample_rate)
    task_features = hf.Features(cols)
    dry_features = hf.Features({"clip_id": hf.Value("string"), "split": hf.Value("string"),
                                "recording_id": hf.Value("string"),
                                "clip_index": hf.Value("int32"), "start_sample": hf.Value("int64"),
                                "mel": hf.Array2D(shape, "float16"),
                                "audio": hf.Audio(sampling_rate=task.sample_rate), "meta": hf.Value("string")})
    return task_features, dry_features


def storage_schemas(task: TaskConfig) -> tuple[Any, Any]:
    """Arrow schemas of the task and dry configs with every `datasets` extension type (Array2D) spelt as its
    storage type plus the field metadata that names it: the same data and the same type for any reader
    that has `datasets`, while a worker process writes shards without importing it (1-2 s per worker).
    `Audio` is a plain struct<bytes, path> in arrow; the schema's `huggingface` metadata names it."""
    import pyarrow as pa

    def plain(schema):
        fields = []
        for f in schema:
            if isinstance(f.type, pa.ExtensionType):
                meta = {b"ARROW:extension:name": f.type.extension_name.encode(),
                        b"ARROW:extension:metadata": f.type.__arrow_ext_serialize__()}
                f = pa.field(f.name, f.type.storage_type, f.nullable, metadata=meta)
            fields.append(f)
        return pa.schema(fields, metadata=schema.metadata)

    task_features, dry_features = features_of(task)
    return plain(task_features.arrow_schema), plain(dry_features.arrow_schema)


def writer_options(schema) -> dict[str, Any]:
    """zstd, with byte-stream-split for the spectrogram: half the size of snappy + dictionary and faster to
    write and read. Statistics only on the small columns (min/max of a spectrogram or of FLAC bytes helps no
    reader and costs a pass over every value)."""
    import pyarrow as pa

    small = [f.name for f in schema if f.name not in BIG_COLUMNS]
    strings = [f.name for f in schema if f.type == pa.string()]
    return {"compression": "zstd", "use_dictionary": strings, "write_statistics": small,
            "column_encoding": {"mel.list.element.list.element": "BYTE_STREAM_SPLIT"}}


def row_id(key: str, clip_id: str, grid_index: int) -> str:
    """A row's id: 16 hex digits of HMAC-SHA256 under ``key`` (the dataset fingerprint, or a secret) of the
    clip and grid point, so the id is stable for a dataset yet tells nothing of the row's label."""
    return hmac.new(key.encode(), f"{clip_id}/{grid_index}".encode(), hashlib.sha256).hexdigest()[:16]


def _list_array(values: np.ndarray):
    """(rows, ...) numpy -> nested arrow lists without a Python loop."""
    import pyarrow as pa

    arr = pa.array(values.reshape(-1))
    for size in reversed(values.shape[1:]):
        n = len(arr) // size
        arr = pa.ListArray.from_arrays(pa.array(np.arange(0, (n + 1) * size, size, dtype=np.int32)), arr)
    return arr


def arrow_table(schema, columns: dict[str, Any]):
    """Columns (lists or numpy arrays, nested ones as (rows, ...) arrays) -> a table of ``schema``."""
    import pyarrow as pa

    arrays = []
    for field in schema:
        value = columns[field.name]
        if isinstance(field.type, pa.ExtensionType):
            arrays.append(pa.ExtensionArray.from_storage(field.type, _list_array(value)))
        elif isinstance(value, np.ndarray) and value.ndim > 1:
            arrays.append(_list_array(value))
        else:
            arrays.append(pa.array(value, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


class ShardFile:
    """One parquet file, written in row groups of at least ROW_GROUP_ROWS rows (whole clips).

    Per-row-group costs dominate small groups: writing a delay clip's 8 rows as its own group costs about a
    third more per row than 64 rows at once. The grouping depends only on the rows written, so the bytes do
    not depend on who writes them."""

    def __init__(self, path: Path, schema) -> None:
        import pyarrow.parquet as pq

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.rows = path, 0
        self._writer = pq.ParquetWriter(path, schema, **writer_options(schema))
        self._pending: list = []
        self._pending_rows = 0

    def write(self, table) -> None:
        self._pending.append(table)
        self.rows += table.num_rows
        self._pending_rows += table.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._pending:
            table = pa.concat_tables(self._pending)
            self._writer.write_table(table, row_group_size=table.num_rows)
            self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


def truncate(path: Path, rows: int, per_clip: int) -> None:
    """Keep the first ``rows`` rows of a shard, rewritten clip by clip (so grouped as a fresh write would be)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path).slice(0, rows)
    tmp = path.with_name(path.name + ".cut")
    out = ShardFile(tmp, table.schema)
    for start in range(0, rows, per_clip):
        out.write(table.slice(start, per_clip))
    out.close()
    tmp.replace(path)


@dataclass(frozen=True)
class ShardJob:
    """Group ``index`` of ``split``: these recordings, in order; written under ``work``."""

    split: str
    index: int
    order: int  # rank of the group's first recording among all recordings: breaks ties in start order
    recording_ids: tuple[str, ...]
    most_clips: int  # what the recordings can give at most
    work: str
    key: str  # of the row ids (row_id)
    seed: int = 0  # the dataset's: with the clip id, it sets a sampled task's draws

    def path(self, config: str) -> Path:
        return Path(self.work) / f"{config}-{self.split}-{self.index:05d}.parquet"


@dataclass(frozen=True)
class ShardResult:
    job: ShardJob
    clips: tuple[tuple[str, int], ...]  # (recording id, clips it gave), in order
    task_file: Optional[str]  # None when no recording of the group gave a clip
    dry_file: Optional[str]


class ShardMaker:
    """Renders a group of recordings (through a ClipMaker) into one task shard and one dry shard."""

    def __init__(self, task: TaskConfig, source) -> None:
        from fxbench.dataset.workers import ClipMaker

        self.task = task
        self.clips = ClipMaker(task, source)
        self.g = task.rows_per_clip
        # grid_index: the grid point, or for a sampled task the draw's number within its clip
        self.constant: dict[str, Any] = {"grid_index": np.arange(self.g, dtype=np.int32)}  # the same every clip
        points = [] if task.is_sampled else task.grid_points()
        for p in task.parameters if points else ():
            values = np.array([pt[p.name] for pt in points], dtype=np.float32)
            self.constant[p.name] = values
            self.constant[f"{p.name}_scaled"] = p.scale(values).astype(np.float32)

    def _drawn(self, values: Optional[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """A sampled clip's parameter columns, in units and scaled (from the float32 values rendered)."""
        if values is None:
            return {}
        out = {}
        for p in self.task.parameters:
            out[p.name] = values[p.name]
            out[f"{p.name}_scaled"] = np.clip(p.scale(values[p.name].astype(np.float64)), 0, 1).astype(np.float32)
        return out

    def __call__(self, job: ShardJob, schemas: tuple[Any, Any]) -> ShardResult:
        """``schemas``: storage_schemas(task), made by the caller (so a worker need not import `datasets`)."""
        from fxbench.dataset.audio import audio_cell

        g, name, rate = self.g, self.task.task, self.task.sample_rate
        task_schema, dry_schema = schemas
        rows: Optional[ShardFile] = None
        dry: Optional[ShardFile] = None
        counts = []
        try:
            for rid in job.recording_ids:
                _, rec_meta, made = self.clips(rid, job.seed)
                counts.append((rid, len(made)))
                meta = json.dumps(rec_meta, sort_keys=True, default=str)
                for clip, renders, mel, dry_mel, values in made:
                    if rows is None:
                        rows = ShardFile(job.path(name), task_schema)
                        dry = ShardFile(job.path("dry"), dry_schema)
                    # a wet cell names no file: its path would spell the row, which a re-keyed id hides
                    rows.write(arrow_table(task_schema, {
                        **self.constant, **self._drawn(values), "id": [row_id(job.key, clip.clip_id, i) for i in range(g)],
                        "split": [job.split] * g, "recording_id": [rid] * g, "clip_id": [clip.clip_id] * g,
                        "mel": mel, "audio": [audio_cell(r, rate) for r in renders]}))
                    dry.write(arrow_table(dry_schema, {
                        "clip_id": [clip.clip_id], "split": [job.split], "recording_id": [rid],
                        "clip_index": [clip.index], "start_sample": [clip.start], "mel": dry_mel[None],
                        "audio": [audio_cell(clip.pcm, rate, f"{clip.clip_id}.flac")], "meta": [meta]}))
        finally:
            for f in (rows, dry):
                if f is not None:
                    f.close()
        return ShardResult(job, tuple(counts), str(rows.path) if rows else None, str(dry.path) if dry else None)
