"""The result record's one schema, strict: what `run` and `score` write is exactly what the leaderboard reads.

Unknown fields, wrong types (no "0.1" for a number, no true for an integer), NaN or inf anywhere, scaled
errors outside [0, 1] and per-row errors that disagree with the record's own MAE or test size are all
rejected, each with one line naming the file, the field and the fix. Records of older schemas are
upgraded first (``fxbench.results.upgrade_record``), then held to this one.
"""
from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, ValidationError

from fxbench.errors import FxbenchError
from fxbench.evaluation import CONDITIONS, EVAL_SPLITS
from fxbench.inputs import INPUTS

SCHEMA_VERSION = 6
MAE_TOLERANCE = 1e-6  # row errors are rounded to 1e-6, so their mean may differ from the MAE by half that

Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, StringConstraints(min_length=1)]
Scaled = Annotated[float, Field(ge=0.0, le=1.0)]  # an error or share on parameters scaled to [0, 1]
NonNegative = Annotated[float, Field(ge=0.0)]
Count = Annotated[int, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Predictions(_Strict):
    """Every scored row's predictions, scaled, as float32 (fxbench.results.encode_predictions)."""

    encoding: Literal["float32-le-base64"]
    ids: Annotated[list[Text], Field(min_length=1)]
    shape: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2, max_length=2)]
    data: str


class Submission(_Strict):
    """How the predictions were made: a model fxbench trained, or a file of predictions made elsewhere."""

    kind: Literal["model", "predictions"]
    spec: Text
    source: Optional[Literal["registered", "file", "module"]] = None
    units: Optional[Literal["physical", "scaled"]] = None


class Reconstruction(_Strict):
    """Spectrogram errors of a reconstruction model's dry estimate (None where it was not finite)."""

    l1: Optional[NonNegative]
    l2: Optional[NonNegative]
    identity_l1: Optional[NonNegative]
    identity_l2: Optional[NonNegative]
    n: Count


class Rerender(_Strict):
    """The predicted settings rendered again and compared with the true wet clips (fxbench/rerender.py)."""

    distance: Optional[NonNegative] = None
    mean_distance: Optional[NonNegative] = None
    random_distance: Optional[NonNegative] = None
    skill: Optional[float] = None  # 1 - distance / mean_distance; below 0: worse than the mean setting
    logmel_l1: Optional[NonNegative] = None
    mean_logmel_l1: Optional[NonNegative] = None
    random_logmel_l1: Optional[NonNegative] = None
    n: Optional[Count] = None
    skipped: Optional[str] = None  # why the rows could not be rendered again
    settings: dict


class Metrics(_Strict):
    mae: Scaled
    mse: Scaled
    per_param_mae: dict[str, Scaled]
    per_param_mae_units: dict[str, NonNegative]
    grid_accuracy: Optional[Scaled] = None  # grid tasks; a sampled task has within_tolerance instead
    per_param_grid_accuracy: Optional[dict[str, Scaled]] = None
    per_param_mse: Optional[dict[str, Scaled]] = None  # sampled tasks
    per_param_mse_units: Optional[dict[str, NonNegative]] = None
    within_tolerance: Optional[Scaled] = None
    per_param_within_tolerance: Optional[dict[str, Scaled]] = None
    tolerance: Optional[dict[str, Scaled]] = None  # scaled: the share of each parameter's range
    macro_f1: Optional[Scaled] = None  # tasks with presence targets (detection), at the 0.5 threshold
    per_param_f1: Optional[dict[str, Scaled]] = None
    per_param_accuracy: Optional[dict[str, Scaled]] = None
    random_mae: Scaled
    chance_mae: Scaled
    per_param_chance_mae: Optional[dict[str, Scaled]] = None  # schema 1 had none
    n: Annotated[int, Field(ge=1)]
    reconstruction: Optional[Reconstruction] = None
    rerender: Optional[Rerender] = None  # records before the re-render metric have none


class Timing(_Strict):
    build_s: Optional[NonNegative] = None  # None: the dataset came from the cache
    load_s: Optional[NonNegative] = None
    train_s: Optional[NonNegative] = None
    predict_s: Optional[NonNegative] = None
    score_s: Optional[NonNegative] = None
    rerender_s: Optional[NonNegative] = None  # of score_s (score) or total_s (run): the re-render metric
    total_s: Optional[NonNegative] = None
    dataset_cached: Optional[bool] = None


class Environment(_Strict):
    """What a rerun has to match: CPU training is bit-identical only on the same machine and thread count."""

    python: Optional[str] = None
    platform: Optional[str] = None
    torch: Optional[str] = None
    cpu_count: Optional[Count] = None
    cuda: Optional[str] = None
    torch_threads: Optional[Annotated[int, Field(ge=1)]] = None  # torch.get_num_threads() while training


class Record(_Strict):
    schema_version: Literal[6]
    task: Text
    task_version: Count
    task_digest: Optional[Hex64] = None  # schema 1 records may lack it; such a record never ranks
    model: Text
    submission: Submission
    seed: Optional[int]  # None for a scored predictions file
    data_seed: Optional[int] = None
    source: Text
    dataset_fingerprint: Hex64
    eval_source: Optional[Text]
    eval_split: Literal[EVAL_SPLITS]
    eval_dataset_fingerprint: Optional[Hex64]
    # fxbench.checksums.task_files_digest of the datasets' manifests: None in records before schema 6
    dataset_files_digest: Optional[Hex64] = None
    eval_dataset_files_digest: Optional[Hex64] = None
    condition: Literal[CONDITIONS]
    input: Literal[INPUTS] = "wet"  # the input track: the wet clip alone, or wet and dry (fxbench/inputs.py)
    n_train: Count
    n_validation: Count
    n_test: Annotated[int, Field(ge=1)]
    param_units: dict[str, str] = {}
    metrics: Metrics
    predictions_sha256: Optional[Hex64] = None
    row_abs_errors: Optional[Annotated[list[Scaled], Field(min_length=1)]] = None
    predictions: Optional[Predictions] = None  # records before schema 5 kept only their hash
    config: dict[str, JsonValue]
    history: list[dict[str, JsonValue]] = []
    timing: Timing
    fxbench_version: Text
    git_commit: Optional[str] = None
    environment: Environment = Environment()
    created_at: Text
    blind: bool = False  # scored against a hidden answer key
    data_revision: Optional[str] = None  # Hub commit of --data


