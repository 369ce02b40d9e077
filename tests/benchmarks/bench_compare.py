"""`make bench COMPARE=<rev>`: that revision, checked out in a temporary `git worktree` with
a venv of its own (its runtime dependencies only), for bench_goals.py to serve beside this
one. Removed again at the end of the run."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build(rev: str) -> Path:
    where = Path(tempfile.mkdtemp(prefix="bench-compare-")) / "src"
    subprocess.run(["git", "worktree", "add", "--detach", str(where), rev], cwd=ROOT, check=True)
    subprocess.run([sys.executable, "-m", "venv", str(where / ".venv")], check=True)
    pip = [str(where / ".venv" / "bin" / "pip"), "install", "--quiet"]
    subprocess.run([*pip, "-e", str(where)], check=True)
    print(f"built {rev} in {where}", flush=True)
    return where


def remove(where: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT, check=False)
    shutil.rmtree(where.parent, ignore_errors=True)
