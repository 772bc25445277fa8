"""The leaderboard page and the PNG figures, from small hand-made result records."""
from __future__ import annotations

import copy
import itertools
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest

from fxbench.cli import main
from fxbench.errors import FxbenchError
from fxbench.leaderboard import OTHER_NOTE, frame, load_records, render_leaderboard, write_leaderboard
from fxbench.results import validate_record
from fxbench.record_schema import SCHEMA_VERSION

RECORDS = Path(__file__).parent / "data" / "records"
SCHEMA1 = json.loads((RECORDS / "schema1_mean.json").read_text())
FP_A = "a" * 64
FP_B = "b" * 64
PNG = b"\x89PNG\r\n\x1a\n"


def _digest(task: str, version: int) -> str:
    """The installed task's digest when the record claims its version; another one otherwise (a record of
    another definition, which never ranks)."""
    from fxbench.task import available_tasks, load_task

    if task in available_tasks() and load_task(task).version == version:
        return load_task(task).digest()
    return "d" * 64


def _rec(model: str, seed: int, mae: float, *, task: str = "bitcrush", version: int = 1, fp: str = FP_A,
         rows: list[float] | None = None, chance: float = 0.35, epochs: int | None = None,
         no_rows: bool = False) -> dict:
    """A schema-2 record built from the real schema-1 one, with the fields a test cares about; its per-row
    errors all ``mae`` unless given (or none, with ``no_rows``)."""
    r = copy.deepcopy(SCHEMA1)
    if rows is None and not no_rows:
        rows = [round(mae, 6)] * r["n_test"]
    r.update(schema_version=2, task=task, task_version=version, model=model, seed=seed, dataset_fingerprint=fp,
             submission={"kind": "model", "spec": model}, predictions_sha256=None, row_abs_errors=rows,
             task_digest=_digest(task, version))
    if rows is not None:
        r["n_test"] = r["metrics"]["n"] = len(rows)
    r["metrics"].update(mae=mae, mse=mae * mae, chance_mae=chance, per_param_mae={"bit_depth": mae},
                        per_param_mae_units={"bit_depth": mae * 16}, grid_accuracy=0.5)
    if epochs is not None:
        r["config"] = {"epochs": epochs}
    return r


def _write(folder: Path, records: list[dict]) -> Path:
    for r in records:
        name = (f"{r['model']}__seed{r['seed']}__v{r['task_version']}__{r['dataset_fingerprint'][:6]}"
                f"{r.get('condition', '')}.json")
        path = folder / r["task"] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r))
    return folder


def _cli(results: Path, board: Path) -> int:
    return main(["leaderboard", "--results", str(results), "--output", str(board)])


def _rows(text: str, first: str | None = None) -> list[list[str]]:
    """Cells of the markdown table rows (after an optional line that starts with ``first``)."""
    lines = text.splitlines()
    if first is not None:
        lines = lines[next(i for i, line in enumerate(lines) if line.startswith(first)):]
    return [[c.strip() for c in line.split("|")[1:-1]] for line in lines if line.startswith("| ")]


def _ranked(text: str, first: str | None = None) -> dict[str, list[str]]:
    """model -> its cells in the first ranked table (after ``first``)."""
    out: dict[str, list[str]] = {}
    for cells in _rows(text, first):
        if cells[0] == "rank" and out:
            break
        if cells[0].isdigit():
            out.setdefault(cells[1], cells)
    return out


def _head(text: str) -> list[str]:
    return next(cells for cells in _rows(text) if cells[0] == "rank")


def test_schema1_record_still_loads_and_renders(tmp_path):
    results = tmp_path / "results" / "bitcrush"
    results.mkdir(parents=True)
    (results / "schema1_mean.json").write_bytes((RECORDS / "schema1_mean.json").read_bytes())
    board = tmp_path / "LEADERBOARD.md"
    assert _cli(tmp_path / "results", board) == 0
    text = board.read_text()
    # made with an older definition of bitcrush (another task digest): shown, but apart and unranked
    assert "Nothing ranked: no record here was made with the installed definition of task bitcrush" in text
    assert f"task version 1, not the installed task definition (task digest `{SCHEMA1['task_digest'][:12]}`)" in text
    assert "## Overview" not in text
    row = _ranked(text)["mean"]
    head = _head(text)
    cell = dict(zip(head, row))
    assert head[:2] == ["rank", "model"] and "MAE bit_depth (bits)" in head
    assert cell["test MAE"] == "0.2647" and cell["seeds"] == "1" and cell["95% CI"] == "n/a"
    assert cell["skill"] == f"{1 - 0.2647058823529412 / 0.35294117647058826:.3f}" == "0.250"
    assert cell["MAE bit_depth (bits)"] == "4.235" and cell["epochs"] == "-"
    assert cell["fxbench version"] == "0.1.0" and cell["task version"] == "1"
    assert "0.3333" in text and "0.3529" in text


