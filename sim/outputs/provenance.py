"""Provenance recorded in every manifest: package versions, the commit, the content hash of each
file a run read, and the command line, so that a result can be traced to what made it."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from sim.configuration import PROJECT_ROOT

PACKAGES = ("hukou-sim", "mesa", "numpy", "numba", "polars", "networkx", "pydantic", "pyarrow")
"""The packages whose versions a manifest records."""


def versions() -> dict[str, str]:
    """Python's version and those of :data:`PACKAGES`."""
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def git_commit() -> str:
    """The project's commit (``-dirty`` when tracked files differ from it), or "unknown"."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5).stdout.strip()
        return (sha or "unknown") + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def file_record(path: str | Path) -> dict[str, str]:
    """A file a run read: its resolved path and content hash."""
    path = Path(path).resolve()
    return {"path": str(path), "sha256": file_hash(path)}


def provenance(behaviour_path: str | Path | None, files: list[str | Path] | tuple = ()) -> dict[str, Any]:
    """The provenance block every manifest carries: the behaviour file (path and hash, or None for
    parameters passed as an object), every other config file read (path and hash), the commit,
    package versions and the command line."""
    return {
        "behaviour": file_record(behaviour_path) if behaviour_path is not None else None,
        "files": [file_record(f) for f in files],
        "commit": git_commit(),
        "versions": versions(),
        "command": list(sys.argv),
    }
