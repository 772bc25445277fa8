"""Publish a built dataset folder to the Hugging Face Hub, and fetch one back for `fxbench run --data`."""
from __future__ import annotations

import os
from pathlib import Path

from fxbench.errors import FxbenchError


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")


def publish_dataset(path: Path, repo_id: str, private: bool = False) -> str:
    """Upload ``path`` (verified first) as dataset repo ``repo_id``; return its URL."""
    from fxbench.dataset.verify import verify_dataset

    if "/" not in repo_id or repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise FxbenchError(f"--repo-id {repo_id!r} must look like ORG/NAME", exit_code=2)
    problems = verify_dataset(Path(path))
    if problems:
        raise FxbenchError(f"{path} does not match its manifest ({problems[0]}; {len(problems)} problem(s)); "
                           f"rebuild it before publishing")
    if _offline():
        raise FxbenchError("HF_HUB_OFFLINE is set, so nothing can be uploaded; unset it on a machine with network")
    from huggingface_hub import HfApi, get_token

    token = get_token()
    if not token:
        raise FxbenchError("no Hugging Face token: run `hf auth login` (or set HF_TOKEN) first, then publish again")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(path), repo_id=repo_id, repo_type="dataset",
                          commit_message="fxbench data publish")
    except Exception as exc:  # network, auth and permission errors all surface here
        first = (str(exc).splitlines() or [""])[0][:200]
        raise FxbenchError(f"upload to {repo_id} failed ({type(exc).__name__}: {first}); check the network, "
                           f"the token's write access and the repo id") from None
    return f"https://huggingface.co/datasets/{repo_id}"


def resolve_data(spec: str) -> Path:
    """A local dataset folder as is, or a Hub dataset repo id downloaded (or found in the local HF cache)."""
    path = Path(spec).expanduser()
    if path.exists():
        return path
    if spec.count("/") != 1:
        raise FxbenchError(f"--data {spec}: no such folder, and not a Hub repo id (ORG/NAME)", exit_code=2)
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=spec, repo_type="dataset"))
    except Exception as exc:
        first = (str(exc).splitlines() or [""])[0][:160]
        where = "offline and not in the local Hugging Face cache" if _offline() else "could not be downloaded"
        raise FxbenchError(f"--data {spec}: no such folder, and the Hub dataset {where} ({type(exc).__name__}: "
                           f"{first})", exit_code=2) from None