def test_two_seeds_give_mean_std_seeds_and_bootstrap_ci(tmp_path):
    rng = np.random.default_rng(5)
    rows = [np.round(rng.uniform(0, 0.2, 40), 6) for _ in range(2)]
    recs = [_rec("cnn", s, float(rows[s].mean()), rows=rows[s].tolist(), epochs=30) for s in (0, 1)]
    recs.append(_rec("mean", 0, 0.26, rows=[0.26] * 40))
    text = render_leaderboard(recs, "r")
    cell = dict(zip(_head(text), _ranked(text)["cnn"]))
    maes = [r["metrics"]["mae"] for r in recs[:2]]
    assert cell["test MAE"] == f"{np.mean(maes):.4f} ± {np.std(maes, ddof=1):.4f}"
    assert cell["seeds"] == "2" and cell["epochs"] == "30"
    # the documented recipe: rows averaged over seeds, 2,000 resamples from default_rng(0), percentiles
    avg = np.mean(rows, axis=0)
    idx = np.random.default_rng(0).integers(0, len(avg), size=(2000, len(avg)))
    lo, hi = np.percentile(avg[idx].mean(axis=1), [2.5, 97.5])
    assert cell["95% CI"] == f"[{lo:.4f}, {hi:.4f}]" and lo < avg.mean() < hi
    assert dict(zip(_head(text), _ranked(text)["mean"]))["95% CI"] == "[0.2600, 0.2600]"
    alone = render_leaderboard(recs[:2], "r")  # an interval depends only on the model's own records
    assert dict(zip(_head(alone), _ranked(alone)["cnn"]))["95% CI"] == cell["95% CI"]


def test_other_task_versions_and_datasets_are_listed_apart(tmp_path):
    """On a task this install does not define (so no digest to hold them to), the newest version ranks."""
    recs = [_rec("cnn", 0, 0.10, version=2, task="flanger"), _rec("cnn", 1, 0.20, version=2, task="flanger"),
            _rec("cnn", 0, 0.90, version=1, task="flanger"), _rec("old", 0, 0.80, version=1, task="flanger"),
            _rec("cnn", 2, 0.50, version=2, fp=FP_B, task="flanger")]  # same version, less used dataset
    board = tmp_path / "LEADERBOARD.md"
    assert _cli(_write(tmp_path / "results", recs), board) == 0
    text = board.read_text()
    assert "## flanger (task version 2)" in text
    current = _ranked(text)
    assert set(current) == {"cnn"} and current["cnn"][2] == "0.1500 ± 0.0707" and current["cnn"][3] == "2"
    top, other = text.split("### Other task versions and datasets\n")
    assert OTHER_NOTE in other and "0.9000" not in top and "0.5000" not in top and "old" not in top
    assert f"#### task version 2, dataset `{FP_B[:12]}`" in other and "#### task version 1, dataset" in other
    assert _ranked(text, "##### task version 1")["old"][2] == "0.8000"
    assert _ranked(text, f"##### task version 2, dataset `{FP_B[:12]}`")["cnn"][2] == "0.5000"


def _groups(records: list[dict]) -> list[tuple[int, str]]:
    """(task version, fingerprint) of each group, the current group first."""
    df = frame(records).sort_values("group").drop_duplicates("group")
    return list(zip(df["task_version"], df["dataset_fingerprint"]))


def test_current_group_is_latest_version_then_most_records_then_smallest_fingerprint():
    tie = [_rec("m", 0, 0.1, fp=FP_B, task="flanger"), _rec("m", 0, 0.2, fp=FP_A, task="flanger")]
    assert _groups(tie)[0] == (1, FP_A)
    more = tie + [_rec("m", 1, 0.3, fp=FP_B, task="flanger")]
    assert _groups(more)[0] == (1, FP_B)
    newer = more + [_rec("m", 0, 0.4, version=3, fp="c" * 64, task="flanger")]
    assert _groups(newer) == [(3, "c" * 64), (1, FP_B), (1, FP_A)]


def test_a_forged_task_version_or_digest_never_ranks():
    """bitcrush is installed: a record claiming version 999, or version 1 with another digest, is listed
    apart however good its score, and the honest records keep their ranks."""
    honest = [_rec("cnn", s, 0.1) for s in range(2)]
    forged = _rec("forged", 0, 0.0001, version=999)
    tampered = _rec("tampered", 0, 0.0002)
    tampered["task_digest"] = "e" * 64
    df = frame(honest + [forged, tampered])
    assert set(df.loc[df["group"] == 0, "model"]) == {"cnn"}
    assert not df.loc[df["model"].isin(["forged", "tampered"]), "rankable"].any()
    text = render_leaderboard(honest + [forged, tampered], "r")
    assert set(_ranked(text)) == {"cnn"} and _ranked(text)["cnn"][0] == "1"
    other = text.split("#### Other task versions and datasets")[1]
    assert "task version 999, not the installed task definition" in other and "forged" in other
    assert f"task version 1, not the installed task definition (task digest `{'e' * 12}`)" in other
    overview = {cells[0]: cells for cells in _rows(text, "## Overview")[1:]}
    assert "forged" not in overview and "tampered" not in overview
    alone = render_leaderboard([forged], "r")  # nothing honest: nothing ranked, nothing in the overview
    assert "Nothing ranked" in alone and "## Overview" not in alone


def test_a_forged_version_beside_the_public_digest_never_ranks():
    """The installed digest is public: a record copying it but claiming version 999 must not become the
    current group and push the honest records out."""
    from fxbench.task import load_task

    honest = [_rec("cnn", s, 0.1) for s in range(2)]
    forged = _rec("forged", 0, 0.0001, version=999)
    forged["task_digest"] = load_task("bitcrush").digest()
    df = frame(honest + [forged])
    assert set(df.loc[df["group"] == 0, "model"]) == {"cnn"} and not df.loc[df["model"] == "forged", "rankable"].any()
    text = render_leaderboard(honest + [forged], "r")
    assert set(_ranked(text)) == {"cnn"} and _ranked(text)["cnn"][0] == "1"
    assert "task version 999, not the installed task definition" in text.split("#### Other task versions")[1]


