"""Task definitions: YAML files parsed into validated, frozen dataclasses.

A task file is the whole contract of a benchmark task (effect, parameter grid,
clips, splits, features, metrics, version), so it is parsed strictly: an unknown
key, a missing field or a wrong type is an error naming the file and the field.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from fxbench.errors import FxbenchError, did_you_mean

KNOWN_METRICS = ("mae", "mse", "per_param_mae", "per_param_mae_units", "grid_accuracy",
                 "random_mae", "chance_mae")


@dataclass(frozen=True)
class Parameter:
    """One effect parameter: its grid and the range that scales it to [0, 1]."""

    name: str
    unit: str
    grid: tuple[float, ...]
    range: tuple[float, float]
    bypass: Union[float, None] = None  # grid value that means "dry clip, not rendered"
    description: str = ""

    def scale(self, values: Any) -> Any:
        lo, hi = self.range
        return (values - lo) / (hi - lo)

    def unscale(self, scaled: Any) -> Any:
        lo, hi = self.range
        return scaled * (hi - lo) + lo

    @property
    def span(self) -> float:
        return float(self.range[1] - self.range[0])

    @property
    def scaled_grid(self) -> tuple[float, ...]:
        return tuple(float(self.scale(v)) for v in self.grid)


@dataclass(frozen=True)
class EffectSpec:
    """A pedalboard plugin (by class name) and its settings that never vary."""

    plugin: str
    fixed: dict = field(default_factory=dict)
    input_gain_db: float = 0.0  # level change before the effect (drives level-dependent effects)
    note: str = ""


@dataclass(frozen=True)
class ReferenceResult:
    """One number a publication reported for this task (shown on the leaderboard, never ranked)."""

    model: str
    test_mae: Union[float, None] = None
    test_mse: Union[float, None] = None
    n_test: Union[int, None] = None
    where: str = ""  # table or figure in the publication


@dataclass(frozen=True)
class Reference:
    """Published results to compare against; commentary, so not part of the task's digest."""

    source: str = ""
    note: str = ""
    results: tuple[ReferenceResult, ...] = ()


@dataclass(frozen=True)
class FeatureSpec:
    """The model input: the paper's min-max normalised dB Mel spectrogram."""

    kind: str = "mel"
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 128
    to_db: bool = True
    normalize: str = "minmax"


@dataclass(frozen=True)
class DatasetSpec:
    """How much dry audio the default dataset takes: rows = clips x grid points."""

    clips: int
    clips_per_recording: int = 2  # synthetic sources: recordings are cheap, so a few clips each
    real_clips_per_recording: int = 16  # real sources: recordings are long and few, so many clips each


@dataclass(frozen=True)
class SplitSpec:
    """Split fractions; recordings (never clips) are assigned to splits."""

    train: float = 0.8
    validation: float = 0.1
    test: float = 0.1
    by: str = "recording"


