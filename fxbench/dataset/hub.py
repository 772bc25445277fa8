"""Publish a built dataset folder to the Hugging Face Hub, and fetch one back for `fxbench run --data`."""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

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
                          allow_patterns=publish_patterns(Path(path)), commit_message="fxbench data publish")
    except Exception as exc:  # network, auth and permission errors all surface here
        first = (str(exc).splitlines() or [""])[0][:200]
        raise FxbenchError(f"upload to {repo_id} failed ({type(exc).__name__}: {first}); check the network, "
                           f"the token's write access and the repo id") from None
    return f"https://huggingface.co/datasets/{repo_id}"


def publish_patterns(path: Path) -> list[str]:
    """What `publish_dataset` uploads: the manifest, the card and the shards the manifest lists, so nothing
    else that lies in the folder (notes, an answer key, editor files) ever leaves the machine."""
    import json

    from fxbench.dataset.build import MANIFEST

    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text())
    except (OSError, ValueError):
        raise FxbenchError(f"{path} has no readable {MANIFEST}; rebuild it with `fxbench data build`",
                           exit_code=2) from None
    return hub_patterns(manifest, str(path))


@dataclass(frozen=True)
class ResolvedData:
    """Where ``--data`` was found, and for a Hub dataset the commit it was read at (for the record)."""

    path: Path
    revision: Optional[str] = None  # the Hub commit sha; None for a local folder


_REPO_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def parse_hub_spec(spec: str) -> tuple[str, Optional[str]]:
    """``ORG/NAME`` or ``ORG/NAME@REV`` (a branch, tag or commit) -> (repo id, revision or None)."""
    repo, at, rev = spec.partition("@")
    parts = repo.split("/")
    if len(parts) != 2 or not all(_REPO_PART.match(p) for p in parts) or (at and not rev.strip()):
        raise FxbenchError(f"--data {spec}: no such folder, and not a Hub dataset id (ORG/NAME or ORG/NAME@REV)",
                           exit_code=2)
    return repo, (rev.strip() or None)


def hub_patterns(manifest: object, spec: str) -> list[str]:
    """The files to download for a dataset: its manifest, its card and the shards the manifest lists (nothing
    else in the repo). A listed path outside the folder, or one a pattern would widen, is refused."""
    from fxbench.dataset.build import MANIFEST
    from fxbench.dataset.integrity import relative_ok

    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise FxbenchError(f"--data {spec}: its {MANIFEST} lists no shard files; it is not an fxbench dataset",
                           exit_code=2)
    for rel in files:
        if not relative_ok(rel) or any(c in rel for c in "*?[]"):
            raise FxbenchError(f"--data {spec}: its {MANIFEST} lists {rel!r}, not a plain path inside the dataset "
                               f"folder; refusing to download it (ask the publisher to rebuild and publish again)",
                               exit_code=2)
    return [MANIFEST, "README.md", *sorted(files)]


def resolve_data(spec: str) -> ResolvedData:
    """A local dataset folder as is, or a Hub dataset at one commit: ``ORG/NAME@REV`` pins a branch, tag or
    commit (default: main), resolved to its commit sha, of which only the manifest, the card and the listed
    shards are downloaded (offline: taken from the local Hugging Face cache)."""
    path = Path(spec).expanduser()
    if path.exists():
        return ResolvedData(path)
    repo, rev = parse_hub_spec(spec)
    return _download(repo, rev, spec)


@functools.lru_cache(maxsize=None)
def _download(repo: str, rev: Optional[str], spec: str) -> ResolvedData:
    """Once per process: the run that resolved the data records the same commit it read."""
    from huggingface_hub import snapshot_download

    try:
        if _offline():
            folder = Path(snapshot_download(repo_id=repo, repo_type="dataset", revision=rev))
            return ResolvedData(folder, folder.name if _COMMIT.match(folder.name) else rev)
        import json

        from huggingface_hub import HfApi, hf_hub_download

        from fxbench.dataset.build import MANIFEST

        sha = HfApi().dataset_info(repo, revision=rev).sha
        manifest = json.loads(Path(hf_hub_download(repo, MANIFEST, repo_type="dataset", revision=sha)).read_text())
        folder = snapshot_download(repo_id=repo, repo_type="dataset", revision=sha,
                                   allow_patterns=hub_patterns(manifest, spec))
        return ResolvedData(Path(folder), sha)
    except FxbenchError:
        raise
    except Exception as exc:
        first = (str(exc).splitlines() or [""])[0][:160]
        where = "offline and not in the local Hugging Face cache" if _offline() else "could not be downloaded"
        at = f" at {rev}" if rev else ""
        raise FxbenchError(f"--data {spec}: no such folder, and the Hub dataset{at} {where} ({type(exc).__name__}: "
                           f"{first})", exit_code=2) from None