def test_a_record_without_row_errors_never_ranks():
    """Its MAE is checked against nothing: a record claiming 0.0001 with no rows is listed apart, with why."""
    honest = [_rec("cnn", s, 0.1) for s in range(2)]
    unchecked = _rec("unchecked", 0, 0.0001, no_rows=True)
    df = frame(honest + [unchecked])
    assert set(df.loc[df["group"] == 0, "model"]) == {"cnn"}
    assert not df.loc[df["model"] == "unchecked", "rankable"].any()
    text = render_leaderboard(honest + [unchecked], "r")
    assert set(_ranked(text)) == {"cnn"}
    other = text.split("#### Other task versions and datasets")[1]
    assert "unchecked" in other and "no per-row errors to check its MAE against" in other
    alone = render_leaderboard([unchecked], "r")
    assert "Nothing ranked" in alone and "no per-row errors to check its MAE against" in alone


def test_the_default_dataset_ranks_before_a_more_used_one():
    """The installed task's default synth build is the ranked group even when older data has more records."""
    from fxbench.leaderboard.standings import canonical

    default_fp = canonical("bitcrush")["synth_to_synth"][0]
    records = [_rec("m", s, 0.1, fp=FP_A) for s in range(3)] + [_rec("m", 0, 0.2, fp=default_fp)]
    assert _groups(records)[0] == (1, default_fp)
    assert _groups([_rec("m", s, 0.1, fp=FP_A) for s in range(3)] + [_rec("m", 0, 0.2, fp=FP_B)])[0] == (1, FP_A)


def test_same_records_same_bytes_in_any_order(tmp_path):
    recs = [_rec(m, s, 0.1 + 0.05 * i + 0.01 * s, rows=[round(0.1 + 0.05 * i + 0.01 * s, 6)] * 10, task=t)
            for i, m in enumerate(("cnn", "mean", "random")) for s in range(3) for t in ("bitcrush", "reverb")]
    board = tmp_path / "LEADERBOARD.md"
    assert _cli(_write(tmp_path / "results", recs), board) == 0
    before = board.read_bytes()
    assert _cli(tmp_path / "results", board) == 0 and board.read_bytes() == before
    shuffled = recs[:]
    random.Random(3).shuffle(shuffled)
    assert render_leaderboard(shuffled, (tmp_path / "results").as_posix()).encode() == before


def test_overview_has_one_row_per_model_and_leaves_missing_cells_empty():
    recs = [_rec("cnn", 0, 0.1), _rec("cnn", 1, 0.3), _rec("mean", 0, 0.25), _rec("mean", 0, 0.3, task="limiter"),
            _rec("cnn", 0, 0.2, task="reverb"), _rec("cnn", 0, 0.7, task="reverb", version=0)]
    text = render_leaderboard(recs, "r")
    paper, time = _first_table(text, "### paper"), _first_table(text, "### time")  # one table per family
    assert paper["model"] == ["bitcrush", "limiter"]
    assert paper["cnn"] == ["0.2000", ""] and paper["mean"] == ["0.2500", "0.3000"]
    assert time["model"] == ["reverb"] and time["cnn"] == ["0.2000"] and "mean" not in time
    assert text.index("### paper") < text.index("### time") < text.index("## bitcrush")


def test_skill_score_by_hand():
    text = render_leaderboard([_rec("cnn", 0, 0.1, chance=0.4)], "r")
    rows = {cells[1]: dict(zip(_head(text), cells)) for cells in _rows(text, "## bitcrush")[1:]}
    assert rows["cnn"]["skill"] == "0.750"  # 1 - 0.1 / 0.4
    assert rows["*uniform guess over the grid, expected*"]["skill"] == "0.000"
    assert rows["*uniform random, expected (paper: 1/3)*"]["skill"] == f"{1 - (1 / 3) / 0.4:.3f}"


DAMAGES = [  # (what is done to a good record, a field the one-line reason must name)
    (lambda r: r["metrics"].update(mae="0.1"), "metrics.mae"),
    (lambda r: r.update(task_version="2"), "task_version"),
    (lambda r: r.update(row_abs_errors=[0.1, None]), "row_abs_errors[1]"),
    (lambda r: r.pop("dataset_fingerprint"), "dataset_fingerprint"),
    (lambda r: r.update(leaderboard_rank=1), "leaderboard_rank"),
    (lambda r: r["metrics"].update(mse=float("nan")), "metrics.mse"),
    (lambda r: r["config"].update(lr=float("inf")), "config.lr"),
    (lambda r: r["metrics"].update(mae=-0.1), "metrics.mae"),
    (lambda r: r["metrics"].update(mae=1.5), "metrics.mae"),
    (lambda r: r.update(row_abs_errors=[0.3, 0.3]), "metrics.mae"),  # rows say 0.3, the record says 0.2
    (lambda r: r.update(row_abs_errors=[0.2] * 3), "n_test"),
    (lambda r: r.update(seed=True), "seed"),
    (lambda r: r["environment"].update(torch_threads="4"), "environment.torch_threads"),
]


@pytest.mark.parametrize("damage, field", DAMAGES)
def test_rejected_record_is_listed_apart_and_never_ranked(tmp_path, capsys, damage, field):
    results = _write(tmp_path / "results", [_rec("cnn", 0, 0.1, rows=[0.1, 0.1])])
    bad = _rec("cnn", 1, 0.2, rows=[0.2, 0.2])
    damage(bad)
    (results / "bitcrush" / "zz_broken.json").write_text(json.dumps(bad))
    board = tmp_path / "LEADERBOARD.md"
    assert _cli(results, board) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fxbench: warning: rejected ") and "zz_broken.json" in err[0]
    assert repr(field) in err[0] or f"'{field}'" in err[0], err[0]
    text = board.read_text()
    ranked = _ranked(text)
    assert ranked["cnn"][3] == "1" and ranked["cnn"][2] == "0.1000"  # one seed: the good record alone
    rejected = text.split("## Rejected records\n")[1]
    assert rejected.count("\n- ") == 1 and "- bitcrush/zz_broken.json: " in rejected
    assert field.split("[")[0] in rejected
    with pytest.raises(FxbenchError, match=re.escape(field.split("[")[0])):
        render_leaderboard([bad], "r")  # handed over as a dict, it is an error
    with pytest.raises(FxbenchError, match="zz_broken.json"):
        load_records(results)  # for analysis a rejected file is an error, never silently left out


