"""Safe outputs for the command line: a staging folder swapped in whole, formula-safe CSV, one tight box per figure.

Every command that writes (``reproduce``, ``run``, ``audit``) builds its files
in a staging folder beside ``--out`` through a :class:`Writer` and swaps it in
only when complete (:func:`write_staged`): an interrupted or failed run leaves
the earlier output as it was. Files of an earlier run that the command no
longer writes are removed; files it never wrote are kept and listed in
``manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["OutputError", "Writer", "check_out", "safe_cells", "sha256", "write_staged"]

#: Characters that make a spreadsheet run a text cell as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class OutputError(Exception):
    """The output folder cannot be used."""


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def safe_cells(frame):
    """A copy whose text cells cannot run as spreadsheet formulas (prefixed with '); plain numbers stay."""
    import pandas as pd

    def safe(x):
        if isinstance(x, str) and x.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(x):
            return "'" + x
        return x

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(safe)
    return out


def check_out(out: Path) -> None:
    """OutputError when ``out`` is a file, lies under a file or is not writable."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder")
    parent = out.resolve().parent
    for p in [parent, *parent.parents]:
        if p.exists():
            if not p.is_dir():
                raise OutputError(f"--out {out}: {p} is a file, not a folder")
            break
    if out.exists() and not os.access(out, os.W_OK):
        raise OutputError(f"--out {out} is not writable")


class Writer:
    """Writes into a staging folder and records every file (relative paths in ``written``)."""

    def __init__(self, stage: Path):
        self.stage, self.written = Path(stage), []

    def _path(self, rel: str) -> Path:
        path = self.stage / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        self.written.append(rel)
        return path

    def table(self, frame, name: str, folder: str = "tables") -> None:
        """``folder/name.csv``, text cells formula-safe, floats to 10 significant digits."""
        path = self._path(f"{folder}/{name}.csv" if folder else f"{name}.csv")
        safe_cells(frame).to_csv(path, index=False, float_format="%.10g")

    def figure(self, fig, name: str, folder: str = "figures") -> None:
        """``folder/name.png`` and ``.svg`` (150 dpi, one tight box for both), then closes the figure."""
        import matplotlib.pyplot as plt

        # The tight box, as savefig(bbox_inches="tight") finds it, once for both formats (each search is a draw).
        fig.set_dpi(150)
        box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
        for ext in ("png", "svg"):
            path = self._path(f"{folder}/{name}.{ext}")
            fig.savefig(path, dpi=150, bbox_inches=box, metadata={"Date": None} if ext == "svg" else None)
        plt.close(fig)

    def text(self, content: str, name: str) -> None:
        self._path(name).write_text(content, encoding="utf-8")


def _previous_files(out: Path) -> set[str]:
    """Files an earlier run wrote into ``out`` (from its manifest)."""
    try:
        old = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return set(old.get("files", [])) | {"manifest.json"}
    except (OSError, ValueError, AttributeError):
        return set()


def write_staged(out: Path, build: Callable[[Writer], dict]) -> dict:
    """Run ``build(writer)`` in a staging folder beside ``out``, then swap it in; returns the manifest.

    ``build`` writes its files and returns the manifest's other fields; this adds
    ``files`` (written) and ``kept`` (files in ``out`` this command never wrote)
    and writes ``manifest.json``. On any exception ``out`` is left as it was.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        writer = Writer(stage)
        with plt.rc_context({"svg.hashsalt": "pfp-meta", "svg.fonttype": "none"}):
            manifest = build(writer)
        manifest["files"] = sorted(writer.written)
        ours = set(manifest["files"]) | {"manifest.json"}
        kept = []
        if out.exists():
            previous = _previous_files(out)
            for path in sorted(p for p in out.rglob("*") if p.is_file() or p.is_symlink()):
                rel = path.relative_to(out).as_posix()
                if rel in ours or rel in previous:
                    continue  # ours, rewritten or no longer written
                target = stage / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target, follow_symlinks=False)
                kept.append(rel)
        manifest["kept"] = kept
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "out")
            os.replace(stage, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(stage, out)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
    return manifest