@dataclass(frozen=True)
class TaskConfig:
    """One benchmark task, as read from ``tasks/NAME.yaml``."""

    task: str
    version: int
    description: str
    effect: EffectSpec
    parameters: tuple[Parameter, ...]
    dataset: DatasetSpec
    sample_rate: int = 44100
    clip_seconds: float = 2.0
    splits: SplitSpec = field(default_factory=SplitSpec)
    features: FeatureSpec = field(default_factory=FeatureSpec)
    metrics: tuple[str, ...] = KNOWN_METRICS
    main_metric: str = "mae"
    reference: Reference = field(default_factory=Reference)
    path: str = field(default="", compare=False)  # where it was read from; not part of the task

    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def clip_samples(self) -> int:
        return int(round(self.clip_seconds * self.sample_rate))

    @property
    def n_frames(self) -> int:
        return self.clip_samples // self.features.hop_length + 1

    def grid_points(self) -> list[dict[str, float]]:
        """Every combination of parameter values, in a fixed order (the grid index)."""
        names = self.param_names
        return [dict(zip(names, combo)) for combo in itertools.product(*(p.grid for p in self.parameters))]

    def to_dict(self) -> dict:
        """The definition as it determines data and metrics; published reference numbers are left out,
        so adding or correcting one does not invalidate datasets and results."""
        data = dataclasses.asdict(self)
        data.pop("path")
        data.pop("reference")
        # a default for real sources only: the value a build uses is hashed with its clip policy, and leaving
        # it out keeps every synth dataset's fingerprint and every task digest what it was
        data["dataset"].pop("real_clips_per_recording")
        return data

    def digest(self) -> str:
        """Hash of the definition (not of the file's formatting, comments or reference numbers)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()


# ---------------------------------------------------------------- strict parsing

def _convert(value: Any, hint: Any, where: str) -> Any:
    origin = get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise FxbenchError(f"{where}: expected a mapping, got {type(value).__name__}")
        return _build(hint, value, where)
    if origin is Union:
        options = [a for a in get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, options[0], where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise FxbenchError(f"{where}: expected a list, got {type(value).__name__}")
        args = get_args(hint)
        item = args[0]
        if len(args) == 2 and args[1] is not Ellipsis:
            if len(value) != 2:
                raise FxbenchError(f"{where}: expected exactly 2 values, got {len(value)}")
        return tuple(_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is dict:
        if not isinstance(value, dict):
            raise FxbenchError(f"{where}: expected a mapping, got {type(value).__name__}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FxbenchError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FxbenchError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise FxbenchError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise FxbenchError(f"{where}: expected text, got {value!r}")
        return value
    return value


def _at(where: str, msg: str) -> str:
    return f"{where}: {msg}" if where else msg


def _build(cls: type, data: dict, where: str) -> Any:
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "path"}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise FxbenchError(_at(where, f"unknown key {unknown[0]!r} (allowed: {', '.join(fields)})"))
    kwargs = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise FxbenchError(_at(where, f"missing required field {name!r}"))
            continue
        kwargs[name] = _convert(data[name], hints[name], f"{where}.{name}" if where else name)
    return cls(**kwargs)


def _check(task: TaskConfig, where: str) -> None:
    def bad(msg: str) -> FxbenchError:
        return FxbenchError(f"{where}: {msg}")

    if not task.parameters:
        raise bad("parameters: at least one parameter is required")
    seen = set()
    for i, p in enumerate(task.parameters):
        if p.name in seen:
            raise bad(f"parameters[{i}].name: duplicate parameter {p.name!r}")
        seen.add(p.name)
        lo, hi = p.range
        if not hi > lo:
            raise bad(f"parameters[{i}].range: upper bound must exceed lower bound, got {list(p.range)}")
        if len(p.grid) < 2:
            raise bad(f"parameters[{i}].grid: needs at least two values")
        outside = [v for v in p.grid if not lo <= v <= hi]
        if outside:
            raise bad(f"parameters[{i}].grid: value {outside[0]} lies outside range {list(p.range)}")
        if len(set(p.grid)) != len(p.grid):
            raise bad(f"parameters[{i}].grid: values must be distinct")
        if p.bypass is not None and p.bypass not in p.grid:
            raise bad(f"parameters[{i}].bypass: {p.bypass} is not a grid value")
    s = task.splits
    if min(s.train, s.validation, s.test) <= 0 or abs(s.train + s.validation + s.test - 1) > 1e-6:
        raise bad("splits: train, validation and test must be positive and sum to 1")
    if s.by != "recording":
        raise bad(f"splits.by: only 'recording' is supported, got {s.by!r}")
    if task.features.kind != "mel":
        raise bad(f"features.kind: only 'mel' is supported, got {task.features.kind!r}")
    if task.features.normalize not in ("minmax", "none"):
        raise bad(f"features.normalize: 'minmax' or 'none', got {task.features.normalize!r}")
    unknown = [m for m in task.metrics if m not in KNOWN_METRICS]
    if unknown:
        raise bad(f"metrics: unknown metric {unknown[0]!r} (known: {', '.join(KNOWN_METRICS)})")
    if task.main_metric not in ("mae", "mse"):
        raise bad(f"main_metric: 'mae' or 'mse', got {task.main_metric!r}")
    if task.dataset.clips < 3 or task.dataset.clips_per_recording < 1 or task.dataset.real_clips_per_recording < 1:
        raise bad("dataset: clips must be >= 3, clips_per_recording and real_clips_per_recording >= 1")
    if task.version < 1:
        raise bad("version: must be a positive integer")


def parse_task(text: str, where: str) -> TaskConfig:
    """Parse and validate the YAML text of a task file; ``where`` names it in errors."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise FxbenchError(f"{where}: not valid YAML ({first})") from None
    if not isinstance(data, dict):
        raise FxbenchError(f"{where}: a task file must be a mapping of keys to values")
    try:
        task = _build(TaskConfig, data, "")
    except FxbenchError as exc:
        raise FxbenchError(f"{where}: {exc}") from None
    task = dataclasses.replace(task, path=where)
    _check(task, where)
    return task


# ---------------------------------------------------------------- registry

def task_dirs() -> list[Path]:
    """Packaged task files first, then each folder in FXBENCH_TASK_PATH."""
    from importlib.resources import files

    dirs = [Path(str(files("fxbench.tasks")))]
    extra = os.environ.get("FXBENCH_TASK_PATH", "")
    dirs += [Path(p) for p in extra.split(os.pathsep) if p]
    return dirs


def available_tasks() -> dict[str, Path]:
    """Task name -> file. Two files defining one name is an error, not a silent pick."""
    found: dict[str, Path] = {}
    for d in task_dirs():
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.yaml")):
            name = path.stem
            if name in found and found[name].resolve() != path.resolve():
                raise FxbenchError(f"task {name!r} is defined twice: {found[name]} and {path}; rename one")
            found[name] = path
    return found


def load_task(name_or_path: str) -> TaskConfig:
    """Load a registered task by name, or a task file by path."""
    path = Path(name_or_path)
    if name_or_path.endswith((".yaml", ".yml")):
        if not path.is_file():
            raise FxbenchError(f"task file {name_or_path} not found; check the path", exit_code=2)
    else:
        tasks = available_tasks()
        if name_or_path not in tasks:
            raise FxbenchError(f"unknown task {name_or_path!r}.{did_you_mean(name_or_path, list(tasks))}",
                               exit_code=2)
        path = tasks[name_or_path]
    task = parse_task(path.read_text(encoding="utf-8"), str(path))
    if task.task != path.stem:
        raise FxbenchError(f"{path}: task: name {task.task!r} must match the file name {path.stem!r}")
    return task
