"""A dataset folder whose test split can be handed out: targets withheld, rows shuffled and re-keyed.

A test row's label can be read off its target columns, off its row id (a keyed hash under the public
fingerprint of the clip id and grid point, which anyone with the clip id can recompute for every grid point),
off the clip and recording ids (which group the renders of one dry clip), the row order and the dry clips of
the test split. So the published copy drops the target columns and the dry test shards, and replaces each
test row's ids with an HMAC of its original id under a random secret that is never stored; the rows are
ordered by that id, so the order says nothing either. The labels could also be had by rendering the test
audio again: a blind build refuses sources whose recordings are public, and withholds the data seed from
the folder (a synth build draws a secret one); the answer key (``answers.py``) keeps the seed and the
targets. Train and validation stay byte for byte as built, and the manifest keeps the build's fingerprint,
so a blind score ranks beside the labelled ones.

Tables are transformed column by column with pyarrow, whatever type a column has.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
from datetime import datetime, timezone
from pathlib import Path

from fxbench.checksums import sha256_file
from fxbench.dataset.answers import AnswerKey, AnswerRow, check_answers_path, write_new
from fxbench.dataset.build import DRY_CONFIG, MANIFEST, build_dataset
from fxbench.dataset.swap import check_out_dir, clean_leftovers, source_folders, swap_in, temp_dir
from fxbench.dataset.terminate import sigterm_as_interrupt
from fxbench.errors import FxbenchError
from fxbench.sources.base import Source
from fxbench.sources.registry import source_entry
from fxbench.task import TaskConfig

ID_HEX = 16  # hex digits kept of each HMAC-SHA256 id
MASKED = ("id", "clip_id", "recording_id")  # columns that become the row's blind id


def blind_id(secret: bytes, row_id: str) -> str:
    return hmac.new(secret, row_id.encode("utf-8"), hashlib.sha256).hexdigest()[:ID_HEX]


def target_columns(task: TaskConfig) -> list[str]:
    """Every column that tells a test row's answer."""
    return ["grid_index", *[c for p in task.parameters for c in (p.name, f"{p.name}_scaled")]]


def check_blind_source(name: str | None) -> None:
    """Refuse a source whose recordings anyone can get: they can be rendered over the task's whole grid and
    matched to the test rows, labels and all, whatever the published folder withholds."""
    entry = source_entry(name) if name else None
    if entry is not None and entry.public_audio:
        raise FxbenchError(f"--blind on source {name!r}: its recordings are public, so anyone can render them over "
                           f"the grid and match the test rows; blind protects only audio others don't have: use "
                           f"--source folder:PATH with your own recordings, or synth with a secret seed", exit_code=2)


def blind_seed(source_name: str | None, seed: int | None) -> tuple[int, str | None]:
    """(the data seed of a blind build, a warning or None). A synth source makes its audio from the seed, so
    a blind synth build draws a secret one unless ``seed`` is given; other sources default to 0 as usual."""
    entry = source_entry(source_name) if source_name else None
    if entry is None or entry.kind != "synth":
        return (0 if seed is None else seed), None
    if seed is None:
        return secrets.randbits(62), None
    return seed, (f"--seed {seed} with --blind on a synth source: anyone who guesses the seed can rebuild the test "
                  f"split with its labels; drop --seed to draw a secret one")