def test_a_file_that_is_not_json_is_listed_apart(tmp_path, capsys):
    results = _write(tmp_path / "results", [_rec("cnn", 0, 0.1)])
    (results / "bitcrush" / "broken.json").write_text("{not json")
    (results / "bitcrush" / "twice.json").write_text('{"model": "a", "model": "b"}')
    board = tmp_path / "LEADERBOARD.md"
    assert _cli(results, board) == 0
    text = board.read_text()
    assert "- bitcrush/broken.json: not valid JSON" in text and "key 'model' appears twice" in text
    assert set(_ranked(text)) == {"cnn"} and len(capsys.readouterr().err.strip().splitlines()) == 2


def test_thousand_records_render_completely():
    """Speed is measured by the benchmarks, not asserted here (shared machines are noisy)."""
    rng = np.random.default_rng(0)
    rows = [np.round(rng.uniform(0, 0.5, 100), 6).tolist() for _ in range(5 * 20 * 10)]
    recs = [_rec(f"model{m:02d}", s, float(np.mean(rows[k])), task=f"task{t}", rows=rows[k])
            for k, (t, m, s) in enumerate(itertools.product(range(5), range(20), range(10)))]
    recs = [validate_record(r, "test") for r in recs]
    text = render_leaderboard(recs, "r")
    assert text.count("\n## task") == 5 and len(_ranked(text, "## task3")) == 20


def _cells(text: str, first: str) -> dict[str, dict[str, str]]:
    """Row label -> {column: cell} for every row of the first table after ``first`` (ranked or not)."""
    lines = text.splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith(first)):]
    start = next(i for i, line in enumerate(lines) if line.startswith("| rank"))
    table = [[c.strip() for c in line.split("|")[1:-1]]
             for line in itertools.takewhile(lambda line: line.startswith("|"), lines[start:])]
    return {cells[1]: dict(zip(table[0], cells)) for cells in table[2:]}


def _body(text: str) -> str:
    """The page below the header (which names every column and note)."""
    return text[text.index("## Overview"):]


def _limiter(model: str, seed: int, mae: float, *, chances: bool = True, **kw) -> dict:
    """A two-parameter record: threshold learnt, release at chance."""
    r = _rec(model, seed, mae, task="limiter", **kw)
    r["param_units"] = {"threshold_db": "dB", "release_ms": "ms"}
    r["metrics"].update(per_param_mae={"threshold_db": mae / 4 + seed / 100, "release_ms": 0.4},
                        per_param_mae_units={"threshold_db": 9 * mae / 4, "release_ms": 360.0},
                        per_param_grid_accuracy={"threshold_db": 0.9, "release_ms": 0.33})
    if chances:
        r["metrics"]["per_param_chance_mae"] = {"threshold_db": 0.42 + seed / 100, "release_ms": 0.40}
    return r


def test_reference_rows_are_shown_unranked_with_their_source():
    from fxbench.task import load_task

    ref = load_task("bitcrush").reference
    assert ref.results  # the test relies on the packaged task's published numbers
    recs = [_rec("cnn", 0, 0.05, epochs=30), _rec("mean", 0, 0.26)]
    text = render_leaderboard(recs, "r")
    assert set(_ranked(text)) == {"cnn", "mean"}  # published numbers never take a rank
    rows = _cells(text, "## bitcrush")
    for res in ref.results:
        row = rows[f"*paper, GuitarSet ({res.where}): {res.model}*"]
        assert row["rank"] == "–" and row["test MAE"] == f"{res.test_mae:g}"
        assert row["test MSE"] == f"{res.test_mse:g}" and row["test rows"] == str(res.n_test)
        assert row["seeds"] == row["95% CI"] == row["skill"] == ""
    assert list(rows)[:2] == ["cnn", "mean"]  # below the ranked rows
    assert f"Reference rows: {ref.source}. " in text and text.count("Reference rows:") == 1
    overview = {cells[0]: cells for cells in _rows(text, "## Overview")[1:]}
    assert list(overview)[:2] == ["cnn", "mean"]
    assert overview["*paper (GuitarSet): cnn*"] == ["*paper (GuitarSet): cnn*", f"{ref.results[0].test_mae:g}"]


def test_reference_rows_per_task_and_unknown_task_skipped_silently():
    recs = [_rec("cnn", 0, 0.2, task="limiter"), _rec("cnn", 0, 0.1), _rec("cnn", 0, 0.3, task="nosuchtask")]
    text = render_leaderboard(recs, "r")
    overview = _first_table(text, "### paper")
    assert overview["model"] == ["bitcrush", "limiter"]
    assert overview["*paper (GuitarSet): encdec*"][1:] == [""]  # the paper gave no encdec limiter MAE
    other = _first_table(text, "### other")
    assert other["model"] == ["nosuchtask"] and other["cnn"] == ["0.3000"] and len(other) == 3  # with the rule
    assert set(_cells(text, "## nosuchtask")) == {"cnn", "*uniform random, expected (paper: 1/3)*",
                                                 "*uniform guess over the grid, expected*"}
    assert text.count("Reference rows:") == 2


