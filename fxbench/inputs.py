"""Input tracks: what a model sees of each row. ``wet`` is the blind task (the processed clip alone);
``paired`` is reference matching, the producer's case ("here is my dry take and a processed reference:
what settings?"): the wet Mel spectrogram and the dry clip's, as two channels.

The two are different problems, so a record says which it was made on and the leaderboard ranks them
apart, never in one table."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from fxbench.dataset.split import SplitData
from fxbench.errors import FxbenchError

INPUTS = ("wet", "paired")
DEFAULT = "wet"
CHANNELS = {"wet": ("wet",), "paired": ("wet", "dry")}  # SplitData.x channel order


def check_input(name: str) -> str:
    if name not in INPUTS:
        raise FxbenchError(f"unknown --input {name!r}; use one of {', '.join(INPUTS)}", exit_code=2)
    return name


def model_inputs(model: Any) -> tuple[str, ...]:
    """The input tracks a model takes: its ``inputs`` attribute, else the blind track only (a model written
    for one channel would misread two)."""
    got = getattr(model, "inputs", (DEFAULT,))
    return tuple(got) if isinstance(got, (tuple, list)) else (DEFAULT,)


def check_model_input(model: Any, label: str, name: str) -> None:
    """Before any data is built: a model asked for a track it does not declare is refused."""
    takes = model_inputs(model)
    if name not in takes:
        raise FxbenchError(f"model {label} takes --input {', '.join(takes)} only, not {name}; drop --input {name} "
                           f"or declare `inputs = (\"wet\", \"paired\")` on a model that reads x's channels",
                           exit_code=2)


def with_input(data: SplitData, name: str) -> SplitData:
    """``data`` as the track ``name`` shows it: for ``paired``, x becomes (n, 2, mels, frames), wet then dry."""
    if name == "wet":
        return data
    if data.dry_x is None:
        raise FxbenchError(f"split {data.name}: its dry clips are not available, so --input paired cannot show "
                           f"them; use --input wet", exit_code=2)
    try:
        dry = data.dry_x(data.clip_ids)
    except KeyError as exc:
        raise FxbenchError(f"split {data.name}: the dataset has no dry clip {exc.args[0]!r} (a blind test split "
                           f"withholds them), so --input paired cannot be scored on it; use --input wet",
                           exit_code=2) from None
    return replace(data, x=np.ascontiguousarray(np.concatenate([data.x, dry.astype(np.float32)], axis=1)))


def with_input_all(splits: dict[str, SplitData], name: str) -> dict[str, SplitData]:
    return {k: with_input(v, name) for k, v in splits.items()}
