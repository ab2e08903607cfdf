"""Where the project's own files live, found from the package rather than the working directory,
so that a command, a notebook or a Mesa ``batch_run`` works from any folder."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The repository (an editable install runs the package from it)."""

CONFIGS = PROJECT_ROOT / "configs"
BEHAVIOUR_DIR = CONFIGS / "behaviour"
POLICIES = CONFIGS / "policies"
REGIONS = CONFIGS / "regions"
EXPERIMENTS = PROJECT_ROOT / "experiments"
DATA = PROJECT_ROOT / "data"
"""Reference figures and survey facts (``data/README.md`` gives their sources)."""
SEEDS = PROJECT_ROOT / "seeds"
"""The five policy documents the packages encode, with their index (``seeds/README.md``)."""
DOCS = PROJECT_ROOT / "docs"
RESULTS = PROJECT_ROOT / "results"
