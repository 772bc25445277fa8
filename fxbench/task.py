"""Task definitions: YAML files validated by one strict schema into frozen dataclasses.

A task file is the whole contract of a benchmark task (effect, parameter grid, clips, splits, features,
metrics, version), so every field is typed and bounded here, once, and code past ``load_task`` never
re-checks it. The classes are pydantic dataclasses, so the schema and the object the rest of fxbench uses
are one definition: a new field is one annotated line with a default (existing files keep loading), and
its checks sit beside it.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import math
import os
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import numpy as np

from pydantic import AfterValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError, model_validator
from pydantic.dataclasses import dataclass

from fxbench.errors import FxbenchError, did_you_mean
from fxbench.schema_errors import NOT_IN_FILE, invalid, one_line

#: A task that lists no metrics gets these (kept as they were, so such a task's digest stays too).
DEFAULT_METRICS = ("mae", "mse", "per_param_mae", "per_param_mae_units", "grid_accuracy",
                   "random_mae", "chance_mae")
#: ``within_tolerance`` is the sampled tasks' counterpart of ``grid_accuracy``.
KNOWN_METRICS = (*DEFAULT_METRICS, "within_tolerance")

#: Every dry clip is rendered at every combination of grid values (rows = clips x combinations): past this the
#: grid, not the audio, sets the size of a build, and a slip such as a million-point grid is caught at load.
MAX_GRID_POINTS = 4096
#: Clips are held whole in memory at every grid point during a build and fed whole to the models.
MAX_CLIP_SECONDS = 30.0

#: Field metadata: left out of ``to_dict`` (and so of the digest and every dataset fingerprint).
NOT_HASHED = {"hashed": False}
#: Field metadata: left out of ``to_dict`` while at its default, so a new field keeps old tasks' digests.
HASHED_UNLESS_DEFAULT = {"omit_default": True}
#: Share of a sampled parameter's (scaled) range a prediction may be off and still count as within tolerance.
DEFAULT_TOLERANCE = 0.05

# YAML scalars as they are: no "1" -> 1, no true -> 1, and (by the config) no nan or inf
Int = Annotated[int, Strict()]
Count = Annotated[int, Strict(), Field(ge=1)]
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]
Text = Annotated[str, Strict()]
Fraction = Annotated[float, Strict(), Field(gt=0, lt=1)]

STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


def _identifier(value: str) -> str:
    if not value.isidentifier():
        raise invalid("", f"{value!r} is not a name of letters, digits and underscores",
                      "rename it (it becomes a column name, e.g. bit_depth_scaled)")
    return value


def _task_name(value: str) -> str:
    if not value or not all(c.isalnum() or c in "_-" for c in value):
        raise invalid("", f"{value!r} is not a name of letters, digits, '_' and '-'",
                      "rename the task and its file (the name becomes a folder name)")
    return value


def _settings(value: dict) -> dict:
    for key, v in value.items():
        if not isinstance(key, str):
            raise invalid("", f"setting name {key!r} is not text", "name it after the plugin's argument")
        if not (isinstance(v, (bool, int, str)) or (isinstance(v, float) and math.isfinite(v))):
            raise invalid(key, f"expected a finite number, text or true/false, got {v!r}",
                          "give the plugin setting a plain value")
    return value


def _metrics(value: tuple) -> tuple:
    for m in value:
        if m not in KNOWN_METRICS:
            raise invalid("", f"unknown metric {m!r} (known: {', '.join(KNOWN_METRICS)})", "remove it")
    if len(set(value)) != len(value):
        raise invalid("", "a metric is listed twice", "list each metric once")
    return value


@dataclass(frozen=True, config=STRICT)
class Parameter:
    """One effect parameter: a grid of values, or a range to draw from (``sampling``), and the range that
    scales it to [0, 1] (on the log axis for ``sampling: log``)."""

    name: Annotated[Text, AfterValidator(_identifier)]
    unit: Text
    range: tuple[Float, Float]
    grid: Optional[Annotated[tuple[Float, ...], Field(min_length=2, max_length=MAX_GRID_POINTS)]] = \
        field(default=None, metadata=HASHED_UNLESS_DEFAULT)
    bypass: Optional[Float] = None  # grid value that means "dry clip, not rendered"
    description: Text = ""
    # presence: 1 where the chain stage ``stage`` was applied, 0 where it was bypassed (drawn with its p_active)
    sampling: Optional[Literal["uniform", "log", "presence"]] = field(default=None, metadata=HASHED_UNLESS_DEFAULT)
    # scaled units (a share of the range); only for sampled parameters, whose default is DEFAULT_TOLERANCE
    tolerance: Optional[Fraction] = field(default=None, metadata=HASHED_UNLESS_DEFAULT)
    # a chain's parameters: the stage (by name) whose knob this is, and the knob's name there (default: ``name``)
    stage: Optional[Annotated[Text, AfterValidator(_identifier)]] = field(default=None, metadata=HASHED_UNLESS_DEFAULT)
    setting: Optional[Annotated[Text, Field(min_length=1)]] = field(default=None, metadata=HASHED_UNLESS_DEFAULT)

    @model_validator(mode="after")
    def _grid_in_range(self) -> Parameter:
        lo, hi = self.range
        if not hi > lo:
            raise invalid("range", f"upper bound must exceed lower bound, got {list(self.range)}",
                          "write it as [low, high]")
        if (self.grid is None) == (self.sampling is None):
            raise invalid("", "needs exactly one of grid (values to render) and sampling (uniform or log)",
                          "keep the one you mean")
        if self.sampling == "presence":
            if self.range != (0.0, 1.0) or self.stage is None or self.setting is not None:
                raise invalid("", "a presence target has range [0, 1], names its chain stage and no setting",
                              "write range: [0.0, 1.0] and stage: <the stage's name>")
            if self.tolerance is not None:
                raise invalid("tolerance", "a presence target is scored at the 0.5 threshold", "remove it")
        if self.sampling is not None:
            if self.sampling == "log" and not lo > 0:
                raise invalid("range", f"sampling: log needs a positive range, got {list(self.range)}",
                              "raise the lower bound above 0 or use sampling: uniform")
            if self.bypass is not None:
                raise invalid("bypass", "a sampled parameter has no grid value to bypass at", "remove bypass")
            return self
        if self.tolerance is not None:
            raise invalid("tolerance", "applies to sampled parameters (a grid is scored by grid accuracy)",
                          "remove it or sample the parameter")
        outside = [v for v in self.grid if not lo <= v <= hi]
        if outside:
            raise invalid("grid", f"value {outside[0]} lies outside range {list(self.range)}",
                          "widen the range or drop the value")
        if len(set(self.grid)) != len(self.grid):
            raise invalid("grid", "values must be distinct", "remove the repeated value")
        if self.bypass is not None and self.bypass not in self.grid:
            raise invalid("bypass", f"{self.bypass} is not a grid value", "use one of the grid's values")
        return self

    @property
    def is_sampled(self) -> bool:
        return self.sampling is not None

    @property
    def is_presence(self) -> bool:
        return self.sampling == "presence"

    @property
    def knob(self) -> str:
        """The plugin setting this parameter turns."""
        return self.setting or self.name

    @property
    def scaled_tolerance(self) -> float:
        return DEFAULT_TOLERANCE if self.tolerance is None else self.tolerance

    def scale(self, values: Any) -> Any:
        lo, hi = self.range
        if self.sampling == "log":  # a value <= 0 (a submitted guess) maps far below 0, to be clipped, not NaN
            logs = np.log(np.maximum(np.asarray(values, dtype=np.float64), np.finfo(np.float64).tiny))
            return (logs - math.log(lo)) / (math.log(hi) - math.log(lo))
        return (values - lo) / (hi - lo)

    def unscale(self, scaled: Any) -> Any:
        lo, hi = self.range
        if self.sampling == "log":
            return np.exp(np.asarray(scaled) * (math.log(hi) - math.log(lo)) + math.log(lo))
        return scaled * (hi - lo) + lo

    @property
    def span(self) -> float:
        return float(self.range[1] - self.range[0])

    @property
    def scaled_grid(self) -> tuple[float, ...]:
        return tuple(float(self.scale(v)) for v in self.grid)


def _ranges(value: dict) -> dict:
    for key, span in value.items():
        if not span[1] > span[0]:
            raise invalid(key, f"upper bound must exceed lower bound, got {list(span)}", "write it as [low, high]")
    return value


@dataclass(frozen=True, config=STRICT)
class Stage:
    """One plugin of a chain: applied in the chain's order, and bypassed at random unless ``p_active`` is 1
    (a presence parameter then says whether it was applied)."""

    name: Annotated[Text, AfterValidator(_identifier)]
    plugin: Annotated[Text, Field(min_length=1)]
    fixed: Annotated[dict, AfterValidator(_settings)] = field(default_factory=dict)
    p_active: Annotated[Float, Field(gt=0, le=1)] = 1.0
    # settings drawn uniformly per render that are not targets (detection: the effect's settings vary)
    vary: Annotated[dict[Text, tuple[Float, Float]], AfterValidator(_ranges)] = field(default_factory=dict)
    note: Text = ""


@dataclass(frozen=True, config=STRICT)
class EffectSpec:
    """A pedalboard plugin (by class name) and its settings that never vary, or a chain of them."""

    plugin: Optional[Annotated[Text, Field(min_length=1)]] = None
    fixed: Annotated[dict, AfterValidator(_settings)] = field(default_factory=dict)
    input_gain_db: Float = 0.0  # level change before the effect (drives level-dependent effects)
    note: Text = ""
    chain: tuple[Stage, ...] = field(default=(), metadata=HASHED_UNLESS_DEFAULT)

    @model_validator(mode="after")
    def _one_kind(self) -> EffectSpec:
        if self.plugin is None and not self.chain:
            raise invalid("plugin", "the effect names no plugin (nor a chain with a stage)",
                          "give effect.plugin, or effect.chain as a list of stages with a plugin each")
        if self.plugin is not None and self.chain:
            raise invalid("chain", "an effect is one plugin or a chain, not both",
                          "move the plugin into the chain as a stage")
        if self.chain and self.fixed:
            raise invalid("fixed", "a chain's settings belong to its stages", "move them to the stages' fixed")
        names = [s.name for s in self.chain]
        if len(set(names)) != len(names):
            raise invalid("chain", "two stages share a name", "give each stage its own name")
        return self

    @property
    def label(self) -> str:
        """The plugin, or the chain's plugins in order."""
        return " > ".join(s.plugin for s in self.chain) if self.chain else str(self.plugin)


