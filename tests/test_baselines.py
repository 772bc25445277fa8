"""Every baseline on a tiny copy of every task, for one short epoch, through the real runner."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from fxbench.errors import FxbenchError
from fxbench.models import TrainConfig, create_model
from fxbench.runner import RunConfig, execute
from fxbench.task import load_task, task_dirs

TASKS = tuple(sorted(p.stem for p in task_dirs()[0].glob("*.yaml")))  # every packaged task, a new one too
TRAINED = ("cnn", "cnn-meanmax", "encdec", "unet", "timm:resnet18", "smp:unet-resnet18")
RECONSTRUCTING = {"encdec": ["reconstruct", "head"], "unet": ["reconstruct", "head"],
                  "smp:unet-resnet18": ["joint"]}


@pytest.fixture(scope="module")
def tiny_tasks(task_dir):
    """tiny_<task>: the real task file with 3 clips (one per split), registered beside the others."""
    names = {}
    for name in TASKS:
        data = yaml.safe_load(open(load_task(name).path).read())
        data["task"] = f"tiny_{name}"
        data["dataset"]["clips"] = 3
        data.pop("groups", None)  # not a member of the real families
        (task_dir / f"tiny_{name}.yaml").write_text(yaml.safe_dump(data))
        names[name] = f"tiny_{name}"
    return names


@pytest.mark.slow
@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize("model", ("random", "mean", *TRAINED))
def test_each_model_runs_on_each_task(model, name, tiny_tasks):
    tiny = tiny_tasks[name]
    task = load_task(tiny)
    record, out = execute(RunConfig(task=tiny, model=model,
                                    train=TrainConfig(epochs=1, batch_size=8, progress=False)))
    m = record["metrics"]
    assert 0 <= m["mae"] <= 1 and set(m["per_param_mae"]) == set(task.param_names), (model, name)
    assert out["y_pred"].shape == (record["n_test"], len(task.parameters))
    if model in TRAINED:
        assert record["config"]["epochs"] == 1 and record["config"]["n_weights"] > 0
        assert record["config"]["lr"] == 1e-4 and record["config"]["device_used"] == "cpu"
    if model in RECONSTRUCTING:
        rec = m["reconstruction"]
        assert rec["n"] == record["n_test"] and 0 < rec["l1"] < 1 and 0 < rec["identity_l1"] < 1
        assert [h["stage"] for h in record["history"]] == RECONSTRUCTING[model]
    else:
        assert "reconstruction" not in m


@pytest.mark.slow
def test_transfer_freezes_the_encoder_and_trains_only_the_head(small_splits, small_task):
    model = create_model("encdec", small_task, TrainConfig(epochs=2, lr=1e-3, progress=False))
    model.fit(small_splits["train"], small_splits["validation"])
    head = {id(p) for p in model.net.head.parameters()}
    body = [p for p in model.net.parameters() if id(p) not in head]
    assert body and not any(p.requires_grad for p in body)
    assert all(p.requires_grad for p in model.net.head.parameters())
    feats = model._features(small_splits["test"].x)
    assert feats.shape[0] == len(small_splits["test"]) and feats.ndim == 2
    recon = model.reconstruct(small_splits["test"].without_labels())
    assert recon.shape == small_splits["test"].x.shape and 0 <= recon.min() and recon.max() <= 1
    hp = model.hyperparameters()
    assert hp["mode"] == "transfer" and hp["recon_loss"] == "l2" and hp["best_recon_epoch"] in (1, 2)


def test_predict_never_sees_labels_or_dry_clips(small_splits):
    hidden = small_splits["test"].without_labels()
    assert hidden.y is None and hidden.dry_x is None
    assert small_splits["test"].dry_x is not None


@pytest.mark.parametrize("spec, message", [
    ("timm:resnet81", "timm has no model 'resnet81'. Did you mean 'resnet18'?"),
    ("timm:", "timm: needs a model name"),
    ("smp:unet", "smp model 'unet' is incomplete"),
    ("smp:unte-resnet18", "smp has no architecture 'unte'. Did you mean 'unet'?"),
    ("smp:unet-resnet81", "smp has no encoder 'resnet81'. Did you mean 'resnet18'?"),
    ("smp:unet-resnet18+frozen", "smp model mode 'frozen' is unknown"),
])
def test_bad_backbone_names_are_clear(spec, message, small_task):
    with pytest.raises(FxbenchError) as err:
        create_model(spec, small_task, TrainConfig())
    assert message in str(err.value) and err.value.exit_code == 2


def test_pretrained_offline_fails_with_one_clear_line(small_splits, small_task):
    model = create_model("timm:resnet18", small_task, TrainConfig(epochs=1, pretrained=True, progress=False))
    with pytest.raises(FxbenchError) as err:
        model.fit(small_splits["train"], small_splits["validation"])
    msg = str(err.value)
    assert "pretrained weights for timm:resnet18" in msg and "drop --pretrained" in msg and "\n" not in msg


def test_random_weights_by_default_are_seeded(small_task):
    a = create_model("timm:resnet18", small_task, TrainConfig(seed=1))
    b = create_model("timm:resnet18", small_task, TrainConfig(seed=1))
    a.setup(), b.setup()
    wa, wb = (next(m.net.parameters()).detach().numpy() for m in (a, b))
    assert np.array_equal(wa, wb) and a.hyperparameters()["weights"] == "random"
