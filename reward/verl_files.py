"""Where the installed verl's files are, found without importing verl.

`import verl` runs `verl/__init__.py`, which imports torch, Ray and transformers (6 s and more on a busy machine).
Reading verl's packaged YAML (recipe/tools/compose.py) or its import-free answer-extraction modules
(reward/extract.py) needs only their paths. Here, in the lowest room, so that both can use it.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path


@cache
def verl_dir() -> Path:
    """The installed `verl` package folder."""
    spec = importlib.util.find_spec("verl")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("verl is not installed: pip install -r requirements.txt (README)")
    return Path(next(iter(spec.submodule_search_locations)))