@dataclass(frozen=True, config=STRICT)
class ReferenceResult:
    """One number a publication reported for this task (shown on the leaderboard, never ranked)."""

    model: Text
    test_mae: Optional[Annotated[Float, Field(ge=0)]] = None
    test_mse: Optional[Annotated[Float, Field(ge=0)]] = None
    n_test: Optional[Count] = None
    where: Text = ""  # table or figure in the publication


@dataclass(frozen=True, config=STRICT)
class Reference:
    """Published results to compare against; commentary, so not part of the task's digest."""

    source: Text = ""
    note: Text = ""
    results: tuple[ReferenceResult, ...] = ()


@dataclass(frozen=True, config=STRICT)
class FeatureSpec:
    """The model input: the paper's min-max normalised dB Mel spectrogram."""

    kind: Literal["mel"] = "mel"
    n_fft: Annotated[Int, Field(ge=2)] = 1024
    hop_length: Count = 512
    n_mels: Count = 128
    to_db: Bool = True
    normalize: Literal["minmax", "none"] = "minmax"

    @model_validator(mode="after")
    def _fits_the_fft(self) -> FeatureSpec:
        if self.hop_length > self.n_fft:
            raise invalid("hop_length", f"{self.hop_length} exceeds n_fft {self.n_fft} (samples would be skipped)",
                          f"use at most {self.n_fft}")
        if self.n_mels > self.n_fft // 2 + 1:
            raise invalid("n_mels", f"{self.n_mels} exceeds the {self.n_fft // 2 + 1} FFT bins of n_fft {self.n_fft}",
                          f"use at most {self.n_fft // 2 + 1} or a larger n_fft")
        return self


