"""hukou-sim: an agent-based simulator of rural migrant households settling in towns.

The package is layered; each layer imports only those below it (``pyproject.toml``,
``[tool.importlinter]``): ``errors`` → ``configuration`` → ``world`` → ``engine`` → ``outputs``
→ ``experiments`` → ``report`` → ``cli``. This file imports no layer, so ``sim check`` loads
neither numba nor Mesa.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("hukou-sim")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
