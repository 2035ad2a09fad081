"""What built the harness and the board a run tested: harness version, board revision and the design's git
commit — from the installed package's metadata (an install from a git URL records its commit), else from the
git checkout the code runs from (`+changes` when it has uncommitted changes), else "unknown"."""
from __future__ import annotations

import json
import shutil
from importlib import metadata
from pathlib import Path

from hwtools.project import REVISION, ROOT

UNKNOWN = "unknown"


def provenance() -> dict[str, str]:
    version, commit = UNKNOWN, None
    try:
        dist = metadata.distribution("p1reader")
        version = dist.version
        # PEP 610: an install from a VCS URL records the commit; a local or editable install does not.
        commit = json.loads(dist.read_text("direct_url.json") or "{}").get("vcs_info", {}).get("commit_id")
    except (metadata.PackageNotFoundError, ValueError, AttributeError):
        pass
    return {"harness_version": version, "board_revision": REVISION, "design_commit": commit or checkout_commit(ROOT)}


def checkout_commit(root: Path) -> str:
    """HEAD of the git checkout at `root` (+changes when the work tree differs from it), or "unknown"."""
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        return UNKNOWN
    from hwtools import procs

    head = procs.run([git, "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return UNKNOWN
    # --no-optional-locks: status must not refresh (write) the checkout's index; a run under a file-size limit
    # (tests/bringup/test_records.py) had its git killed mid-write, leaving .git's index.lock behind
    dirty = procs.run([git, "--no-optional-locks", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                      capture_output=True, text=True)
    return head.stdout.strip() + ("+changes" if dirty.returncode == 0 and dirty.stdout.strip() else "")
