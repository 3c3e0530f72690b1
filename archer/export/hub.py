"""Upload of a verified export to the Hugging Face Hub (huggingface_hub ``create_repo`` + ``upload_folder``).

The token is never an argument and never printed: huggingface_hub reads ``HF_TOKEN`` from the
environment (or the login cache of ``huggingface-cli login``).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from .errors import ExportError

log = logging.getLogger("archer.export")

REPO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
FAILED_MARKER = "EXPORT_FAILED.txt"


def check_push_request(repo_id: str, verify: bool) -> None:
    """Refuse an upload before any work is done: bad repo id, or no verification."""
    if not REPO_ID_RE.match(repo_id or ""):
        raise ExportError(f"--push-to-hub {repo_id!r} is not a Hub repo id of the form OWNER/NAME")
    if not verify:
        raise ExportError(
            "--push-to-hub needs a verified export: it uploads only after the tensor and logits checks pass; "
            "drop --no-verify"
        )


def push_to_hub(out_dir: Path, repo_id: str, *, private: bool = False) -> str:
    """Upload ``out_dir`` (already verified) to ``repo_id``; returns the repo URL."""
    out_dir = Path(out_dir)
    if (out_dir / FAILED_MARKER).exists():
        raise ExportError(f"{out_dir} is marked as failed ({FAILED_MARKER}); it is not uploaded")
    from huggingface_hub import HfApi

    if not os.environ.get("HF_TOKEN"):
        log.info("HF_TOKEN is not set; huggingface_hub falls back to its login cache")
    api = HfApi()
    try:
        url = api.create_repo(repo_id=repo_id, private=private, repo_type="model", exist_ok=True)
        api.upload_folder(folder_path=str(out_dir), repo_id=repo_id, repo_type="model",
                          commit_message="Upload model exported with archer.export")
    except Exception as exc:  # the message of huggingface_hub never contains the token
        raise ExportError(f"upload of {out_dir} to {repo_id} failed: {type(exc).__name__}: {exc}") from exc
    return str(url)