@sigterm_as_interrupt()
def build_blind(task: TaskConfig, source: Source, seed: int, out: Path, answers: Path, progress: bool = True,
                workers: int | None = None, overwrite: bool = False) -> tuple[dict, AnswerKey]:
    """Build ``task`` as usual in a private folder, then publish its blind copy in ``out`` and the key in
    ``answers`` (which must not exist yet). Returns (the blind folder's manifest, the key). ``out`` is
    replaced only as a plain build would replace it (see ``swap.check_out_dir``). The labelled build lives
    in a folder only its owner can read, removed on any exit, SIGTERM included; one a killed process left
    is removed by the next build beside it."""
    out = Path(out)
    check_blind_source(getattr(source, "name", None))
    check_out_dir(out, overwrite, source_folders(source))
    check_answers_path(answers, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out.parent)
    staging = temp_dir(out, "labelled")
    staging.mkdir(mode=0o700)
    os.chmod(staging, 0o700)  # whatever the umask
    try:
        built = staging / out.name
        build_dataset(task, source, seed, built, progress=progress, workers=workers)
        return publish_blind(built, out, answers, task)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish_blind(built: Path, out: Path, answers: Path, task: TaskConfig) -> tuple[dict, AnswerKey]:
    """Write the blind copy of the labelled folder ``built`` into ``out`` (replaced atomically) and its answer
    key into ``answers``; ``built`` is left as it was. The key is written first and removed again if the folder
    cannot be put in place, so there is never a blind folder without its key."""
    from fxbench.dataset.cache import read_manifest

    built, out = Path(built), Path(out)
    check_answers_path(answers, out)
    manifest = read_manifest(built)
    if manifest is None or manifest.get("task") != task.task or manifest.get("task_digest") != task.digest():
        raise FxbenchError(f"{built} is not a complete single-task fxbench dataset of {task.task!r}; build it with "
                           f"`fxbench data build --task {task.task}`", exit_code=2)
    if manifest.get("blind"):
        raise FxbenchError(f"{built} is already blind; build the labelled dataset again to make a new blind copy",
                           exit_code=2)
    check_blind_source((manifest.get("source") or {}).get("name"))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir(out)
    try:
        blind_manifest, key = _blind_copy(built, tmp, manifest, task, secrets.token_bytes(32))
        write_new(answers, key)
        try:
            swap_in(tmp, out)
        except BaseException:
            Path(answers).unlink(missing_ok=True)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not Path(answers).is_file():
        raise FxbenchError(f"the answer key {answers} is gone after {out} was put in place, so the blind folder "
                           f"cannot be scored; build it again with --answers outside {out}", exit_code=2)
    return blind_manifest, key


def _place(src: Path, dst: Path) -> None:
    """A shard that stays as built: hard-linked when the file system allows, else copied."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _blind_copy(built: Path, root: Path, manifest: dict, task: TaskConfig, secret: bytes) -> tuple[dict, AnswerKey]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    root.mkdir(parents=True)
    test_prefix, dry_test = f"{task.task}/test-", f"{DRY_CONFIG}/test-"
    files, tests = {}, []
    for rel, digest in sorted(manifest["files"].items()):
        if rel.startswith(test_prefix):
            tests.append(rel)
        elif not rel.startswith(dry_test):
            _place(built / rel, root / rel)
            files[rel] = digest
    if not tests:
        raise FxbenchError(f"{built} has no test shards of {task.task!r}; rebuild it", exit_code=2)
    table = pa.concat_tables([pq.read_table(built / rel) for rel in tests])
    original = [str(v) for v in table.column("id").to_pylist()]
    ids = [blind_id(secret, i) for i in original]
    if len(set(ids)) != len(ids):  # 64-bit ids: all but impossible
        raise FxbenchError("two test rows got the same blind id; run the blind build again (a new secret)")
    order = sorted(range(len(ids)), key=ids.__getitem__)
    key = _answer_key(task, manifest, table, original, ids)
    dropped = [c for c in target_columns(task) if c in table.column_names]
    shuffled = table.drop_columns(dropped).take(pa.array(order, type=pa.int64()))
    ordered = [ids[i] for i in order]
    for name in MASKED:
        at = shuffled.schema.get_field_index(name)
        shuffled = shuffled.set_column(at, shuffled.schema.field(at), pa.array(ordered, type=shuffled.schema.field(at).type))
    shuffled = shuffled.replace_schema_metadata(_metadata_without(shuffled.schema.metadata, dropped))
    files.update(_write_test_shards(shuffled, root, task.task, len(tests)))
    blind = {**manifest, "files": files, "blind": True, "withheld_columns": sorted(dropped), "seed": None}
    _write_card(root, task, blind)
    (root / MANIFEST).write_text(json.dumps(blind, indent=2, sort_keys=True) + "\n")
    return blind, key


def _answer_key(task: TaskConfig, manifest: dict, table, original: list[str], ids: list[str]) -> AnswerKey:
    cols = {c: table.column(c).to_pylist() for c in target_columns(task)}
    rows = {}
    for k, (orig, bid) in enumerate(zip(original, ids)):
        rows[bid] = AnswerRow(id=orig, grid_index=int(cols["grid_index"][k]),
                              scaled={p.name: float(cols[f"{p.name}_scaled"][k]) for p in task.parameters},
                              units={p.name: float(cols[p.name][k]) for p in task.parameters})
    return AnswerKey(format="fxbench-answers/1", task=task.task, task_version=task.version,
                     task_digest=manifest["task_digest"], dataset_fingerprint=manifest["fingerprint"],
                     seed=manifest["seed"],
                     parameters={p.name: p.unit for p in task.parameters},
                     created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     rows=dict(sorted(rows.items())))


def _metadata_without(metadata: dict | None, dropped: list[str]) -> dict | None:
    """The schema's `datasets` metadata (its features) without the dropped columns."""
    if not metadata or b"huggingface" not in metadata:
        return metadata
    info = json.loads(metadata[b"huggingface"])
    features = info.get("info", {}).get("features")
    if isinstance(features, dict):
        for name in dropped:
            features.pop(name, None)
    return {**metadata, b"huggingface": json.dumps(info).encode()}