def test_broken_task_file_is_an_error_not_a_skipped_reference(tmp_path, monkeypatch):
    from fxbench.errors import FxbenchError

    (tmp_path / "brokentask.yaml").write_text("task: brokentask\nversion: [\n")
    monkeypatch.setenv("FXBENCH_TASK_PATH", str(tmp_path))
    with pytest.raises(FxbenchError, match="brokentask.yaml"):
        render_leaderboard([_rec("cnn", 0, 0.1, task="brokentask")], "r")


def test_two_parameter_task_shows_scaled_mae_per_parameter_and_chance_per_parameter():
    recs = [_limiter("cnn", 0, 0.2), _limiter("cnn", 1, 0.2), _limiter("old", 0, 0.3, chances=False)]
    text = render_leaderboard(recs, "r")
    rows = _cells(text, "## limiter")
    head = list(rows["cnn"])
    assert head[head.index("test MSE") + 1:head.index("grid acc.")] == [
        "MAE threshold_db", "MAE release_ms", "MAE threshold_db (dB)", "MAE release_ms (ms)"]
    assert rows["cnn"]["MAE threshold_db"] == f"{0.055:.4f} ± {np.std([0.05, 0.06], ddof=1):.4f}"
    assert rows["cnn"]["MAE release_ms"] == "0.4000 ± 0.0000" and rows["old"]["MAE release_ms"] == "0.4000"
    assert rows["cnn"]["MAE release_ms (ms)"] == "360.000 ± 0.000"
    # chance per parameter: the mean over the records that carry it (the older record has none)
    assert "chance (uniform over the grid) per parameter: threshold_db 0.4250, release_ms 0.4000." in text
    chance = rows["*uniform guess over the grid, expected*"]
    assert chance["MAE threshold_db"] == "0.4250" and chance["MAE release_ms (ms)"] == ""
    assert _cells(text, "## limiter")["*paper, GuitarSet (Table 1): cnn*"]["MAE threshold_db"] == ""
    old_only = render_leaderboard([_limiter("old", 0, 0.3, chances=False)], "r")
    assert "MAE release_ms" in _head(old_only) and "per parameter:" not in _body(old_only)


def test_single_parameter_task_keeps_its_table():
    text = render_leaderboard([_rec("cnn", 0, 0.1)], "r")
    head = _head(text)
    assert [h for h in head if h.startswith("MAE")] == ["MAE bit_depth (bits)"]
    body = _body(text)
    assert "per parameter:" not in body and "recon L1" not in body and "(short)" not in body


def test_recon_column_only_when_a_record_has_reconstruction_metrics():
    recs = [_rec("cnn", 0, 0.1), _rec("unet", 0, 0.3), _rec("unet", 1, 0.32)]
    assert "recon L1" not in _body(render_leaderboard(recs, "r"))
    for i, r in enumerate(recs[1:]):
        r["metrics"]["reconstruction"] = {"l1": 0.05 + i / 100, "l2": 0.01, "identity_l1": 0.08 + i / 50,
                                          "identity_l2": 0.02, "n": 102}
    text = render_leaderboard(recs, "r")
    rows = _cells(text, "## bitcrush")
    assert rows["unet"]["recon L1"] == f"0.0550 ± {np.std([0.05, 0.06], ddof=1):.4f}"
    assert rows["cnn"]["recon L1"] == "-"
    assert rows["*uniform random, expected (paper: 1/3)*"]["recon L1"] == ""
    assert ("recon L1: mean absolute error of the model's reconstruction of the dry spectrogram (min-max scaled) "
            "on the test split; returning the wet input unchanged scores 0.0900.") in text


def test_short_training_is_marked_with_its_note():
    short = [_rec("cnn", s, 0.1, epochs=5) for s in (0, 1)]
    short[0]["config"]["epochs_note"] = "GPU budget"
    recs = short + [_rec("full", 0, 0.2, epochs=30), _rec("mixed", 0, 0.3, epochs=30),
                    _rec("mixed", 1, 0.3, epochs=10)]
    text = render_leaderboard(recs, "r")
    rows = _cells(text, "## bitcrush")
    assert rows["cnn"]["epochs"] == "5 (short)" and rows["full"]["epochs"] == "30"
    assert rows["mixed"]["epochs"] == "30, 10 (short)"
    assert "cnn: trained 5 epochs, not the paper's 30: GPU budget; not the paper's protocol." in text
    assert "mixed: trained 10 epochs (1 of 2 records), not the paper's 30; not the paper's protocol." in text
    assert "full: trained" not in text
    overview = {cells[0]: cells[1] for cells in _rows(text, "## Overview")[1:]}
    assert overview["cnn"] == "0.1000 (short)" and overview["full"] == "0.2000"


def test_new_columns_and_notes_are_deterministic():
    recs = [_limiter("cnn", s, 0.2 + s / 50, epochs=5, rows=[0.2 + s / 50] * 8) for s in range(3)]
    recs += [_limiter("unet", s, 0.3, epochs=30) for s in range(2)] + [_rec("cnn", 0, 0.1)]
    for r in recs[3:5]:
        r["metrics"]["reconstruction"] = {"l1": 0.05, "l2": 0.01, "identity_l1": 0.08, "identity_l2": 0.02, "n": 8}
        r["config"]["epochs_note"] = "x"
    text = render_leaderboard(recs, "r")
    for k in range(5):
        shuffled = recs[:]
        random.Random(k).shuffle(shuffled)
        assert render_leaderboard(shuffled, "r") == text


# ---------------------------------------------------------------- figures


def _pngs_only(folder: Path, names: set[str]) -> None:
    assert {p.name for p in folder.iterdir()} == names
    for name in names:
        assert (folder / name).read_bytes().startswith(PNG)