@dataclass(frozen=True, config=STRICT)
class DatasetSpec:
    """How much dry audio the default dataset takes: rows = clips x grid points."""

    clips: Annotated[Int, Field(ge=3)]  # one recording per split at least
    clips_per_recording: Count = 2  # synthetic sources: recordings are cheap, so a few clips each
    # real sources: recordings are long and few, so many clips each; a build hashes the value it uses with its
    # clip policy, so it stays out of the digest and every synth fingerprint
    real_clips_per_recording: Count = field(default=16, metadata=NOT_HASHED)
    # sampled parameters: renders per dry clip, each at its own seeded draw (fxbench/sampling.py)
    draws_per_clip: Optional[Annotated[Int, Field(ge=1, le=MAX_GRID_POINTS)]] = \
        field(default=None, metadata=HASHED_UNLESS_DEFAULT)


@dataclass(frozen=True, config=STRICT)
class SplitSpec:
    """Split fractions; recordings (never clips) are assigned to splits."""

    train: Fraction = 0.8
    validation: Fraction = 0.1
    test: Fraction = 0.1
    by: Literal["recording"] = "recording"

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitSpec:
        total = self.train + self.validation + self.test
        if abs(total - 1) > 1e-6:
            raise invalid("", f"train, validation and test sum to {total:g}", "make them sum to 1")
        return self


