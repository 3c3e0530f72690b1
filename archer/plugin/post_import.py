"""Run a function on a module right after it is imported (or at once, if it already is).

archer's verl adapters patch verl modules that are heavy to import (the trainers pull in Ray and
TransferQueue) and that only some processes ever import. Importing them eagerly from the plugin would
slow every process and import Ray where it is not wanted, so each adapter registers
``when_imported("verl....", patch)`` instead: one ``sys.meta_path`` finder wraps the module's loader, and
the patch runs after the module's own code, before anyone else sees the module.

A patch that raises never breaks the import: the error is logged once and the module stays unpatched.
"""

from __future__ import annotations

import importlib.abc
import logging
import sys
import threading
from collections.abc import Callable
from types import ModuleType

from archer.warn_once import warn_once

logger = logging.getLogger(__name__)

__all__ = ["when_imported"]

_HOOKS: dict[str, list[Callable[[ModuleType], None]]] = {}
_LOCK = threading.Lock()


def _run(fn: Callable[[ModuleType], None], module: ModuleType) -> None:
    try:
        fn(module)
    except Exception as e:  # never break the import of a verl module
        name = getattr(fn, "__qualname__", repr(fn))
        warn_once(logger, f"post_import:{module.__name__}:{name}", f"archer: {name} could not patch {module.__name__}: {e!r}")


class _PatchingLoader(importlib.abc.Loader):
    """Delegates to the real loader, then runs the hooks on the freshly executed module."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        for fn in list(_HOOKS.get(module.__name__, ())):
            _run(fn, module)

    def __getattr__(self, name):  # get_source, get_code, is_package, ... (tracebacks, inspect)
        return getattr(self._loader, name)


class _PostImportFinder(importlib.abc.MetaPathFinder):
    def __init__(self):
        self._busy = threading.local()

    def find_spec(self, fullname, path, target=None):
        if fullname not in _HOOKS or getattr(self._busy, "on", False):
            return None
        self._busy.on = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._busy.on = False
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _PatchingLoader(spec.loader)
        return spec


_FINDER = _PostImportFinder()


def when_imported(module_name: str, fn: Callable[[ModuleType], None]) -> None:
    """Call ``fn(module)`` once ``module_name`` is imported; at once if it already is. The caller makes
    ``fn`` idempotent (a module imported before and reloaded later gets it twice)."""
    with _LOCK:
        _HOOKS.setdefault(module_name, [])
        if fn not in _HOOKS[module_name]:
            _HOOKS[module_name].append(fn)
        if _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)
    module = sys.modules.get(module_name)
    if module is not None:
        _run(fn, module)