def test_confusion_matrix_png_one_panel_per_parameter(tmp_path):
    from fxbench.plots import confusion_matrix_png
    from fxbench.task import parse_task

    task = parse_task("task: two\nversion: 1\ndescription: x\neffect: {plugin: Delay}\ndataset: {clips: 3}\n"
                      "parameters:\n  - {name: delay_seconds, unit: s, grid: [0.04, 0.08, 0.16], range: [0, 0.16]}\n"
                      "  - {name: mix, unit: '', grid: [0, 0.5, 1], range: [0, 1]}\n", "two.yaml")
    y_true = np.array([[0.25, 0.0], [0.5, 0.5], [1.0, 1.0], [1.0, 0.5]])
    y_pred = y_true + np.array([[0.05, 0.1], [0.3, -0.2], [0.0, 0.0], [-0.2, 0.4]])
    assert confusion_matrix_png(task, y_true, y_pred, tmp_path / "cm.png") == tmp_path / "cm.png"
    _pngs_only(tmp_path, {"cm.png"})


def test_loss_curve_png_and_empty_history(tmp_path):
    from fxbench.plots import loss_curve_png

    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e + 0.01 * e} for e in range(1, 6)]
    assert loss_curve_png(history, tmp_path / "loss.png") == tmp_path / "loss.png"
    assert loss_curve_png([], tmp_path / "none.png") is None
    _pngs_only(tmp_path, {"loss.png"})


def test_summary_chart_and_write_leaderboard_with_chart(tmp_path):
    recs = [_rec("cnn", 0, 0.1), _rec("cnn", 1, 0.12), _rec("mean", 0, 0.26), _rec("cnn", 0, 0.2, task="reverb"),
            _rec("cnn", 0, 0.9, version=0)]
    out = tmp_path / "out"
    path, n, rejected = write_leaderboard(_write(tmp_path / "results", recs), out / "LEADERBOARD.md",
                                          chart=out / "summary.png")
    assert n == 5 and rejected == [] and path.read_text().startswith("# fxbench leaderboard")
    assert {p.name for p in out.iterdir()} == {"LEADERBOARD.md", "summary.png"}
    assert (out / "summary.png").read_bytes().startswith(PNG)


def test_png_write_failure_leaves_no_temp_file(tmp_path):
    from fxbench.plots import loss_curve_png, summary_chart_png

    (tmp_path / "taken.png").mkdir()  # the target is a folder: the final rename fails
    with pytest.raises(OSError):
        summary_chart_png([_rec("cnn", 0, 0.1)], tmp_path / "taken.png")
    with pytest.raises(OSError):
        loss_curve_png([{"epoch": 1, "train_loss": 1.0, "val_loss": 1.0}], tmp_path / "taken.png")
    assert [p.name for p in tmp_path.iterdir()] == ["taken.png"] and not any((tmp_path / "taken.png").iterdir())


def test_notes_file_becomes_the_notes_section(tmp_path):
    results = tmp_path / "board" / "results"
    _write(results, [_rec("cnn", 0, 0.05)])
    out = tmp_path / "board" / "LEADERBOARD.md"
    write_leaderboard(results, out)
    assert "## Notes" not in out.read_text()
    (tmp_path / "board" / "notes.md").write_text("Delay: the CNN confuses 0.21 and 0.25 s.\n")
    write_leaderboard(results, out)
    assert out.read_text().rstrip().endswith("## Notes\n\nDelay: the CNN confuses 0.21 and 0.25 s.")


# ---------------------------------------------------------------- evaluation conditions

REAL = "folder:/x"
FP_E = "e" * 64  # the real recordings a synth-trained model is scored on
EVAL = {"synth_to_synth": ("synth", None, None), "real_to_real": (REAL, None, None),
        "synth_to_real": ("synth", "guitarset-excerpts", FP_E), "real_to_synth": (REAL, "synth", FP_A)}
HEADINGS = ["### bitcrush · synth → synth (train and test on the synthetic source)",
            f"### bitcrush · real → real (train and test on real recordings: {REAL})",
            "### bitcrush · synth → real (trained on synth, scored on real recordings, guitarset-excerpts: "
            "the transfer score)",
            f"### bitcrush · real → synth (trained on real recordings, {REAL}; scored on the synthetic source, "
            "synth)"]


def _rec3(model: str, seed: int, mae: float, condition: str, **kw) -> dict:
    """A schema-3 record scored under ``condition`` (real training data has its own fingerprint)."""
    source, eval_source, eval_fp = EVAL[condition]
    kw.setdefault("fp", FP_A if source == "synth" else FP_B)
    r = _rec(model, seed, mae, **kw)
    r.update(schema_version=3, source=source, eval_source=eval_source, eval_dataset_fingerprint=eval_fp,
             eval_split="test" if eval_fp is None else "all", condition=condition)
    return r


def _four(rows: bool = True) -> list[dict]:
    recs = []
    for i, condition in enumerate(EVAL):
        for s in range(2):
            cnn, mean = 0.1 * (i + 1) + 0.01 * s, 0.3 + 0.01 * i
            recs += [_rec3("cnn", s, cnn, condition, rows=[round(cnn, 6)] * 10 if rows else None),
                     _rec3("mean", s, mean, condition, rows=[round(mean, 6)] * 10 if rows else None)]
    return recs


