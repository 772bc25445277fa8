"""Where a result record goes: a new name under a results folder for every run, never the committed
leaderboard's by default, and checks made before a run that the record can be written there."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from fxbench.errors import FxbenchError


def default_results_dir() -> Path:
    """./results, beside the committed leaderboard, never in it (git ignores it); a record reaches the
    leaderboard when it is copied into leaderboard/results/."""
    return Path("results")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def record_stem(record: dict) -> str:
    """<model>[__paired]__seed<N>__<fingerprint12>[__on-<eval fingerprint12>[-all]]: what was run on what
    (scored prediction files, which have no seed, get ``__predictions__``; the paired input track
    ``__paired``)."""
    run = "predictions" if record.get("seed") is None else f"seed{record['seed']}"
    if record.get("input", "wet") != "wet":
        run = f"{record['input']}__{run}"
    on = ""
    if record.get("eval_dataset_fingerprint"):
        on = f"__on-{record['eval_dataset_fingerprint'][:12]}" + ("-all" if record.get("eval_split") == "all" else "")
    return f"{slug(record['model'])}__{run}__{record['dataset_fingerprint'][:12]}{on}"


def new_run_id() -> str:
    """UTC time and 6 random hex digits: two runs never share a record name, even in the same second."""
    import secrets
    from datetime import datetime, timezone

    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def unique_path(results_dir: Path, record: dict) -> Path:
    """<results_dir>/<task>/<record_stem>__<run id>.json, a name no file has yet: a rerun adds a record
    beside the earlier ones and never replaces one."""
    folder = Path(results_dir) / slug(record["task"])
    while True:
        path = folder / f"{record_stem(record)}__{new_run_id()}.json"
        if not path.exists():
            return path


def record_path(record: dict, output: Optional[str], results_dir: Optional[str]) -> Path:
    """Where a run's record (or what stands for it) goes: ``--output`` as given, else a new name under
    ``--results-dir`` or the default results folder; the one rule for every command that writes one."""
    if output:
        return Path(output)
    return unique_path(Path(results_dir) if results_dir else default_results_dir(), record)


def figure_paths(path: Path) -> dict[str, Path]:
    """The figures that share a record's stem."""
    stem = Path(path).with_suffix("")
    return {kind: stem.with_name(f"{stem.name}.{kind}.png") for kind in ("confusion", "loss")}


def check_destination(output: Optional[str], results_dir: Optional[str], overwrite: bool) -> None:
    """Before any work: --output replaces a file (or its figures) only with --overwrite, and the record's
    folder can be written; otherwise the run would fail only at the end, its training lost."""
    if output:
        if results_dir:
            raise FxbenchError("--output and --results-dir both say where the record goes; give one",
                               exit_code=2)
        out = Path(output)
        taken = [p for p in (out, *figure_paths(out).values()) if p.exists()]
        if taken and not overwrite:
            raise FxbenchError(f"--output {out}: {taken[0]} already exists; pass --overwrite to replace it, or "
                               f"drop --output to write a new record under --results-dir", exit_code=2)
        check_writable(out.parent, "--output")
    else:
        check_writable(Path(results_dir) if results_dir else default_results_dir(), "--results-dir")


def check_writable(folder: Path, option: str) -> None:
    """Create (and remove) a temporary file where ``folder`` is, or would be made."""
    import tempfile

    existing = Path(folder).absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise FxbenchError(f"{option}: {existing} is a file, so {folder} cannot be a folder; choose another "
                           f"path", exit_code=2)
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise FxbenchError(f"{option}: cannot write in {existing} ({exc.strerror or exc}); choose a folder you "
                           f"can write to", exit_code=2) from None
