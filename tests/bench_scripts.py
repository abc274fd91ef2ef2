"""Loading a script of bench/ in a test (bench/ is a directory of scripts, not a package:
mypy reads each as a top-level module, so tests load them from their files)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_bench(script: str, *, name: str | None = None) -> ModuleType:
    """bench/<script>.py as module `name` (default the script's own name), with bench/ on
    sys.path for its imports of its siblings (_runs, api_latency, ...)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name or script, BENCH / f"{script}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module