def _nonfinite(value: Any, path: str = "") -> Optional[str]:
    """The first field holding NaN or inf (JSON has neither; a record must not either)."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "(the record)"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _nonfinite(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else key)
        if found:
            return found
    return None


# Tags pydantic puts in an error's location for the member of a union (JsonValue) it tried.
_TAGS = {"str", "int", "float", "bool", "list", "dict", "none"}


def _field(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in _TAGS and not str(part).startswith(("function-", "constrained-")):
            out += f".{part}" if out else str(part)
    return out or "(the record)"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


REGENERATE = "regenerate the record with `fxbench run` or `fxbench score`"


def _message(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    field = _field(err["loc"])
    if err["type"] == "extra_forbidden":
        return (f"unknown field {field!r}; remove it (this fxbench reads record schemas 1..{SCHEMA_VERSION}: "
                f"upgrade fxbench if a newer one wrote it)")
    if err["type"] == "missing":
        return f"field {field!r} is missing; {REGENERATE}"
    return f"field {field!r}: {err['msg'].lower()}, got {_show(err.get('input'))}; fix it or {REGENERATE}"


def check_record(data: Any, where: str) -> Record:
    """``data`` (a record already upgraded to the current schema) as a ``Record``, or a FxbenchError with
    one line naming ``where``, the field and the fix."""
    if not isinstance(data, dict):
        raise FxbenchError(f"{where}: a result record must be a JSON object, got {type(data).__name__}; "
                           f"{REGENERATE}")
    bad = _nonfinite(data)
    if bad:
        raise FxbenchError(f"{where}: field {bad!r} is NaN or inf, which a record may not hold; {REGENERATE}")
    try:
        record = Record.model_validate(data)
    except ValidationError as exc:
        raise FxbenchError(f"{where}: {_message(exc)}") from None
    rows = record.row_abs_errors
    if record.metrics.n != record.n_test:
        raise FxbenchError(f"{where}: field 'metrics.n' is {record.metrics.n} but 'n_test' is {record.n_test}; "
                           f"{REGENERATE}")
    if rows is not None:
        if len(rows) != record.n_test:
            raise FxbenchError(f"{where}: field 'row_abs_errors' has {len(rows)} rows but 'n_test' is "
                               f"{record.n_test}; {REGENERATE}")
        mean = math.fsum(rows) / len(rows)
        if abs(mean - record.metrics.mae) > MAE_TOLERANCE:
            raise FxbenchError(f"{where}: field 'metrics.mae' is {record.metrics.mae!r} but its "
                               f"'row_abs_errors' average {mean:.6f}; {REGENERATE}")
    if record.predictions is not None:
        _check_predictions(record, where)
    return record


def _check_predictions(record: Record, where: str) -> None:
    """The kept predictions decode to one finite [0, 1] row per test id, in id order, and are the ones the
    record's hash and per-row errors were made from."""
    import base64
    import binascii

    import numpy as np

    from fxbench.results import predictions_sha256

    kept = record.predictions
    n, k = kept.shape
    fix = f"; {REGENERATE}"
    if n != record.n_test or len(kept.ids) != n:
        raise FxbenchError(f"{where}: field 'predictions' holds {len(kept.ids)} ids and shape {kept.shape} but "
                           f"'n_test' is {record.n_test}{fix}")
    if k != len(record.metrics.per_param_mae):
        raise FxbenchError(f"{where}: field 'predictions.shape' has {k} parameters but the metrics score "
                           f"{len(record.metrics.per_param_mae)}{fix}")
    if kept.ids != sorted(kept.ids) or len(set(kept.ids)) != n:
        raise FxbenchError(f"{where}: field 'predictions.ids' must be sorted and unique{fix}")
    try:
        raw = base64.b64decode(kept.data, validate=True)
    except (binascii.Error, ValueError):
        raise FxbenchError(f"{where}: field 'predictions.data' is not base64{fix}") from None
    if len(raw) != 4 * n * k:
        raise FxbenchError(f"{where}: field 'predictions.data' holds {len(raw)} bytes, not {4 * n * k} (float32 "
                           f"{n} x {k}){fix}")
    values = np.frombuffer(raw, dtype="<f4").reshape(n, k)
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        raise FxbenchError(f"{where}: field 'predictions.data' holds values outside [0, 1] or not finite{fix}")
    if record.predictions_sha256 is not None and predictions_sha256(kept.ids, values) != record.predictions_sha256:
        raise FxbenchError(f"{where}: field 'predictions' does not match 'predictions_sha256'{fix}")


def row_mae(record: dict) -> float:
    """The MAE a record ranks by: the mean of its per-row errors when it has them (checked to agree with
    ``metrics.mae``), so the ranked number is the one its rows support."""
    rows = record.get("row_abs_errors")
    return math.fsum(rows) / len(rows) if rows else float(record["metrics"]["mae"])
