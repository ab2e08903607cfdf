"""Output folders a user can trust: written atomically, marked as the product's own, and never
deleted unless the product made them.

A run folder (``sim run``) or a sweep folder (``sim sweep``) carries a marker file naming its
kind. Replacing a folder (``--replace``) deletes it only if it carries the marker of that kind:
a folder of the user's, another tool's, or a sweep where a run folder was asked for is refused
with a message naming it. Names that become folders (an experiment's, a package's) must be plain
names, and the folder must resolve inside the parent chosen for it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from sim.errors import OutputError

MARKERS = {"run": ".hukou-sim-run", "sweep": ".hukou-sim-sweep", "search": ".hukou-sim-search"}
"""Marker file of each kind of folder the product writes (JSON: the kind and the format)."""

PLAIN_NAME = re.compile(r"^[A-Za-z0-9_\-.]{1,128}$")


def check_plain_name(name: str, what: str) -> str:
    """A name that becomes a folder: letters, digits, ``_``, ``-`` and ``.``; not ``.``, ``..``
    or hidden; no separators. Returns it, or raises :class:`OutputError` saying what is allowed."""
    if not PLAIN_NAME.match(name or "") or name in (".", "..") or name.startswith("."):
        raise OutputError(f"{what} {name!r} cannot name a folder: use letters, digits, '_', '-' and "
                          "'.', not starting with '.' and without separators (1-128 characters)")
    return name


def child(parent: str | Path, name: str, what: str) -> Path:
    """``parent / name`` for a plain ``name``, checked to resolve inside ``parent``."""
    check_plain_name(name, what)
    parent = Path(parent).resolve()
    path = (parent / name).resolve()
    if path.parent != parent:
        raise OutputError(f"{what} {name!r} resolves outside {parent}")
    return path


def mark(folder: Path, kind: str) -> None:
    """Mark ``folder`` as the product's own folder of ``kind``."""
    (folder / MARKERS[kind]).write_text(json.dumps({"kind": kind, "by": "hukou-sim"}))


def is_ours(folder: Path, kind: str) -> bool:
    """Whether ``folder`` carries the product's marker of ``kind``."""
    return (Path(folder) / MARKERS[kind]).is_file()


def remove_ours(folder: Path, kind: str, flag: str = "--replace") -> None:
    """Delete ``folder`` only if it is the product's own folder of ``kind``; refuse otherwise."""
    folder = Path(folder)
    if not folder.exists():
        return
    if folder.is_symlink() or not folder.is_dir() or not is_ours(folder, kind):
        other = [k for k in MARKERS if k != kind and folder.is_dir() and is_ours(folder, k)]
        what = f"a {other[0]} folder" if other else "not a folder hukou-sim created"
        raise OutputError(f"{folder}: refusing to delete it with {flag}: it is {what} (no "
                          f"{MARKERS[kind]} marker); choose another --out (nothing was deleted)")
    shutil.rmtree(folder)


def write_parquet(df: pl.DataFrame, path: str | Path) -> None:
    """``df.write_parquet(path)``, with polars' I/O failures (a full or read-only disk) raised as
    :class:`OSError`, as every other write raises them."""
    try:
        df.write_parquet(path)
    except pl.exceptions.ComputeError as exc:
        if "os error" in str(exc) or "IO error" in str(exc):
            raise OSError(str(exc).split("underlying IO error: ")[-1]) from None
        raise


def write_run(tables: dict[str, pl.DataFrame], manifest: dict[str, Any], out: Path,
              replace: bool = False) -> Path:
    """Write tables and manifest into the run folder ``out`` atomically: into a temporary folder
    beside it, renamed into place when complete, so a run folder that exists is a finished run.

    An existing ``out`` is refused unless ``replace`` is set, and even then it is deleted only if
    it is a run folder the product wrote (:func:`remove_ours`)."""
    out = Path(out).resolve()
    if out.exists() and not replace:
        raise OutputError(f"{out} already exists; choose another --out, or pass --replace to "
                          "replace an earlier run folder there (nothing was overwritten)")
    if out.exists():
        remove_ours(out, "run")  # refuses before anything is written
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise OutputError(f"{out.parent}: cannot write the run folder here ({exc.strerror})") from None
    try:
        for name, df in tables.items():
            write_parquet(df, tmp / f"{name}.parquet")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False,
                                                      default=str))
        mark(tmp, "run")
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes 0700; colleagues read results too
        os.replace(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{out}: cannot write the run folder ({exc.strerror or exc}); nothing "
                          "was kept") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def umask() -> int:
    """The user's umask, for files and folders that tempfile makes 0600 and 0700 (on a shared
    filesystem colleagues read results too)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