@dataclass(frozen=True, config=STRICT)
class TaskConfig:
    """One benchmark task, as read from ``tasks/NAME.yaml``."""

    task: Annotated[Text, AfterValidator(_task_name)]
    version: Count
    description: Text
    effect: EffectSpec
    parameters: Annotated[tuple[Parameter, ...], Field(min_length=1)]
    dataset: DatasetSpec
    sample_rate: Count = 44100
    clip_seconds: Annotated[Float, Field(gt=0, le=MAX_CLIP_SECONDS)] = 2.0
    splits: SplitSpec = field(default_factory=SplitSpec)
    features: FeatureSpec = field(default_factory=FeatureSpec)
    metrics: Annotated[tuple[Text, ...], AfterValidator(_metrics)] = DEFAULT_METRICS
    main_metric: Literal["mae", "mse"] = "mae"
    # families the task belongs to, the first one its own (`fxbench tasks`, `--task GROUP`, the overview):
    # presentation, so not part of the digest
    groups: Annotated[tuple[Annotated[Text, AfterValidator(_identifier)], ...], Field(max_length=8)] = \
        field(default=(), metadata=NOT_HASHED)
    # commentary: adding or correcting a published number must not invalidate datasets and results
    reference: Reference = field(default_factory=Reference, metadata=NOT_HASHED)
    # where it was read from; not part of the task
    path: Text = field(default="", compare=False, metadata={**NOT_HASHED, NOT_IN_FILE: True})

    @model_validator(mode="after")
    def _consistent(self) -> TaskConfig:
        seen: set[str] = set()
        for i, p in enumerate(self.parameters):
            if p.name in seen:
                raise invalid(f"parameters[{i}].name", f"duplicate parameter {p.name!r}", "give each a new name")
            seen.add(p.name)
        self._check_sampling()
        self._check_chain()
        if not self.is_sampled:
            points = math.prod(len(p.grid) for p in self.parameters)
            if points > MAX_GRID_POINTS:
                raise invalid("parameters", f"the grids make {points} combinations, more than {MAX_GRID_POINTS}",
                              "use fewer grid values")
        if self.features.n_fft > self.clip_samples:
            raise invalid("features.n_fft", f"{self.features.n_fft} exceeds the clip's {self.clip_samples} samples",
                          "use a smaller n_fft or a longer clip_seconds")
        from fxbench.plugin_check import check_effect

        check_effect(self)
        return self

    def _check_sampling(self) -> None:
        """A task is a grid (every combination rendered) or sampled (draws_per_clip draws), never both."""
        draws = self.dataset.draws_per_clip
        for i, p in enumerate(self.parameters):
            if draws is not None and not p.is_sampled:
                raise invalid(f"parameters[{i}].grid", f"{p.name!r} has a grid, but dataset.draws_per_clip asks "
                              "for sampled renders", "give it sampling: uniform or log, or drop draws_per_clip")
            if draws is None and p.is_sampled:
                raise invalid("dataset", f"parameter {p.name!r} is sampled but draws_per_clip is not set",
                              "add dataset.draws_per_clip (renders per clip)")
        # the default list (kept for the digests of grid tasks that list none) stands for either kind
        if self.is_sampled and "grid_accuracy" in self.metrics and self.metrics != DEFAULT_METRICS:
            raise invalid("metrics", "grid_accuracy needs grid parameters", "use within_tolerance")
        if not self.is_sampled and "within_tolerance" in self.metrics:
            raise invalid("metrics", "within_tolerance needs sampled parameters", "use grid_accuracy")

    def _check_chain(self) -> None:
        """A chain's parameters each name a stage; a stage that may be bypassed has exactly one presence target
        (its knobs are scored only where it was applied, so the rows need to say where that was)."""
        stages = {s.name: s for s in self.effect.chain}
        presence: dict[str, int] = {}
        for i, p in enumerate(self.parameters):
            if not stages:
                if p.stage is not None or p.is_presence:
                    raise invalid(f"parameters[{i}].stage", f"{p.name!r} names a chain stage, but the effect is "
                                  "one plugin", "remove stage (and sampling: presence), or make effect a chain")
                if p.setting is not None:
                    raise invalid(f"parameters[{i}].setting", "only a chain's parameters rename their setting",
                                  "name the parameter after the plugin's setting")
                continue
            if p.stage not in stages:
                raise invalid(f"parameters[{i}].stage", f"{p.name!r} names stage {p.stage!r}, which the chain "
                              f"lacks (stages: {', '.join(stages)})", "name one of the chain's stages")
            if p.is_presence:
                if p.stage in presence:
                    raise invalid(f"parameters[{i}]", f"stage {p.stage!r} has two presence targets", "keep one")
                if stages[p.stage].p_active == 1:
                    raise invalid(f"parameters[{i}]", f"stage {p.stage!r} is never bypassed (p_active 1), so its "
                                  "presence is no target", "give the stage a p_active below 1, or drop the target")
                presence[p.stage] = i
        if not stages:
            return
        if not self.is_sampled:
            raise invalid("dataset.draws_per_clip", "a chain draws its bypasses and knobs per render",
                          "sample its parameters and set draws_per_clip")
        for j, s in enumerate(self.effect.chain):
            if s.p_active < 1 and s.name not in presence:
                raise invalid(f"effect.chain[{j}].p_active", f"stage {s.name!r} may be bypassed but has no "
                              "presence target", f"add a parameter with sampling: presence and stage: {s.name}")

    def presence_index(self) -> dict[str, int]:
        """Stage name -> the column of its presence target."""
        return {p.stage: j for j, p in enumerate(self.parameters) if p.is_presence}

    def scored_on(self) -> list[Optional[int]]:
        """Per parameter, the presence column that decides on which rows it is scored (None: every row): a
        bypassed stage's knobs were drawn but never heard."""
        presence = self.presence_index()
        return [None if p.is_presence else presence.get(p.stage) for p in self.parameters]

    @property
    def is_sampled(self) -> bool:
        """Parameters drawn at random per render (``dataset.draws_per_clip``) rather than on a grid."""
        return self.dataset.draws_per_clip is not None

    @property
    def rows_per_clip(self) -> int:
        """Renders of each dry clip: every grid point, or ``draws_per_clip`` draws."""
        return self.dataset.draws_per_clip if self.is_sampled else len(self.grid_points())

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
        if self.is_sampled:
            raise ValueError(f"task {self.task} samples its parameters; it has no grid")
        names = self.param_names
        return [dict(zip(names, combo)) for combo in itertools.product(*(p.grid for p in self.parameters))]

    def to_dict(self) -> dict:
        """The definition as it determines data and metrics: every field but those marked ``NOT_HASHED``."""
        return _hashed(self)

    def digest(self) -> str:
        """Hash of the definition (not of the file's formatting, comments or reference numbers)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()


def _hashed(value: Any) -> Any:
    """``dataclasses.asdict`` without the ``NOT_HASHED`` fields."""
    if dataclasses.is_dataclass(value):
        return {f.name: _hashed(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.metadata.get("hashed", True)
                and not (f.metadata.get("omit_default") and getattr(value, f.name) == f.default)}
    if isinstance(value, (list, tuple)):
        return type(value)(_hashed(v) for v in value)
    if isinstance(value, dict):
        return {k: _hashed(v) for k, v in value.items()}
    return value


@functools.cache
def _schema() -> TypeAdapter:
    return TypeAdapter(TaskConfig)


def parse_task(text: str, where: str) -> TaskConfig:
    """Parse and validate the YAML text of a task file; ``where`` names it in errors (exit code 2)."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise FxbenchError(f"{where}: not valid YAML ({first}); fix the syntax", exit_code=2) from None
    if not isinstance(data, dict):
        raise FxbenchError(f"{where}: a task file must be a mapping of keys to values; see tasks/bitcrush.yaml",
                           exit_code=2)
    if "path" in data:
        raise FxbenchError(f"{where}: unknown key 'path'; remove it (where the file lies is not part of the task)",
                           exit_code=2)
    try:
        return _schema().validate_python({**data, "path": where})
    except ValidationError as exc:
        raise FxbenchError(one_line(exc, TaskConfig, where), exit_code=2) from None


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
        raise FxbenchError(f"{path}: task: name {task.task!r} must match the file name {path.stem!r}; "
                           f"rename one of them", exit_code=2)
    return task