def _write_test_shards(table, root: Path, config: str, n_shards: int) -> dict[str, str]:
    """The shuffled rows in ``n_shards`` shards of near-equal size, named by content like a build's."""
    import pyarrow.parquet as pq

    from fxbench.dataset.shards import ROW_GROUP_ROWS, writer_options

    (root / config).mkdir(parents=True, exist_ok=True)
    files = {}
    n = table.num_rows
    bounds = [round(k * n / n_shards) for k in range(n_shards + 1)]
    for k in range(n_shards):
        tmp = root / config / f".test-{k:05d}.parquet"
        pq.write_table(table.slice(bounds[k], bounds[k + 1] - bounds[k]), tmp, row_group_size=ROW_GROUP_ROWS,
                       **writer_options(table.schema))
        digest = sha256_file(tmp)
        rel = f"{config}/test-{k:05d}-{digest[:16]}.parquet"
        os.rename(tmp, root / rel)
        files[rel] = digest
    return files


BLIND_SECTION = """## Blind test split

The test split's targets are withheld: its rows carry no `grid_index` and no parameter columns (`datasets`
shows them as null), their `id`, `clip_id` and `recording_id` are opaque keys under a secret, their order is
shuffled, and the `dry` config has no test split. The build's data seed is withheld too (the answer key
keeps it), and its audio is not public, so the test split cannot be rendered again with its labels. This
protects the labels from being read off or rebuilt from what is published; it cannot stop anyone who
labels the test audio some other way. Train and validation are as built. Predict the test rows and send
the predictions (`id` plus one `<param>_scaled` column per parameter) to whoever holds the answer key;
they score them with `fxbench score --task {task} --data <this folder> --predictions FILE --answers KEY`.
"""


def _write_card(root: Path, task: TaskConfig, manifest: dict) -> None:
    """The build's card (``manifest`` lists no dry test shards, so neither does the card), saying that the
    test targets are withheld."""
    import yaml

    from fxbench.dataset.card import write_card

    write_card(root, task, manifest)
    card = root / "README.md"
    _, head, body = card.read_text(encoding="utf-8").split("---\n", 2)
    header = yaml.safe_load(head)
    header.setdefault("fxbench", {})["blind"] = True
    title, _, rest = body.lstrip("\n").partition("\n")
    body = f"{title}\n\n{BLIND_SECTION.format(task=task.task)}{rest}"
    card.write_text("---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n\n" + body, encoding="utf-8")