def test_four_conditions_render_four_tables_in_order_with_their_headings():
    text = render_leaderboard(_four(), "r")
    at = [text.index(h + "\n") for h in HEADINGS]
    assert at == sorted(at) and text.count("### bitcrush · ") == 4
    for heading, mae in zip(HEADINGS, ("0.1050", "0.2050", "0.3050", "0.4050")):
        cells = _cells(text, heading)
        assert cells["cnn"]["test MAE"] == f"{mae} ± 0.0071" and cells["cnn"]["seeds"] == "2"
        assert cells["cnn"]["rank"] == ("1" if mae < "0.4" else "2")
        paper = any(label.startswith("*paper, GuitarSet") for label in cells)
        assert paper == (heading in HEADINGS[:2])  # the paper's numbers: one source for training and test
    assert text.count("Reference rows:") == 2
    assert f"scored on `{FP_E[:12]}` (eval source: guitarset-excerpts), split: all" in text


def test_schema2_record_is_upgraded_to_its_condition_by_source():
    synth = validate_record(_rec("cnn", 0, 0.1), "synth")
    real = _rec("cnn", 0, 0.1)
    real["source"] = REAL
    real = validate_record(real, "real")
    assert synth["schema_version"] == real["schema_version"] == SCHEMA_VERSION and synth["input"] == "wet"
    assert synth["condition"] == "synth_to_synth" and real["condition"] == "real_to_real"
    for r in (synth, real):
        assert r["eval_source"] is None and r["eval_dataset_fingerprint"] is None and r["eval_split"] == "test"
    assert validate_record(_rec3("cnn", 0, 0.1, "synth_to_real"), "schema 3")["condition"] == "synth_to_real"
    assert frame([real])["condition"].tolist() == ["real_to_real"]


def _first_table(text: str, first: str) -> dict[str, list[str]]:
    """First cell -> the other cells, for the rows of the first table after the line ``first``."""
    lines = text.splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith(first)):]
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = [[c.strip() for c in line.split("|")[1:-1]]
            for line in itertools.takewhile(lambda line: line.startswith("|"), lines[start:])]
    return {cells[0]: cells[1:] for cells in rows}


def test_transfer_cell_shows_synth_to_real_mae_and_ratio_to_real_to_real():
    recs = [_rec3("cnn", 0, 0.1, "synth_to_synth"), _rec3("cnn", 0, 0.066, "real_to_real"),
            _rec3("cnn", 0, 0.172, "synth_to_real"), _rec3("mean", 0, 0.3, "synth_to_real"),
            _rec3("mean", 0, 0.2, "synth_to_synth", task="reverb")]
    text = render_leaderboard(recs, "r")
    transfer = _first_table(text, "## Transfer")
    assert transfer["model"] == ["bitcrush"]  # only tasks with a synth → real record
    assert transfer["cnn"] == ["0.1720 (2.6×)"]
    assert transfer["mean"] == ["0.3000"]  # no real → real record: no ratio, nothing imputed
    overview = _first_table(text, "### paper")
    assert overview["model"] == ["bitcrush"] and overview["cnn"] == ["0.1000"]
    time = _first_table(text, "### time")
    assert time["model"] == ["reverb"] and time["mean"] == ["0.2000"] and "cnn" not in time
    assert "No synth → real records yet" in render_leaderboard(recs[:2], "r")


def test_csv_writes_one_row_per_task_condition_group_and_model(tmp_path):
    import pandas as pd

    recs = _four() + [_rec3("cnn", 0, 0.9, "synth_to_synth", version=0)]  # an older group apart
    results = _write(tmp_path / "results", recs)
    board, csv = tmp_path / "LEADERBOARD.md", tmp_path / "standings.csv"
    assert main(["leaderboard", "--results", str(results), "--output", str(board), "--csv", str(csv)]) == 0
    table = pd.read_csv(csv)
    assert len(table) == 4 * 2 + 1 and sorted(p.name for p in tmp_path.iterdir()) == [
        "LEADERBOARD.md", "results", "standings.csv"]
    assert table["condition"].drop_duplicates().tolist() == list(EVAL)  # the page's order
    cnn = table[(table["model"] == "cnn") & (table["group"] == 0)].set_index("condition")
    assert cnn.loc["synth_to_real", "mae_mean"] == pytest.approx(0.305)
    assert cnn.loc["synth_to_real", "mae_std"] == pytest.approx(np.std([0.3, 0.31], ddof=1))
    assert cnn.loc["synth_to_real", "n_seeds"] == 2 and cnn.loc["synth_to_real", "rank"] == 1
    assert cnn.loc["synth_to_real", "eval_dataset_fingerprint"] == FP_E
    # every row of a seed has the same error, so the interval is a point
    assert cnn.loc["synth_to_real", "ci_low"] == pytest.approx(0.305) == cnn.loc["synth_to_real", "ci_high"]
    assert cnn.loc["synth_to_synth", "skill"] == pytest.approx(1 - 0.105 / 0.35)
    old = table[table["group"] == 1]
    assert old[["model", "task_version", "mae_mean"]].values.tolist() == [["cnn", 0, 0.9]]


def test_load_records_returns_one_row_per_record_with_flat_columns(tmp_path):
    from fxbench.leaderboard import load_records

    results = _write(tmp_path / "results", _four(rows=False) + [_limiter("cnn", 0, 0.2)])
    df = load_records(results)
    assert len(df) == 17
    for col in ("task", "task_version", "task_digest", "model", "seed", "condition", "source", "eval_source",
                "eval_split", "dataset_fingerprint", "eval_dataset_fingerprint", "mae", "mse", "grid_accuracy",
                "skill", "epochs", "short", "n_test", "path", "mae.bit_depth", "mae_units.threshold_db",
                "chance_mae.release_ms"):
        assert col in df.columns, col
    real = df[df["condition"] == "synth_to_real"]
    assert set(real["eval_source"]) == {"guitarset-excerpts"} and set(real["eval_split"]) == {"all"}
    assert df["path"].map(lambda p: Path(p).is_file()).all() and df["seed"].map(type).eq(int).all()
    assert df.loc[df["task"] == "limiter", "mae_units.threshold_db"].tolist() == [0.45]


def _split(line: str) -> list[str]:
    """A markdown table row's cells, as GitHub splits them: a backslash escapes the next character (so
    ``\\|`` is an escaped pipe, but ``\\\\|`` an escaped backslash and then a column break)."""
    cells, cell, i = [], "", 0
    while i < len(line):
        if line[i] == "\\":
            cell, i = cell + line[i:i + 2], i + 2
            continue
        if line[i] == "|":
            cells.append(cell)
            cell = ""
        else:
            cell += line[i]
        i += 1
    return [*cells, cell][1:-1]


def _tables_keep_their_shape(text: str) -> None:
    lines = text.splitlines()
    for start in (i for i, line in enumerate(lines) if line.startswith("| ") and not lines[i - 1].startswith("|")):
        table = list(itertools.takewhile(lambda line: line.startswith("|"), lines[start:]))
        assert len({len(_split(line)) for line in table}) == 1, table


def test_text_from_records_is_escaped_and_keeps_the_table_shape():
    evil = "a|b <script>x</script>\nrow"
    recs = [_rec(evil, 0, 0.1, epochs=5), _rec("cnn", 0, 0.2)]
    recs[0]["config"]["epochs_note"] = "budget | <b>\nsmall"
    text = render_leaderboard(recs, "r")
    assert "<script>" not in text and "<b>" not in text and "a|b" not in text
    assert r"a\|b &lt;script&gt;x&lt;/script&gt; row" in text
    assert r"not the paper's 30: budget \| &lt;b&gt; small; not the paper's protocol." in text
    _tables_keep_their_shape(text)


EVIL = ["back\\|slash", "[click](https://evil.example)", "`code|span`", "&lt;img src=x&gt;", "tab\there\rcr",
        "<img src=x onerror=alert(1)>"]


@pytest.mark.parametrize("url", ["https://evil.example/x", "HTTP://evil.example", "www.evil.example",
                                 "see ftp://evil.example"])
def test_a_bare_url_in_a_record_is_not_a_link(url):
    """GitHub autolinks bare URLs; a model name must not become a link on the page."""
    from fxbench.leaderboard.markdown import esc

    text = render_leaderboard([_rec(url, 0, 0.1), _rec("cnn", 0, 0.2)], "r")
    assert "evil" in text and not re.search(r"(?i)(https?|ftp)://evil|www\.evil", text)
    assert esc(url).replace("\u200b", "") == url and esc(url) != url


@pytest.mark.parametrize("evil", EVIL)
def test_every_text_cell_taken_from_a_record_is_escaped(evil):
    """Model, task, sources, fxbench version and epochs note: none can end a cell, start a line, open a
    link or code span, or carry HTML, in any table, heading or note."""
    rec = _rec3(evil, 0, 0.1, "synth_to_real", epochs=5, task="t" + evil)
    rec.update(source=evil, eval_source=evil, fxbench_version=evil)
    rec["config"]["epochs_note"] = evil
    text = render_leaderboard([rec, _rec3("cnn", 0, 0.2, "synth_to_real", task="t" + evil),
                               _rec("cnn", 0, 0.3, task="t" + evil)], "r")
    _tables_keep_their_shape(text)
    assert "<img" not in text and "](" not in text.replace("\\](", "") and "\r" not in text and "\t" not in text
    assert "`code" not in text.replace("\\`code", "")
    for line in text.splitlines():  # each one stays on its line: nothing starts a line but the page's own
        assert not line.startswith(("<", "[", "`")), line


def test_conditions_in_any_order_give_the_same_markdown_and_csv(tmp_path):
    recs = _four() + [_rec3("cnn", 0, 0.9, "real_to_real", version=0), _limiter("cnn", 0, 0.2)]
    outputs = []
    for k in range(3):
        shuffled = recs[:]
        random.Random(k).shuffle(shuffled)
        folder = tmp_path / str(k)
        results = _write(folder / "results", shuffled)
        assert main(["leaderboard", "--results", str(results), "--output", str(folder / "L.md"),
                     "--csv", str(folder / "s.csv")]) == 0
        outputs.append(((folder / "L.md").read_text().replace(f"{folder}/", ""), (folder / "s.csv").read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2]


def test_a_sampled_task_shows_within_tolerance_and_a_detection_task_macro_f1():
    recs = []
    for seed, (within, f1) in enumerate(((0.4, 0.9), (0.6, 0.8))):
        r = _rec("cnn", seed, 0.2, task="detect")
        r["metrics"].update(grid_accuracy=None, within_tolerance=within, macro_f1=f1,
                            rerender={"distance": 0.5, "mean_distance": 1.0, "skill": 0.5 + seed / 10, "settings": {}})
        recs.append(r)
    text = render_leaderboard(recs, "r")
    head = _head(text)
    cells = dict(zip(head, next(c for c in _rows(text, "## detect") if c[1] == "cnn")))
    assert "grid acc." not in head and cells["within tol."] == "0.500 ± 0.141" and cells["macro F1"] == "0.850 ± 0.071"
    assert "within tol.: share of test rows" in text and "macro F1: the mean over effects" in text
    assert cells["re-render skill"] == "0.550 ± 0.071" and "re-render skill: each test row" in text
    plain = render_leaderboard([_rec("cnn", 0, 0.2)], "r")
    assert "grid acc." in _head(plain) and "macro F1" not in plain and "within tol." not in plain
    assert "re-render skill" not in plain  # no record has the metric
